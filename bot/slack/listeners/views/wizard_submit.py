"""Stage 4: check the submission offline, claim the Paddle check (fair_use: the person's allowance, the pool) and
answer "Verifying…", or why not with the key still typed; then verify with Paddle on the checks' pool, save, show
the outcome in the modal (or by DM when it was closed) and announce it."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.credentials.errors import CredentialError, InvalidInput, WizardStateInvalid
from bot.credentials.types import CredentialPage, CredentialSummary
from bot.credentials.wizard_state import KEY_STAGE, WizardState
from bot.infra.logs import REDACTOR
from bot.infra.secret import Secret
from bot.slack.access import MANAGE
from bot.slack.broadcast.changes import Change, ChangeKind, changed
from bot.slack.broadcast.announcements import ChannelResult
from bot.slack.fair_use import busy
from bot.slack.listeners.common import after_answer, permitted, read_input, shortcuts, update_modal
from bot.slack.listeners.unexpected_error import apology, new_reference
from bot.slack.listeners.views.wizard_stage import refused_view
from bot.slack.ui import credential_list, wizard_modal
from bot.slack.ui.blocks import refusal_code
from bot.slack.request_context import requester_of_request, services_of
from bot.slack.requester import Requester
from bot.slack.settings_book import SettingsUnavailable, request_scope

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)

CHECKED = "credbot.submission_checked"  # set by the ack for the lazy listener: the submission passed its checks


def check_submission(ack: Ack, view: dict, context: BoltContext, client: WebClient) -> None:
    """Answer "Verifying…" (or what is wrong, offline); the checked submission is then verified and saved on the
    listener pool (create_credential), or by the lazy listener when the library shortcuts are off."""
    services = services_of(context)
    decision = permitted(context, MANAGE, "credential.create")
    if not decision:
        ack(response_action="update", view=refused_view(decision))
        return
    try:
        state, api_key = read_final_submission(services, view)
        # The carried answers came back through the client: check them again, offline. Whether the name is
        # still free is checked after the ack (before Paddle is called) and, finally, by the unique index.
        services.wizard.carried_answers(state)
    except WizardStateInvalid as problem:
        ack(response_action="update", view=wizard_modal.message_view(wizard_modal.TITLE, problem.message))
        return
    except InvalidInput as problem:
        if problem.field == KEY_STAGE:
            ack(response_action="errors", errors={KEY_STAGE: problem.message})
        else:
            state = WizardState.from_metadata(view.get("private_metadata"))
            ack(
                response_action="update", view=wizard_modal.stage_view(state.at(problem.field), problem=problem.message)
            )
        return
    if services.settings.verify_keys:  # Paddle will be asked: the same limits as Test connection and Replace
        subject = check_subject(view.get("id"))
        refusal = services.fair_use.claim(context["workspace"], context["actor"], subject, state.destination)
        if refusal:  # nothing was saved; the key stays typed for another try
            ack(response_action="errors", errors={KEY_STAGE: refusal})
            return
    ack(response_action="update", view=wizard_modal.verifying_view(state))
    if not shortcuts(context):
        context[CHECKED] = True  # Bolt copies the context for create_credential_lazily
        return
    finish = partial(create_credential, services, client, view["id"], requester_of_request(context), state, api_key)
    hand_over(context, services, client, view, state, finish)


def create_credential_lazily(context: BoltContext, client: WebClient, view: dict) -> None:
    """Bolt's lazy listener (library shortcuts off): the key is read from the submission again, as a Secret is
    never copied into Bolt's copy of the context. Nothing to do when the ack answered with a refusal."""
    if not context.get(CHECKED):
        return
    services = services_of(context)
    state, api_key = read_final_submission(services, view)
    finish = partial(create_credential, services, client, view["id"], requester_of_request(context), state, api_key)
    if services.settings.verify_keys:
        hand_over(context, services, client, view, state, finish)
    else:
        finish()  # no Paddle call: on the listener pool, where this lazy listener already runs


def check_subject(view_id: object) -> str:
    """What the final stage's claim holds while it runs: this modal (a second submission of it is refused)."""
    return f"view:{str(view_id or '')[:59]}"


