"""Stages 1-3 of the wizard: check the answer, carry it forward, show the next stage."""

from __future__ import annotations

import re

from slack_bolt import Ack, BoltContext
from slack_sdk.models.views import View

from bot.credentials.errors import InvalidInput, WizardStateInvalid
from bot.credentials.wizard_state import CARRIED, WizardState
from bot.slack.access import MANAGE, Decision
from bot.slack.listeners.common import permitted, read_input
from bot.slack.ui import wizard_modal
from bot.slack.request_context import services_of

# The carried stages (every one before the key), from the one stage table.
STAGE_CALLBACK = re.compile(f"^{re.escape(wizard_modal.CALLBACK_PREFIX)}({'|'.join(map(re.escape, CARRIED))})$")


def next_stage(ack: Ack, view: dict, context: BoltContext) -> None:
    services = services_of(context)
    stage = view["callback_id"].removeprefix(wizard_modal.CALLBACK_PREFIX)
    decision = permitted(context, MANAGE, "credential.create")
    if not decision:
        ack(response_action="update", view=refused_view(decision))
        return
    try:
        state = WizardState.from_metadata(view.get("private_metadata")).at(stage)
        answer = services.wizard.answer(context["workspace"], stage, read_input(view, stage))
    except WizardStateInvalid as problem:
        ack(response_action="update", view=wizard_modal.message_view(wizard_modal.TITLE, problem.message))
        return
    except InvalidInput as problem:
        ack(response_action="errors", errors={stage: problem.message})
        return
    state = state.with_answer(stage, answer)
    ack(response_action="update", view=wizard_modal.stage_view(state.at(state.next_stage())))


def refused_view(decision: Decision) -> View:
    return wizard_modal.message_view(wizard_modal.TITLE, decision.message)
