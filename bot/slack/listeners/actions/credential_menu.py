"""A credential's ⋯ menu in the Credentials tab: Copy ID (for those who may manage, with the credential's
integration access: its tokens, Revoke and a new one, listeners.views.integration_access), Test connection,
Replace (or Rotate with Paddle, for a rotatable key; its confirmation offers Replace instead), Rename, Delete.

The option's value came back through the person's client: it is parsed as untrusted input and looked up in
their own workspace only, so an id from elsewhere finds nothing. Each choice checks who may do it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.credentials.errors import CredentialError, CredentialGone
from bot.credentials.types import CredentialSummary
from bot.slack.access import MANAGE, VIEW
from bot.slack.broadcast.changes import Change, ChangeKind, changed
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.fair_use import busy
from bot.slack.listeners.common import open_modal, permitted, update_modal
from bot.slack.listeners.views import integration_access
from bot.slack.ui import home_tab, rotate_modal
from bot.slack.request_context import requester_of_request, services_of

log = logging.getLogger(__name__)

STALE_MENU = "That menu is out of date. The Credentials tab has been refreshed; try again there."
MODALS: dict[str, Callable[[CredentialSummary], View | dict]] = {
    home_tab.COPY: home_tab.copy_id_view,
    home_tab.REPLACE: home_tab.replace_view,
    home_tab.ROTATE: rotate_modal.rotate_view,
    home_tab.RENAME: home_tab.rename_view,
    home_tab.DELETE: home_tab.delete_view,
}


def menu_chosen(body: dict, action: dict, context: BoltContext, client: WebClient) -> None:
    services = services_of(context)
    chosen = _choice_and_credential(context, (action.get("selected_option") or {}).get("value"))
    if isinstance(chosen, str):  # refused, stale or gone: say why and redraw the tab as it is now
        open_modal(client, body, home_tab.info_view(home_tab.CHOSEN_TITLE, chosen))
        publish_home(services, client, requester_of_request(context))
    elif chosen[0] == home_tab.TEST:
        test_connection(client, body, context, chosen[1])
    elif chosen[0] == home_tab.COPY and permitted(context, MANAGE, "credential.access", audit=False):
        integration_access.show_tokens(client, body, context, chosen[1])  # the ID, and who may read the key
    else:
        open_modal(client, body, MODALS[chosen[0]](chosen[1]))


def replace_instead(body: dict, action: dict, context: BoltContext, client: WebClient) -> None:
    """The rotation's "Paste a new key instead": the same modal becomes Replace API key."""
    view_id = (body.get("view") or {}).get("id")
    decision = permitted(context, MANAGE, "credential.replace")
    try:
        shown = (
            home_tab.replace_view(services_of(context).queries.get(context["workspace"], action.get("value")))
            if decision
            else home_tab.info_view(home_tab.REPLACE_TITLE, decision.message)
        )
    except CredentialGone as gone:
        shown = home_tab.info_view(home_tab.REPLACE_TITLE, gone.message)
    if isinstance(view_id, str):
        update_modal(client, view_id, shown)


def _choice_and_credential(context: BoltContext, raw: object) -> tuple[str, CredentialSummary] | str:
    """(choice, credential) for a menu value the actor may use, or the text to show them instead."""
    try:
        choice, credential_id = home_tab.parse_menu_value(raw)
    except ValueError:
        return STALE_MENU
    kind = MANAGE if choice in home_tab.MANAGING else VIEW
    decision = permitted(context, kind, f"credential.{choice}")
    if not decision:
        return decision.message
    try:
        return choice, services_of(context).queries.get(context["workspace"], credential_id)
    except CredentialGone as gone:
        return gone.message


def test_connection(client: WebClient, body: dict, context: BoltContext, item: CredentialSummary) -> None:
    """Claim a check (one per credential, a few per person), show "Testing…", and let the Paddle pool finish it."""
    services, workspace, actor = services_of(context), context["workspace"], context["actor"]
    refusal = services.fair_use.claim(workspace, actor, item.id, item.destination)
    if refusal:
        open_modal(client, body, home_tab.info_view(home_tab.TEST_TITLE, refusal))
        return
    view_id = open_modal(client, body, home_tab.testing_view(item))  # the trigger expires in 3 s; Paddle may not
    if not services.fair_use.run(item.id, lambda: _finish_test(client, context, item, view_id)) and view_id:
        update_modal(client, view_id, home_tab.info_view(home_tab.TEST_TITLE, busy(item.destination)))


def _finish_test(client: WebClient, context: BoltContext, item: CredentialSummary, view_id: str | None) -> None:
    services, workspace, actor = services_of(context), context["workspace"], context["actor"]
    tested = None
    try:
        tested, message = services.credentials.test_connection(workspace, actor, item.id)
        result = home_tab.tested_view(tested, message)
    except CredentialError as problem:
        result = home_tab.info_view(home_tab.TEST_TITLE, problem.message)
    finally:
        services.fair_use.release(item.id)  # Paddle has answered: the next check may start
    if view_id:
        try:
            client.views_update(view_id=view_id, view=result)
        except SlackApiError as error:
            log.info("the test result could not be shown (%s)", error.response.get("error"))
    if tested is None:
        publish_home(services, client, requester_of_request(context))  # gone or refused: the tab as it is now
    else:  # the provider's answer may have moved the key's status or expiry: the tab and the board show it
        changed(services, client, Change(ChangeKind.KEY_STATUS, tested, requester_of_request(context)))
