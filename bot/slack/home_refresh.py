"""Redrawing what a change affects: a person's Credentials tab, then the board."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.types import Workspace
from bot.slack.access import VIEW
from bot.slack.board import refresh_board
from bot.slack.ui import home_tab

log = logging.getLogger(__name__)


def publish_home(
    services, client: WebClient, workspace: Workspace, user_id: str, *, page: int = 0, notice: str | None = None
) -> None:
    """Show ``user_id`` the Credentials tab as it is now (their own view: menus follow their rights)."""
    if not user_id:
        return
    if not services.access.may_view(workspace, user_id):
        view = home_tab.no_access_view(services.access.refusal(VIEW))
    else:
        page_data = services.queries.home_page(workspace, page)
        view = home_tab.home_view(
            page_data, may_manage=bool(services.access.may_manage(workspace, user_id)), notice=notice
        )
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the Home tab: %s", error.response.get("error"))


def after_change(services, client: WebClient, workspace: Workspace, actor: str, notice: str | None = None) -> None:
    """What every change is followed by: the actor's Home tab (if they have ever opened it), then the board."""
    if services.queries.has_opened_home(workspace, actor):
        publish_home(services, client, workspace, actor, notice=notice)
    refresh_board(services, client)
