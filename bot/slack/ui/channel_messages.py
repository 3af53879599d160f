"""What Credbot posts in channels: a change's announcement (replaced, deleted), an expiry reminder, the board.
Plain Block Kit; no I/O."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.credentials.key_events import Exposure
from bot.credentials.key_shapes import key_shaped
from bot.credentials.types import CredentialSummary
from bot.credentials.vocabulary import CREDENTIAL, CREDENTIALS
from bot.slack.ui.blocks import button, context, section
from bot.slack.ui.text import escape, literal, mention, slack_date, truncate

from bot.slack.ui.home_tab import REPLACE_FROM_REMINDER, on_destination


def change_announcement(verb: str, item: CredentialSummary, actor: str, extra: str = "") -> tuple[str, list[dict]]:
    """A replaced or deleted credential, for the notification channels (plain dicts). Never the key."""
    text = f"{CREDENTIAL} {on_destination(item)} {verb} by {mention(actor)}"
    detail = f"ID `{item.id}`" + (f"  ·  {extra}" if extra else "")
    return text, [section("change", f":key: {text}"), context("change_id", detail)]


def reminder_message(item: CredentialSummary, kind: str, now: datetime) -> tuple[str, list[Block]]:
    if kind == "expired":
        headline = f":rotating_light: The API key of {on_destination(item)} has expired"
    else:
        days = max(0, (item.key_expires_at - now).days) if item.key_expires_at else 7
        headline = f":hourglass: The API key of {on_destination(item)} expires in {days} day{'s' if days != 1 else ''}"
    when = slack_date(item.key_expires_at) if item.key_expires_at else "soon"
    text = f"{headline} ({when}). Replace it so integrations using ID `{item.id}` keep working."
    return text, [
        SectionBlock(block_id="reminder", text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id="reminder_actions",
            elements=[
                ButtonElement(text="Replace API key", action_id=REPLACE_FROM_REMINDER, value=item.id, style="primary")
            ],
        ),
    ]


REVOKED_ALERT, EXPOSED_ALERT = "revoked", "exposed"
REFUSED_ALERT = "refused"  # the daily look found the provider refusing a key it accepted before


def key_alert(item: CredentialSummary, kind: str, exposure: Exposure | None = None) -> tuple[str, list[dict]]:
    """An urgent alert: Paddle revoked the key, or found it exposed in public (with the source and the link to
    where, when Paddle gives them), or (the daily look) refuses a key it accepted before. Its Replace button is the
    reminder's: the action checks who may manage."""
    where = on_destination(item)
    if kind == EXPOSED_ALERT:
        revoked = exposure is not None and exposure.action_taken == "revoked"
        text = f":rotating_light: The API key of {where} was found exposed in public" + (
            "; Paddle revoked it" if revoked else ""
        )
    elif kind == REFUSED_ALERT:
        text = f":rotating_light: Paddle now refuses the API key of {where}: it was revoked, or is no longer valid"
    else:
        text = f":rotating_light: Paddle revoked the API key of {where}"
    blocks = [section("key_alert", text)]
    if exposure is not None:
        found = [f"Source: *{escape(exposure.source or 'not given')}*"]
        if exposure.risk_level:
            found.append(f"risk {escape(exposure.risk_level)}")
        if _link(exposure.reference):
            found.append(f"<{exposure.reference}|where it was found>")
        if exposure.description and not key_shaped(exposure.description):
            found.append(escape(truncate(exposure.description, 300)))
        blocks.append(context("key_alert_source", "  ·  ".join(found)))
    blocks.append(context("key_alert_id", f"Integrations using ID `{item.id}` fail until the key is replaced."))
    blocks.append(
        {
            "type": "actions",
            "block_id": "key_alert_actions",
            "elements": [button("Replace API key", REPLACE_FROM_REMINDER, item.id, style="danger")],
        }
    )
    return text, blocks


def _link(url: str) -> bool:
    """Whether ``url`` may be shown as a link: https, nothing Slack's link syntax would read, no key in it."""
    shaped = url.startswith("https://") and len(url) <= 500 and not any(c in url for c in "<>| \n")
    return shaped and not key_shaped(url)


BOARD_LIMIT = 40  # credentials listed on the board; a message holds 50 blocks of 3,000 characters


def board_message(items: list[CredentialSummary], total: int) -> tuple[str, list[Block]]:
    """The board: the first BOARD_LIMIT credentials grouped by destination, and how many there are in all."""
    text = f"{CREDENTIALS}: {total}"
    blocks: list[Block] = [HeaderBlock(block_id="board_title", text=CREDENTIALS)]
    if not items:
        blocks.append(SectionBlock(block_id="board_empty", text=MarkdownTextObject(text="No credentials yet.")))
        return text, blocks
    lines_by_destination: dict[str, list[str]] = {}
    for item in items[:BOARD_LIMIT]:
        lines_by_destination.setdefault(item.destination_label, []).append(
            f"• {literal(truncate(item.name, 60))}  ·  {escape(item.entity_type.label)}  ·  `{item.id}`"
            + (f"  ·  expires {slack_date(item.key_expires_at)}" if item.key_expires_at else "")
        )
    for label, lines in lines_by_destination.items():
        chunk = f"*{escape(label)}*"
        for line in lines:  # a section holds 3,000 characters: continue in the next one
            if len(chunk) + 1 + len(line) > 2900:
                blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
                chunk = ""
            chunk = f"{chunk}\n{line}" if chunk else line
        blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
    more = total - min(len(items), BOARD_LIMIT)
    footer = f"{total} in all" + (f"; {more} more in the app's Home tab" if more > 0 else "")
    blocks.append(ContextBlock(block_id="board_footer", elements=[MarkdownTextObject(text=footer)]))
    return text, blocks
