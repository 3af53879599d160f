"""Buttons: the wizard's Back, and the list's Previous/Next."""

from __future__ import annotations

import logging
import re

from slack_bolt import App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.errors import WizardStateInvalid
from bot.credentials.wizard_state import WizardState, stage_named
from bot.slack.access import MANAGE, VIEW
from bot.slack.listeners.payload import acknowledge, actor_of, permitted, read_input, workspace_of
from bot.slack.services import Services
from bot.slack.ui import credential_list as credentials_ui
from bot.slack.ui import wizard_modal as wizard_ui

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def go_back(body: dict, client: WebClient, context) -> None:
        view = body.get("view") or {}
        if not permitted(services, MANAGE, context, body, "credential.create"):
            client.views_update(view_id=view.get("id"), view=wizard_ui.message_view("Create credential",
                                                                                     services.access.refusal(MANAGE)))
            return
        stage = str(view.get("callback_id", "")).removeprefix(wizard_ui.CALLBACK_PREFIX)
        try:
            state = WizardState.from_metadata(view.get("private_metadata")).at(stage_named(stage))
        except WizardStateInvalid as problem:
            client.views_update(view_id=view.get("id"), view=wizard_ui.message_view("Create credential", problem.message))
            return
        # Keep what was chosen on this stage so Next brings it back (with_answer never keeps the key).
        draft = read_input(view, stage)
        if draft is not None:
            try:
                state = state.with_answer(stage, draft).validated()
            except WizardStateInvalid:
                pass  # an unknown option: drop the draft, keep the rest
        previous = state.previous_stage()
        try:
            client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=wizard_ui.stage_view(state.at(previous)))
        except SlackApiError as error:
            if error.response.get("error") != "hash_conflict":
                raise
            log.info("Back ignored: the modal changed meanwhile (hash_conflict)")

    def turn_page(body: dict, action: dict, context, respond: Respond) -> None:
        if not permitted(services, VIEW, context, body, "credential.list"):
            respond(response_type="ephemeral", replace_original=False, text=services.access.refusal(VIEW))
            return
        try:
            wanted = credentials_ui.parse_page_value(action.get("value"))
        except ValueError:
            respond(response_type="ephemeral", replace_original=False, text=credentials_ui.STALE_PAGE_BUTTON)
            return
        workspace = workspace_of(context, body)
        page = services.credentials.list(workspace, text=wanted.text, after=wanted.after,
                                         before=wanted.before, offset=wanted.offset)
        services.credentials.record(workspace, actor_of(context, body), "credential.list", "listed",
                                    detail=f"{len(page.items)} shown from {page.offset + 1}"
                                    + (", filtered" if wanted.text else ""))
        respond(replace_original=True, text=credentials_ui.list_fallback(page),
                blocks=credentials_ui.list_blocks(page, wanted.text))

    app.action(wizard_ui.BACK_ACTION)(ack=acknowledge, lazy=[go_back])
    app.action(re.compile(f"^({credentials_ui.PAGE_PREVIOUS}|{credentials_ui.PAGE_NEXT})$"))(
        ack=acknowledge, lazy=[turn_page])
