"""A credential's key health, in one line: its last check with the provider and what the provider says of the key
(status, exposure, expiry). Shown under each credential on the Home tab and after a Test connection. Pure: data in,
mrkdwn out."""

from __future__ import annotations

from bot.credentials import catalog
from bot.credentials.types import CredentialSummary, Outcome
from bot.slack.ui.text import escape, slack_date


def health_text(item: CredentialSummary) -> str:
    parts = [verification_text(item)]
    if item.key_status and item.key_status != "active":
        parts.append(f":no_entry: {provider_name(item)} says the key is *{escape(item.key_status)}*")
    if item.key_exposed_at:
        parts.append(f":rotating_light: {provider_name(item)} found the key exposed {slack_date(item.key_exposed_at)}")
    if item.key_expires_at:
        parts.append(f":hourglass: key expires {slack_date(item.key_expires_at)}")
    elif item.verification.ok:
        parts.append("no expiry date")
    return "  ·  ".join(parts)


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
