"""A credential's integration access from the Credentials tab: the form's submission issues a token (shown once,
in the modal the ack answers with), the tokens modal lists who may read it, its Revoke buttons revoke one token
and its "Revoke all access" every token that may read the credential.

Each step asks again whether the person may manage credentials (the form and the button came back through
their client), and looks the credential and the token up in their own workspace only."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.access_token_rules import TokenRequestInvalid
from bot.credentials.access_tokens import AccessTokens
from bot.credentials.errors import CredentialGone
from bot.credentials.types import CredentialSummary
from bot.slack.access import MANAGE
from bot.slack.listeners.common import managing_or_refused, open_modal, permitted, read_input, update_modal
from bot.slack.request_context import services_of
from bot.slack.services import Services
from bot.slack.ui import access_modal, home_tab

log = logging.getLogger(__name__)
_DAYS = {days for days, _ in access_modal.LIFETIMES}


def issue_from_form(ack: Ack, view: dict, context: BoltContext) -> None:
    """The form's submission: checked and issued in the ack; the token replaces the form, once."""
    if not managing_or_refused(ack, context, "access_token.issue", access_modal.ISSUE_TITLE):
        return
    services, workspace, actor = services_of(context), context["workspace"], context["actor"]
    try:
        item = services.queries.get(workspace, home_tab.parse_metadata(view.get("private_metadata")))
    except CredentialGone as gone:
        ack(response_action="update", view=home_tab.info_view(access_modal.ISSUE_TITLE, gone.message))
        return
    days = read_input(view, "expires")
    if days not in _DAYS:
        ack(response_action="errors", errors={"expires": "Choose how long the token lasts."})
        return
    networks = [part for part in re.split(r"[\s,]+", read_input(view, "allow_from") or "") if part]
    try:
        token, info = services.tokens.issue(
            read_input(view, "name") or "",
            [item.id],
            actor,
            lifetime=timedelta(days=int(days)),
            allow_from=networks,
            workspace=workspace,
        )
    except TokenRequestInvalid as problem:
        field = "allow_from" if "CIDR" in problem.message or "address" in problem.message else "name"
        ack(response_action="errors", errors={field: problem.message})
        return
    ack(response_action="update", view=access_modal.token_view(item, info, token.reveal()))


def redraw_beneath(body: dict, context: BoltContext, client: WebClient) -> None:
    """After the form's submission: the tokens modal it was pushed over (Slack's ``previous_view_id``) is drawn
    again with what is true now, so Done on the token goes back to a list that holds it, with its Revoke."""
    view = body.get("view") or {}
    beneath = view.get("previous_view_id")
    if not isinstance(beneath, str) or not permitted(context, MANAGE, "access_token.issue", audit=False):
        return  # the ack refused (and audited) it already
    services = services_of(context)
    try:
        item = services.queries.get(context["workspace"], home_tab.parse_metadata(view.get("private_metadata")))
    except CredentialGone:
        return
    update_modal(client, beneath, _tokens_view(services, context, item))


def show_tokens(client: WebClient, body: dict, context: BoltContext, item: CredentialSummary) -> None:
    """The menu's Integration tokens: every token that may read this credential."""
    open_modal(client, body, _tokens_view(services_of(context), context, item))


def give_clicked(body: dict, action: dict, context: BoltContext, client: WebClient) -> None:
    """The tokens modal's "Give an integration access": the form, pushed over it (the credential looked up again
    in the person's own workspace)."""
    if not permitted(context, MANAGE, "access_token.issue"):
        return
    try:
        item = services_of(context).queries.get(context["workspace"], action.get("value"))
    except CredentialGone:
        return
    try:
        client.views_push(trigger_id=body.get("trigger_id"), view=access_modal.issue_view(item))
    except SlackApiError as error:
        log.info("the token form could not be opened (%s)", error.response.get("error"))


def revoke_clicked(body: dict, action: dict, context: BoltContext, client: WebClient) -> None:
    """Revoke on one token of the tokens modal; the modal is drawn again with what is true now."""
    opened = _modal_credential(body, context, client)
    if opened is None:
        return
    view_id, item = opened
    services, tokens = services_of(context), services_of(context).tokens
    token_id = action.get("value")
    notice = "That token is not one of this credential's."
    if isinstance(token_id, str) and any(t.id == token_id for t in _reading(tokens, context, item)):
        info, changed = tokens.revoke(token_id, context["actor"], context["workspace"])
        notice = f"Revoked `{info.id}`: it is refused from now on." if changed else f"`{info.id}` was already revoked."
    update_modal(client, view_id, _tokens_view(services, context, item, notice))


def revoke_all_clicked(body: dict, action: dict, context: BoltContext, client: WebClient) -> None:
    """ "Revoke all access" (after Slack's confirmation): every active token that may read the credential the
    modal is for, whatever was issued since it was drawn; the modal is drawn again with what is true now."""
    opened = _modal_credential(body, context, client)
    if opened is None:
        return
    view_id, item = opened
    services = services_of(context)
    revoked = services.tokens.revoke_reading(item.id, context["actor"], context["workspace"])
    named = ", ".join(f"`{token_id}`" for token_id in revoked) if len(revoked) <= 5 else f"{len(revoked)} tokens"
    notice = f"Revoked {named}: no integration can read the key now." if revoked else "No token could read it."
    update_modal(client, view_id, _tokens_view(services, context, item, notice))


def _modal_credential(body: dict, context: BoltContext, client: WebClient) -> tuple[str, CredentialSummary] | None:
    """The tokens modal a button was clicked in and its credential, looked up in the person's own workspace, if
    they may manage; otherwise None, and the modal says why."""
    view = body.get("view") or {}
    view_id = view.get("id")
    decision = permitted(context, MANAGE, "access_token.revoke")  # asked (and a refusal audited) first
    if not isinstance(view_id, str):
        return None
    if not decision:
        update_modal(client, view_id, home_tab.info_view(access_modal.TOKENS_TITLE, decision.message))
        return None
    try:
        item = services_of(context).queries.get(
            context["workspace"], home_tab.parse_metadata(view.get("private_metadata"))
        )
    except CredentialGone as gone:
        update_modal(client, view_id, home_tab.info_view(access_modal.TOKENS_TITLE, gone.message))
        return None
    return view_id, item


def _reading(tokens: AccessTokens, context: BoltContext, item: CredentialSummary) -> list:
    return [t for t in tokens.all(context["workspace"]) if item.id in t.credential_ids]


def _tokens_view(services: Services, context: BoltContext, item: CredentialSummary, notice: str = "") -> dict:
    return access_modal.tokens_view(item, _reading(services.tokens, context, item), datetime.now(UTC), notice)