def hand_over(context: BoltContext, services: Services, client: WebClient, view: dict, state: WizardState, finish):
    """The checked submission's Paddle check and save: on the checks' pool, in the place the ack's claim took (the
    claim released when it is done); with key checks off (no Paddle call) on the listener pool (after_answer)."""
    if not services.settings.verify_keys:
        after_answer(context, finish)
    elif not services.fair_use.run(check_subject(view.get("id")), finish):  # the place lapsed and the pool is full
        update_modal(client, view["id"], wizard_modal.stage_view(state, problem=busy(state.destination)))


def create_credential(
    services: Services, client: WebClient, view_id: str, who: Requester, state: WizardState, api_key: Secret
) -> None:
    """After the ack: verify with the provider, save, show the outcome and announce it; the key is redacted from
    every log line meanwhile."""
    with REDACTOR.holding(api_key), request_scope():  # its outcome and announcements read the settings once
        finish_wizard(services, client, view_id, who, state, api_key)


def read_final_submission(services: Services, view: dict) -> tuple[WizardState, Secret]:
    """The carried answers and the key, checked offline; the API key is read from nowhere else."""
    state = WizardState.from_metadata(view.get("private_metadata")).at(KEY_STAGE)
    return state, services.wizard.key(state.destination, read_input(view, KEY_STAGE))


def finish_wizard(
    services: Services, client: WebClient, view_id: str, who: Requester, state: WizardState, api_key: Secret
) -> None:
    """Verify and save, then replace the "Verifying" view with the outcome and announce it."""
    workspace, actor = who.workspace, who.user_id
    screen = _Screen(client, view_id, actor)
    try:
        created = services.credentials.create(workspace, actor, **state.answers(), api_key=api_key)
    except CredentialError as problem:  # InvalidInput (e.g. the name taken while the key was typed) names a stage
        stage = state.at(problem.field) if isinstance(problem, InvalidInput) else state
        screen.show(
            wizard_modal.stage_view(stage, problem=problem.message, problem_code=refusal_code(problem)),
            credential_list.not_created_text(state.name, problem.message),
        )
        return
    except Exception:
        reference = new_reference()
        log.exception("creating a credential failed (reference %s)", reference)
        screen.show(wizard_modal.message_view(wizard_modal.APOLOGY_TITLE, apology(reference)), apology(reference))
        return
    try:
        channels = list(services.settings_for(workspace).notify_channels)
    except SettingsUnavailable:  # changed() says so in the log and announces nothing
        channels = []
    try:
        page = services.queries.list(workspace)
    except Exception:  # the credential is saved; show it alone rather than leave "Verifying…" up
        log.exception("listing after a create failed")
        page = CredentialPage([created], 1, 0, 1)
    screen.show(
        credential_list.created_view(created, page, credential_list.announcing_notice(channels)),
        credential_list.created_text(created),
    )
    # Paddle answered long ago; released once the outcome shows (it is not waited for), before the announcements.
    # A refusal above is released as its work ends (FairUse.run).
    services.fair_use.release(check_subject(view_id))
    results = changed(services, client, Change(ChangeKind.CREATED, created, who))
    if channels:
        show_announced(screen, created, page, results)


def show_announced(screen: _Screen, created: CredentialSummary, page: CredentialPage, results: list[ChannelResult]):
    """Where the announcement went, and why not elsewhere."""
    delivered = [r.channel for r in results if r.ok]
    failures = [(r.channel, r.reason) for r in results if not r.ok]
    notice = credential_list.announced_notice(delivered, failures)
    screen.show(credential_list.created_view(created, page, notice), notice if failures else None)


class _Screen:
    """Where the outcome goes: the modal, or the creator's DM when the modal was closed."""

    def __init__(self, client: WebClient, view_id: str, user_id: str) -> None:
        self.client, self.view_id, self.user_id = client, view_id, user_id
        self.modal_open = True

    def show(self, view: View | dict, dm_text: str | None) -> None:
        if self.modal_open:
            try:
                self.client.views_update(view_id=self.view_id, view=view)
                return
            except SlackApiError as error:
                log.info("views.update failed (%s); telling the user by DM instead", error.response.get("error"))
                self.modal_open = False
        if dm_text and self.user_id:
            try:
                self.client.chat_postMessage(channel=self.user_id, text=dm_text)
            except SlackApiError as error:
                log.warning("could not DM the outcome to the user: %s", error.response.get("error"))
