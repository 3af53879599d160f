"""A person's Credentials tab, drawn as it is now (their own view: menus follow their rights).

Every path that publishes the tab comes here, and here the tab is drawn only after the same decision every
listener asks (AccessPolicy.may, the outsider rule included): opening it, paging it, a menu's refusal, a change's
redraw."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.access import MANAGE, VIEW
from bot.slack.requester import Requester
from bot.slack.settings_book import request_scope
from bot.slack.ui import credential_list, home_tab

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)


def publish_home(services: Services, client: WebClient, who: Requester, *, page: int | None = 0) -> None:
    """Show ``who`` the Credentials tab as it is now at ``page``, or why not (a refusal is audited). ``None`` (a page
    button's value that named no page) and a page that no longer exists show the first page, with a notice. Its
    decisions share one read of the workspace's settings (bot.slack.settings_book)."""
    if not who.user_id:
        return
    with request_scope():
        _publish(services, client, who, page)


def _publish(services: Services, client: WebClient, who: Requester, page: int | None) -> None:
    token = getattr(client, "token", None)
    decision = services.access.may(VIEW, who, token=token)
    if not decision:
        services.credentials.denied(who.workspace, who.user_id, "credential.list", decision.reason)
        view = home_tab.no_access_view(decision.message)
    else:
        wanted, notice = page or 0, None
        page_data = services.queries.home_page(who.workspace, wanted)
        if page is None or (wanted and (page_data.page != wanted or not page_data.items)):
            notice = credential_list.STALE_PAGE  # the list's wording: one for a page that is gone
            if wanted:  # it shrank since the button was drawn (the query stopped at its last page), or never was
                page_data = services.queries.home_page(who.workspace, 0)
        may_manage = bool(services.access.may(MANAGE, who, token=token))
        may_configure = services.rights is not None and bool(services.rights.may_change(who, token=token))
        view = home_tab.home_view(page_data, may_manage=may_manage, notice=notice, may_configure=may_configure)
    try:
        client.views_publish(user_id=who.user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the Home tab: %s", error.response.get("error"))
