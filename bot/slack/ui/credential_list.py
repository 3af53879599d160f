"""The credentials list (ephemeral message and success view) and channel notifications."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, UTC

from bot.credentials.key_shapes import key_shaped
from bot.credentials.types import CredentialPage, CredentialSummary, Cursor
from bot.credentials.vocabulary import CREATE, CREDENTIAL, CREDENTIALS
from bot.slack.ui.blocks import button, context, mrkdwn, section
from bot.slack.ui.key_health import unused_text
from bot.slack.ui.text import escape, literal, mention, slack_date, truncate
from bot.slack.ui.wizard_modal import DONE_CALLBACK, TITLE

PAGE_PREVIOUS = "list_page_previous"
PAGE_NEXT = "list_page_next"
FILTER_MAX = 100
STALE_PAGE = "That page is no longer available. Here is the first page."
KEY_SHAPED_FILTER = (
    "That filter looks like an API key, or part of one, so it was not used: nothing was searched, saved or shown. "
    "Filter by a credential's name or destination, e.g. `/list-credentials billing`."
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class PageRequest:
    """Which page a Previous/Next button asks for."""

    text: str = ""
    after: Cursor | None = None
    before: Cursor | None = None
    offset: int = 0


def destination_text(item: CredentialSummary) -> str:
    """The destination's label, which already says Sandbox Mode when it is one: the emoji marks it, no word again."""
    return (":test_tube: " if item.sandbox else "") + escape(item.destination_label)


def credential_text(item: CredentialSummary, *, marked: bool = False, unused_days: int | None = None) -> str:
    badge = ":new: " if marked else ""
    return (
        f"{badge}{literal(item.name)}  ·  {escape(item.entity_type.label)} → {destination_text(item)}\n"
        f"Created by {mention(item.created_by)} {slack_date(item.created_at)}\n"
        f"ID `{item.id}`  ·  key ending `…{escape(item.key_hint)}`" + status_text(item, unused_days)
    )


def status_text(item: CredentialSummary, unused_days: int | None = None) -> str:
    """What Paddle last said of the key when it is not simply active: revoked, expired, found exposed, and (given
    ``unused_days``, CREDBOT_UNUSED_KEY_DAYS) not used for that long."""
    said = []
    if item.key_status and item.key_status != "active":
        said.append(f":no_entry: key *{escape(item.key_status)}*")
    if item.key_exposed_at:
        said.append(f":rotating_light: key found exposed {slack_date(item.key_exposed_at)}")
    idle = unused_text(item, datetime.now(UTC), unused_days) if unused_days is not None else None
    if idle is not None:
        said.append(idle)
    return "".join(f"  ·  {part}" for part in said)


def page_value(text: str, cursor: Cursor | None, direction: str, offset: int) -> str:
    """A Previous/Next button's value: the filter, the row to page from, and the label position."""
    value: dict = {"q": text[:FILTER_MAX], "p": offset}
    if cursor is not None:
        value[direction] = [cursor.created_at.astimezone(UTC).isoformat(), cursor.id]
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def list_blocks(
    page: CredentialPage, text: str, notice: str | None = None, *, unused_days: int | None = None
) -> list[dict]:
    """The /list-credentials answer, paged with Previous/Next buttons.

    Plain Block Kit dicts (what slack_sdk.models would produce, without their validation on every listing, the
    answer of an ack): every text is bounded by construction (names, filter and hint are limited, at most a page
    of rows), and tests/unit parses a full page with the longest values back into the models. ``notice`` (a fixed
    text) goes above the list; ``unused_days`` (CREDBOT_UNUSED_KEY_DAYS) flags the keys idle that long."""
    shown_filter = f" matching {literal(truncate(text, FILTER_MAX))}" if text else ""
    blocks = [context("notice", notice)] if notice else []
    if not page.items:
        if text:
            message = f"No credentials{shown_filter}. Try `/list-credentials` without a filter."
        else:
            message = "No credentials in this workspace yet. Create the first with `/create-credential`."
        return [*blocks, section("empty", message)]
    first, last = page.offset + 1, page.offset + len(page.items)
    blocks.append(
        section("summary", f"*{CREDENTIALS}*{shown_filter} — {first}–{last} of {total_text(page)}, newest first")
    )
    blocks += [section(f"credential_{item.id}", credential_text(item, unused_days=unused_days)) for item in page.items]
    buttons = []
    if page.has_previous:
        buttons.append(
            button(
                "Previous",
                PAGE_PREVIOUS,
                page_value(text, page.first_cursor, "b", max(0, page.offset - page.limit)),
                emoji=True,
            )
        )
    if page.has_next:
        buttons.append(
            button("Next", PAGE_NEXT, page_value(text, page.last_cursor, "a", page.offset + page.limit), emoji=True)
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "pages", "elements": buttons})
    return blocks


def total_text(page: CredentialPage) -> str:
    if page.total is None:  # filtered lists are not counted
        return "more" if page.has_next else f"{page.offset + len(page.items):,}"
    return f"{page.total:,}+" if page.total_capped else f"{page.total:,}"


def list_fallback(page: CredentialPage) -> str:
    if not page.items:
        return f"No {CREDENTIALS}"
    return f"{total_text(page)} {CREDENTIAL}(s)" if page.total is not None else CREDENTIALS


NOTICE_MAX = 2000  # a context element's text may be 3000 characters; a long list of failed channels is cut


