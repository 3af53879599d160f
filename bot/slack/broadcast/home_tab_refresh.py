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


def publish_home(
    services: Services, client: WebClient, workspace: Workspace, user_id: str, *, page: int | None = 0
) -> None:
    """Show ``user_id`` the Credentials tab as it is now, at ``page``. ``None`` (a page button's value that named
    no page) and a page that no longer exists show the first page, with a notice saying so."""
    if not user_id:
        return
    if not services.access.may_view(workspace, user_id):
        view = home_tab.no_access_view(services.access.refusal(VIEW))
    else:
        wanted, notice = page or 0, None
        page_data = services.queries.home_page(workspace, wanted)
        if page is None or (wanted and (page_data.page != wanted or not page_data.items)):
            notice = home_tab.STALE_PAGE
            if wanted:  # it shrank since the button was drawn (the query stopped at its last page), or never was
                page_data = services.queries.home_page(workspace, 0)
        may_manage = bool(services.access.may_manage(workspace, user_id))
        view = home_tab.home_view(page_data, may_manage=may_manage, notice=notice)
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the Home tab: %s", error.response.get("error"))
