"""Delete: the modal is the confirmation; the ack shows "Deleting…", the lazy part deletes and announces."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.credentials.errors import CredentialError
from bot.slack.access import MANAGE
from bot.slack.broadcast.changes import Change, ChangeKind, changed
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.listeners.common import managing_or_refused, permitted, update_modal
from bot.slack.ui import home_tab
from bot.slack.request_context import requester_of_request, services_of


def confirm_delete(ack: Ack, context: BoltContext) -> None:
    if not managing_or_refused(ack, context, "credential.delete", home_tab.DELETE_TITLE):
        return
    ack(response_action="update", view=home_tab.info_view(home_tab.DELETE_TITLE, ":hourglass_flowing_sand: Deleting…"))


def delete(view: dict, context: BoltContext, client: WebClient) -> None:
    services, workspace, actor = services_of(context), context["workspace"], context["actor"]
    if not permitted(context, MANAGE, "credential.delete", audit=False):
        return
    try:
        gone = services.credentials.delete(workspace, actor, home_tab.parse_metadata(view.get("private_metadata")))
    except CredentialError as problem:
        update_modal(client, view["id"], home_tab.info_view(home_tab.DELETE_TITLE, problem.message))
        publish_home(services, client, requester_of_request(context))
        return
    update_modal(client, view["id"], home_tab.deleted_view(gone))
    changed(services, client, Change(ChangeKind.DELETED, gone, requester_of_request(context)))
