"""The Credentials tab's buttons: paging, Create, and an expiry reminder's Replace API key."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.credentials.errors import CredentialGone
from bot.credentials.wizard_state import WizardState
from bot.slack.access import MANAGE
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.listeners.common import open_modal, permitted
from bot.slack.ui import home_tab, wizard_modal
from bot.slack.request_context import requester_of_request, services_of


def turn_home_page(action: dict, context: BoltContext, client: WebClient) -> None:
    """Previous/Next: the page the value names; one that is not a page, or no longer exists, shows the first
    page saying so."""
    try:
        page: int | None = home_tab.parse_page(action.get("value"))
    except ValueError:
        page = None
    publish_home(services_of(context), client, requester_of_request(context), page=page)  # decides who sees what


def create_from_home(body: dict, context: BoltContext, client: WebClient) -> None:
    decision = permitted(context, MANAGE, "credential.create")
    if not decision:
        open_modal(client, body, home_tab.info_view(wizard_modal.TITLE, decision.message))
        return
    open_modal(client, body, wizard_modal.stage_view(WizardState()))


def replace_from_reminder(body: dict, action: dict, context: BoltContext, client: WebClient) -> None:
    services = services_of(context)
    decision = permitted(context, MANAGE, "credential.replace")
    if not decision:
        open_modal(client, body, home_tab.info_view(home_tab.REPLACE_TITLE, decision.message))
        return
    try:
        item = services.queries.get(context["workspace"], action.get("value"))
    except CredentialGone as gone:
        open_modal(client, body, home_tab.info_view(home_tab.REPLACE_TITLE, gone.message))
        return
    open_modal(client, body, home_tab.replace_view(item))
