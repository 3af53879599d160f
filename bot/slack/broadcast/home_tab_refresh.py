"""A person's Credentials tab, drawn as it is now (their own view: menus follow their rights)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.types import Workspace
from bot.slack.access import VIEW
from bot.slack.ui import home_tab

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)


def publish_home(services: Services, client: WebClient, workspace: Workspace, user_id: str, *, page: int = 0) -> None:
    """Show ``user_id`` the Credentials tab as it is now."""
    if not user_id:
        return
    if not services.access.may_view(workspace, user_id):
        view = home_tab.no_access_view(services.access.refusal(VIEW))
    else:
        page_data = services.queries.home_page(workspace, page)
        view = home_tab.home_view(page_data, may_manage=bool(services.access.may_manage(workspace, user_id)))
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the Home tab: %s", error.response.get("error"))
