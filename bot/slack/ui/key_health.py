"""A credential's key health, in one line: its last check with the provider and what the provider says of the key
(status, exposure, expiry, last use: flagged when idle for CREDBOT_UNUSED_KEY_DAYS), and when an integration last
read it through the read API. Shown under each credential on the Home tab and after a Test connection. Pure: data
in, mrkdwn out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.credentials import catalog
from bot.credentials.types import CredentialSummary, Outcome
from bot.slack.ui.text import escape, slack_date

UNUSED = ":zzz:"


@dataclass(frozen=True)
class Usage:
    """What the line says beyond the credential itself: the moment it is drawn, after how many days without use a
    key is flagged, and when integrations last read each credential (by id) through the read API."""

    now: datetime
    unused_days: int
    last_reads: Mapping[str, datetime] = field(default_factory=dict)


def health_text(item: CredentialSummary, usage: Usage | None = None) -> str:
    """The line; without ``usage`` (a modal's) the key's last use is said but not flagged, and reads are left out."""
    parts = [verification_text(item)]
    if item.key_status and item.key_status != "active":
        parts.append(f":no_entry: {provider_name(item)} says the key is *{escape(item.key_status)}*")
    if item.key_exposed_at:
        parts.append(f":rotating_light: {provider_name(item)} found the key exposed {slack_date(item.key_exposed_at)}")
    if item.key_expires_at:
        parts.append(f":hourglass: key expires {slack_date(item.key_expires_at)}")
    elif item.verification.ok:
        parts.append("no expiry date")
    parts.append(last_use_text(item, usage))
    read = usage.last_reads.get(item.id) if usage is not None else None
    if read is not None:
        parts.append(f"read by an integration {slack_date(read)}")
    return "  ·  ".join(parts)


def last_use_text(item: CredentialSummary, usage: Usage | None = None) -> str:
    """ "last used <date> (per Paddle)", "never used (per Paddle)", or "last use unknown" (no record of the key was
    read: a legacy key without an id, or one not looked at yet); flagged when ``usage`` says it is idle."""
    if item.key_looked_at is None:
        return "last use unknown"
    per = f"(per {provider_name(item)})"
    said = f"last used {slack_date(item.key_last_used_at)} {per}" if item.key_last_used_at else f"never used {per}"
    if usage is not None and item.unused(usage.now, usage.unused_days):
        return f"{UNUSED} {said}: not used for {usage.unused_days}+ days"
    return said


def unused_text(item: CredentialSummary, now: datetime, days: int) -> str | None:
    """The flag alone, for a list that shows only what needs attention; None when the key is not idle (or unknown)."""
    if not item.unused(now, days):
        return None
    return f"{UNUSED} not used for {days}+ days (per {provider_name(item)})"


def verification_text(item: CredentialSummary) -> str:
    checked = item.verification
    if not checked.at or checked.outcome is None:
        return f":grey_question: not verified with {provider_name(item)} yet"
    when = slack_date(checked.at)
    if checked.ok:
        return f":white_check_mark: verified {when}"
    if checked.outcome is Outcome.REJECTED:
        return f":x: {provider_name(item)} refused the key {when}"  # its code is shown apart, where the key is tested
    return f":warning: {provider_name(item)} unreachable {when}"


def provider_name(item: CredentialSummary) -> str:
    return escape(catalog.provider_label(item.destination))
