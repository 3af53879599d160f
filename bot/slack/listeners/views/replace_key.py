"""Replace API key: the modal's submission is checked offline in the ack, verified and stored after it."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.credentials.errors import CredentialError, CredentialGone, InvalidInput
from bot.credentials.types import CredentialSummary
from bot.infra.logs import REDACTOR
from bot.infra.secret import Secret
from bot.slack.access import MANAGE
from bot.slack.fair_use import busy
from bot.slack.broadcast.changes import Change, ChangeKind, changed
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.listeners.common import managing_or_refused, permitted, read_input, update_modal
from bot.slack.ui import home_tab
from bot.slack.ui.blocks import refusal_code
from bot.slack.request_context import requester_of_request, services_of


def check_replacement(ack: Ack, view: dict, context: BoltContext) -> None:
    services = services_of(context)
    if not managing_or_refused(ack, context, "credential.replace", home_tab.REPLACE_TITLE):
        return
    try:
        item = services.queries.get(context["workspace"], home_tab.parse_metadata(view.get("private_metadata")))
        services.wizard.key(item.destination, read_input(view, "api_key"), destination_fixed=True)
    except CredentialGone as gone:
        ack(response_action="update", view=home_tab.info_view(home_tab.REPLACE_TITLE, gone.message))
        return
    except InvalidInput as problem:
        ack(response_action="errors", errors={"api_key": problem.message})
        return
    refusal = services.fair_use.claim(
        context["workspace"], context["actor"], item.id, item.destination
    )  # released by replace_key
    if refusal:
        ack(response_action="errors", errors={"api_key": refusal})
        return
    ack(response_action="update", view=home_tab.replacing_view(item))


def replace_key(view: dict, context: BoltContext, client: WebClient) -> None:
    """Hands the Paddle check and the write to the Paddle pool (fair_use), which releases the ack's claim."""
    services, workspace = services_of(context), context["workspace"]
    if not permitted(context, MANAGE, "credential.replace", audit=False):
        return  # answered at ack time, before any claim
    try:
        item = services.queries.get(workspace, home_tab.parse_metadata(view.get("private_metadata")))
    except CredentialGone:
        services.fair_use.release(str(home_tab.parse_metadata(view.get("private_metadata"))))
        return  # answered at ack time
    if not services.fair_use.run(item.id, lambda: _finish_replacement(view, context, client, item)):
        update_modal(client, view["id"], home_tab.replace_view(item, problem=busy(item.destination)))


def _finish_replacement(view: dict, context: BoltContext, client: WebClient, item: CredentialSummary) -> None:
    services, workspace, actor = services_of(context), context["workspace"], context["actor"]
    raw_key = read_input(view, "api_key")
    try:
        with REDACTOR.holding(Secret(raw_key or "")):
            replaced = services.credentials.replace_key(workspace, actor, item.id, raw_key)
    except CredentialGone as gone:
        services.fair_use.release(item.id)
        update_modal(client, view["id"], home_tab.info_view(home_tab.REPLACE_TITLE, gone.message))
        publish_home(services, client, requester_of_request(context))
        return
    except CredentialError as problem:
        services.fair_use.release(item.id)
        update_modal(
            client, view["id"], home_tab.replace_view(item, problem=problem.message, problem_code=refusal_code(problem))
        )
        return
    services.fair_use.release(item.id)  # Paddle has answered and the key is stored: the next check may start
    update_modal(client, view["id"], home_tab.replaced_view(replaced))
    changed(services, client, Change(ChangeKind.REPLACED, replaced, requester_of_request(context)))
