"""The wizard's view submissions: stages 1-3 move on, stage 4 verifies and saves."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.credentials.errors import CredentialError, InvalidInput, WizardStateInvalid
from bot.credentials.service import CredentialPage, CredentialSummary, Workspace
from bot.credentials.wizard_state import WizardState
from bot.slack.listeners.errors import apology, new_reference
from bot.slack.access import MANAGE
from bot.slack.listeners.home import after_change
from bot.slack.listeners.payload import actor_of, permitted, read_input, workspace_of
from bot.infra.logs import REDACTOR
from bot.slack.notify import notify_channels
from bot.infra.secret import Secret
from bot.slack.services import Services
from bot.slack.ui import credential_list as credentials_ui
from bot.slack.ui import wizard_modal as wizard_ui

log = logging.getLogger(__name__)

STAGE_CALLBACK = re.compile(f"^{re.escape(wizard_ui.CALLBACK_PREFIX)}(name|entity_type|destination)$")


def register(app: App, services: Services) -> None:
    @app.view(STAGE_CALLBACK)
    def next_stage(ack: Ack, body: dict, view: dict, context) -> None:
        stage = view["callback_id"].removeprefix(wizard_ui.CALLBACK_PREFIX)
        if not permitted(services, MANAGE, context, body, "credential.create"):
            ack(response_action="update", view=refused_view(services))
            return
        try:
            state = WizardState.from_metadata(view.get("private_metadata")).at(stage)
            answer = services.credentials.check_answer(workspace_of(context, body), stage, read_input(view, stage))
        except WizardStateInvalid as problem:
            ack(response_action="update", view=wizard_ui.message_view("Create credential", problem.message))
            return
        except InvalidInput as problem:
            ack(response_action="errors", errors={stage: problem.message})
            return
        state = state.with_answer(stage, answer)
        ack(response_action="update", view=wizard_ui.stage_view(state.at(state.next_stage())))

    def check_submission(ack: Ack, body: dict, view: dict, context) -> None:
        if not permitted(services, MANAGE, context, body, "credential.create"):
            ack(response_action="update", view=refused_view(services))
            return
        try:
            state, _ = read_final_submission(services, view)
            # The carried answers came back through the client: check them again, offline. Whether the name is
            # still free is checked after the ack (before Paddle is called) and, finally, by the unique index.
            services.credentials.check_carried_answers(state)
        except WizardStateInvalid as problem:
            ack(response_action="update", view=wizard_ui.message_view("Create credential", problem.message))
            return
        except InvalidInput as problem:
            if problem.field == "api_key":
                ack(response_action="errors", errors={"api_key": problem.message})
            else:
                state = WizardState.from_metadata(view.get("private_metadata"))
                ack(response_action="update", view=wizard_ui.stage_view(state.at(problem.field), problem=problem.message))
            return
        # Slack wants an answer within 3 s; Paddle may take longer. Answer now, finish in the lazy listener.
        ack(response_action="update", view=wizard_ui.verifying_view(state))

    def create_credential(body: dict, view: dict, context, client: WebClient) -> None:
        decision = permitted(services, MANAGE, context, body, "credential.create", audit=False)
        if not decision:  # refused at ack time (answered and audited there), or access changed since: stop
            client.views_update(view_id=view["id"], view=refused_view(services))
            return
        try:
            state, api_key = read_final_submission(services, view)
        except CredentialError:
            return  # check_submission has answered it; create() re-checks the rest
        with REDACTOR.holding(api_key):
            finish_wizard(services, client, view["id"], workspace_of(context, body), actor_of(context, body), state, api_key)

    app.view(wizard_ui.CALLBACK_PREFIX + "api_key")(ack=check_submission, lazy=[create_credential])


def refused_view(services: Services) -> View:
    return wizard_ui.message_view("Create credential", services.access.refusal(MANAGE))


def read_final_submission(services: Services, view: dict) -> tuple[WizardState, Secret]:
    """The carried answers and the key, checked offline; the API key is read from nowhere else."""
    state = WizardState.from_metadata(view.get("private_metadata")).at("api_key")
    return state, services.credentials.check_key(state.destination, read_input(view, "api_key"))


def finish_wizard(services: Services, client: WebClient, view_id: str, workspace: Workspace, actor: str,
                  state: WizardState, api_key: Secret) -> None:
    """Verify and save, then replace the "Verifying" view with the outcome and announce it."""
    screen = _Screen(client, view_id, actor)
    try:
        created = services.credentials.create(workspace, actor, name=state.name, entity_type=state.entity_type,
                                              destination=state.destination, api_key=api_key)
    except InvalidInput as problem:  # e.g. the name was taken while the user typed the key
        screen.show(wizard_ui.stage_view(state.at(problem.field), problem=problem.message),
                    credentials_ui.not_created_text(state.name, problem.message))
        return
    except CredentialError as problem:
        screen.show(wizard_ui.stage_view(state, problem=problem.message),
                    credentials_ui.not_created_text(state.name, problem.message))
        return
    except Exception:
        reference = new_reference()
        log.exception("creating a credential failed (reference %s)", reference)
        screen.show(wizard_ui.message_view("Something went wrong", apology(reference)), apology(reference))
        return

    channels = list(services.settings.notify_channels)
    try:
        page = services.credentials.list(workspace)
    except Exception:  # the credential is saved; show it alone rather than leave "Verifying…" up
        log.exception("listing after a create failed")
        page = CredentialPage([created], 1, 0, 1)
    screen.show(credentials_ui.created_view(created, page, credentials_ui.announcing_notice(channels)),
                credentials_ui.created_text(created))
    if channels:
        announce(services, client, screen, created, page, channels)
    after_change(services, client, workspace, actor)


def announce(services: Services, client: WebClient, screen: "_Screen", created: CredentialSummary,
             page: CredentialPage, channels: list[str]) -> None:
    text, blocks = credentials_ui.announcement(created)
    results = notify_channels(client, channels, text, blocks)
    delivered = [r.channel for r in results if r.ok]
    failures = [(r.channel, r.reason) for r in results if not r.ok]
    notice = credentials_ui.announced_notice(delivered, failures)
    screen.show(credentials_ui.created_view(created, page, notice), notice if failures else None)


class _Screen:
    """Where the outcome goes: the modal, or the creator's DM when the modal was closed."""

    def __init__(self, client: WebClient, view_id: str, user_id: str) -> None:
        self.client, self.view_id, self.user_id = client, view_id, user_id
        self.modal_open = True

    def show(self, view: View, dm_text: str | None) -> None:
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
