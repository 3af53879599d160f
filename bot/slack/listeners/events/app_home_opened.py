"""The app's Home tab was opened: remember the viewer (so changes redraw their tab) and draw it."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.request_context import services_of


def draw_home(event: dict, context: BoltContext, client: WebClient) -> None:
    if event.get("tab") != "home":
        return
    services, workspace = services_of(context), context["workspace"]
    user = str(event.get("user") or context["actor"] or "")
    if user:
        services.credentials.note_home_viewer(workspace, user)
    publish_home(services, client, workspace, user)