def created_view(new: CredentialSummary, page: CredentialPage, notice: str | None) -> dict:
    """The "Credentials page" moment: the new credential marked in the workspace's list.

    Plain Block Kit dicts, like list_blocks (it is drawn twice for every credential created: before and after
    the announcements); tests/unit parses it back into the models at its longest."""
    blocks = [
        {
            "type": "header",
            "block_id": "done",
            "text": {"type": "plain_text", "text": f"{CREDENTIAL} created", "emoji": True},
        },
        section(
            "created",
            f":white_check_mark: {literal(new.name)} was verified and saved. Integrations can "
            f"reference it by ID `{new.id}`. The key is stored encrypted and will not be shown again.",
        ),
    ]
    if notice:
        blocks.append(context("notice", truncate(notice, NOTICE_MAX)))
    blocks += [
        {"type": "divider"},
        section("list_title", f"*{CREDENTIALS}* — {total_text(page)} in this workspace, newest first"),
    ]
    blocks += [section(f"credential_{item.id}", credential_text(item, marked=item.id == new.id)) for item in page.items]
    if page.has_next:
        blocks.append(
            context(
                "more",
                f"…and {'many' if page.total_capped or page.total is None else page.total - len(page.items)} more: "
                "use `/list-credentials`.",
            )
        )
    return {
        "type": "modal",
        "callback_id": DONE_CALLBACK,
        "title": {"type": "plain_text", "text": TITLE, "emoji": True},
        "close": {"type": "plain_text", "text": "Done", "emoji": True},
        "blocks": blocks,
    }


def announcing_notice(channels: list[str]) -> str | None:
    return f":mega: Announcing in {len(channels)} channel(s)…" if channels else None


def announced_notice(delivered: list[str], failures: list[tuple[str, str]]) -> str | None:
    """What the creator is told about the channel announcements: where it went and what failed, and why."""
    parts = []
    if delivered:
        parts.append(":mega: Announced in " + ", ".join(f"<#{c}>" for c in delivered) + ".")
    if failures:
        lines = [f"<#{channel}>: {escape(reason)}" for channel, reason in failures]
        parts.append(
            ":warning: The credential is saved, but these channels did not get the announcement:\n" + "\n".join(lines)
        )
    return "\n".join(parts) or None


def announcement(item: CredentialSummary) -> tuple[str, list[dict]]:
    """The channel notice for a new credential: fallback text and blocks (plain dicts, parsed back into the models
    at their longest by tests/unit). Never the key."""
    text = (
        f"New {CREDENTIAL} {literal(item.name)}: {escape(item.entity_type.label)} → "
        f"{escape(item.destination_label)}, created by {mention(item.created_by)}"
    )
    fields = [
        f"*Entity type*\n{escape(item.entity_type.label)}",
        f"*Destination*\n{destination_text(item)}",
        f"*Created by*\n{mention(item.created_by)}",
        f"*Key hint*\n`…{escape(item.key_hint)}`",
    ]
    blocks = [
        {
            **section("announce", f":key: New {CREDENTIAL} {literal(item.name)}"),
            "fields": [mrkdwn(field) for field in fields],
        },
        context("announce_id", f"ID `{item.id}`  ·  {slack_date(item.created_at)}"),
    ]
    return text, blocks


def parse_page_value(raw: object) -> PageRequest:
    """Read a Previous/Next button's value back; it came through the user's client, so trust nothing. Anything
    that is not a position the list could have drawn raises ValueError, and nothing else: garbage, JSON nested
    too deep, another type, a date out of range once moved to UTC, an id that is not one, a filter the list
    would have refused."""
    if not isinstance(raw, str) or len(raw) > 2000:
        raise ValueError("bad page value")
    try:
        data = json.loads(raw)
    except RecursionError:  # "[[[[…" nested past the parser's depth: a ValueError's sibling
        raise ValueError("bad page value") from None
    if not isinstance(data, dict) or not set(data) <= {"q", "p", "a", "b"} or ("a" in data and "b" in data):
        raise ValueError("bad page value")
    text, offset = data.get("q", ""), data.get("p", 0)
    if not isinstance(text, str) or len(text) > FILTER_MAX or type(offset) is not int or not 0 <= offset <= 10_000_000:
        raise ValueError("bad page value")
    if key_shaped(text):
        raise ValueError("bad page value")
    cursors = {}
    for direction in ("a", "b"):
        if direction in data:
            cursors[direction] = _cursor(data[direction])
    return PageRequest(text, cursors.get("a"), cursors.get("b"), offset)


def _cursor(raw: object) -> Cursor:
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(part, str) for part in raw)):
        raise ValueError("bad page cursor")
    stamp, credential_id = raw
    if len(stamp) > 40 or not UUID.fullmatch(credential_id):
        raise ValueError("bad page cursor")
    created_at = datetime.fromisoformat(stamp)  # ValueError when malformed
    if created_at.tzinfo is None:
        raise ValueError("bad page cursor")
    try:  # 0001-01-01T00:00:00+01:00 is before the first instant a datetime holds, once in UTC
        return Cursor(created_at.astimezone(UTC), credential_id)
    except OverflowError:
        raise ValueError("bad page cursor") from None


def created_text(item: CredentialSummary) -> str:
    return f"{CREDENTIAL} {literal(item.name)} created: ID `{item.id}`. The key is stored encrypted."


def not_created_text(name: str, reason: str) -> str:
    return f"Your {CREDENTIAL} {literal(name)} was not created: {escape(reason)}"


def open_failed_text(reason: str) -> str:
    return f"The {CREATE} form could not be opened (Slack said `{escape(reason)}`). Run /create-credential again."
