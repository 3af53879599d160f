"""The app's Home tab was opened: remember the viewer (so changes redraw their tab) and draw it."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.slack.access import VIEW
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.request_context import requester_of_request, services_of, token_of


def draw_home(event: dict, context: BoltContext, client: WebClient) -> None:
    if event.get("tab") != "home":
        return
    services, who = services_of(context), requester_of_request(context)
    if not who.user_id:
        return
    # Only someone who may see the tab is remembered as its viewer: nobody else's tab is ever redrawn by a change.
    if services.access.may(VIEW, who, token=token_of(context)):
        services.credentials.note_home_viewer(who.workspace, who.user_id)
    publish_home(services, client, who)
