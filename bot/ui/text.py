"""The one place user text is made safe for Slack, and Slack's date formatting."""

from __future__ import annotations

from datetime import datetime


def escape(text: str) -> str:
    """Escape Slack's control characters so user text can never become a mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(moment: datetime) -> str:
    """A date every reader sees in their own time zone; the fallback is UTC."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"
