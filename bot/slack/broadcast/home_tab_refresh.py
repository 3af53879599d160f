"""A person's Credentials tab, drawn as it is now (their own view: menus follow their rights).

Every path that publishes the tab comes here, and here the tab is drawn only after the same decision every
listener asks (AccessPolicy.may, the outsider rule included): opening it, paging it, a menu's refusal, a change's
redraw, and (``redraw_open_tabs``) a change the provider told of, for everyone of the workspace who opened the tab."""

from __future__ import annotations

import logging
from datetime import datetime, UTC
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.credentials.models import HomeViewer
from bot.credentials.types import Workspace

from bot.slack.access import MANAGE, VIEW
from bot.slack.requester import Requester
from bot.slack.settings_book import request_scope
from bot.slack.ui import credential_list, home_tab
from bot.slack.ui.key_health import Usage

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)

MOST_REDRAWN = 200  # tabs redrawn for one change nobody in Slack made (each is a views.publish)


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
        usage = Usage(
            datetime.now(UTC),
            services.settings.unused_key_days,
            services.tokens.last_reads([item.id for item in page_data.items]),
        )
        view = home_tab.home_view(
            page_data, may_manage=may_manage, notice=notice, may_configure=may_configure, usage=usage
        )
    try:
        client.views_publish(user_id=who.user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the Home tab: %s", error.response.get("error"))


def redraw_open_tabs(services: Services, client: WebClient, workspace: Workspace) -> int:
    """Redraw the Credentials tab of each person of ``workspace`` who has opened it (Slack does not say who has it
    open now: those who ever did), after a change that came from the provider (a notification, the daily look),
    not from one of them. Each is drawn after their own access decision; returns how many were published."""
    with services.credentials.sessions() as session:
        viewers = session.scalars(
            select(HomeViewer.user_id)
            .where(HomeViewer.enterprise_id == workspace.enterprise_id, HomeViewer.team_id == workspace.team_id)
            .order_by(HomeViewer.user_id)
            .limit(MOST_REDRAWN)
        ).all()
    for user_id in viewers:
        publish_home(services, client, Requester(user_id, workspace, org_wide=not workspace.team_id))
    return len(viewers)
