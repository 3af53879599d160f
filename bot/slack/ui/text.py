"""The one place user text is made safe for Slack, and Slack's date formatting."""

from __future__ import annotations

from datetime import datetime, UTC


def escape(text: str) -> str:
    """Escape Slack's control characters so user text can never become a mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal(text: str) -> str:
    """User text shown exactly as typed inside mrkdwn: a code span, where Slack applies no formatting.

    Escaping alone stops mentions and links but not *bold*, _italics_,
    ~strike~ or :emoji: codes; inside a code span none of them render. A
    backtick in the text would close the span early, so it is shown as ˋ.
    """
    return "`" + escape(text.replace("`", "\u02cb")) + "`" if text else "` `"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(moment: datetime) -> str:
    """A date every reader sees in their own time zone; the fallback is UTC."""
    at = moment if moment.tzinfo in (None, UTC) else moment.astimezone(UTC)
    fallback = f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d} UTC"  # strftime: 3x the time
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"
