"""The wizard's Back button: the previous stage, with every answer (and this stage's draft) kept."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.errors import WizardStateInvalid
from bot.credentials.wizard_state import WizardState, stage_named
from bot.slack.access import MANAGE
from bot.slack.listeners.common import permitted, read_input
from bot.slack.ui import wizard_modal

log = logging.getLogger(__name__)


def go_back(body: dict, client: WebClient, context: BoltContext) -> None:
    view = body.get("view") or {}
    decision = permitted(context, MANAGE, "credential.create")
    if not decision:
        client.views_update(
            view_id=view.get("id"), view=wizard_modal.message_view(wizard_modal.TITLE, decision.message)
        )
        return
    stage = str(view.get("callback_id", "")).removeprefix(wizard_modal.CALLBACK_PREFIX)
    try:
        state = WizardState.from_metadata(view.get("private_metadata")).at(stage_named(stage))
    except WizardStateInvalid as problem:
        client.views_update(view_id=view.get("id"), view=wizard_modal.message_view(wizard_modal.TITLE, problem.message))
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
        client.views_update(
            view_id=view.get("id"), hash=view.get("hash"), view=wizard_modal.stage_view(state.at(previous))
        )
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        log.info("Back ignored: the modal changed meanwhile (hash_conflict)")
