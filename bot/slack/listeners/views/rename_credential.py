"""Rename: stage 1's rules, answered in the ack (errors inline); the Home tab and board are redrawn after."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.credentials.errors import CredentialError, CredentialGone, InvalidInput
from bot.slack.access import MANAGE
from bot.slack.broadcast.changes import Change, ChangeKind, changed
from bot.slack.listeners.common import managing_or_refused, permitted, read_input
from bot.slack.request_context import requester_of_request, services_of
from bot.slack.ui import home_tab


def rename(ack: Ack, view: dict, context: BoltContext) -> None:
    if not managing_or_refused(ack, context, "credential.rename", home_tab.RENAME_TITLE):
        return
    try:
        services_of(context).credentials.rename(
            context["workspace"],
            context["actor"],
            home_tab.parse_metadata(view.get("private_metadata")),
            read_input(view, "name"),
        )
    except InvalidInput as problem:
        ack(response_action="errors", errors={"name": problem.message})
        return
    except CredentialError as problem:  # gone meanwhile, or the database refused
        ack(response_action="update", view=home_tab.info_view(home_tab.RENAME_TITLE, problem.message))
        return
    ack(response_action="clear")


def after_rename(view: dict, context: BoltContext, client: WebClient) -> None:
    """Bolt's lazy half of the rename: it does not know whether the ack renamed, so it asks again who may and
    what the credential is called now (gone meanwhile: its delete was announced)."""
    services, workspace = services_of(context), context["workspace"]
    if not permitted(context, MANAGE, "credential.rename", audit=False):
        return
    try:
        renamed = services.queries.get(workspace, home_tab.parse_metadata(view.get("private_metadata")))
    except CredentialGone:
        return
    changed(services, client, Change(ChangeKind.RENAMED, renamed, requester_of_request(context)))
