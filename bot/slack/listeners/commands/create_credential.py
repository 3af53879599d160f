"""/create-credential [name]: open the wizard's first stage, the name prefilled from the command's text."""

from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.validation import NAME_MAX
from bot.credentials.wizard_state import WizardState
from bot.slack.access import MANAGE
from bot.slack.listeners.common import after_answer, permitted
from bot.slack.ui import credential_list, wizard_modal

log = logging.getLogger(__name__)


def open_wizard_after_ack(ack: Ack, command: dict, client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Answer at once; the modal opens after the ack (views.open may be slow, and the trigger is good for 3 s)."""
    ack()
    after_answer(context, open_wizard, command, client, respond, context)


def open_wizard(command: dict, client: WebClient, respond: Respond, context: BoltContext) -> None:
    decision = permitted(context, MANAGE, "credential.create")
    if not decision:
        respond(response_type="ephemeral", text=decision.message)
        return
    prefilled = " ".join((command.get("text") or "").split())[:NAME_MAX]
    try:
        client.views_open(
            trigger_id=command.get("trigger_id"), view=wizard_modal.stage_view(WizardState(name=prefilled))
        )
    except SlackApiError as error:  # e.g. the trigger expired because Slack delivered the command late
        log.warning("views.open failed: %s", error.response.get("error"))
        respond(response_type="ephemeral", text=credential_list.open_failed_text(str(error.response.get("error"))))
