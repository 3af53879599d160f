"""/create-credential [name]: open the wizard's first stage, the name prefilled from the command's text.

Text shaped like a key is not a name: the ack says so (without repeating it) and the wizard opens empty, its
first stage saying why, so that the person carries on where the key belongs (the last stage, never shown)."""

from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.key_shapes import key_shaped
from bot.credentials.validation import NAME_MAX
from bot.credentials.wizard_state import WizardState
from bot.slack.access import MANAGE
from bot.slack.listeners.common import after_answer, permitted
from bot.slack.ui import credential_list, wizard_modal

log = logging.getLogger(__name__)


KEY_TEXT_REFUSED = (
    "The text after /create-credential looks like an API key, so it was not used as the name: nothing was saved or "
    "shown to anyone. Name the credential in the form; its key goes in the form's last step, which is never shown."
)
KEY_TEXT_NOTICE = (
    "The text after /create-credential looked like an API key, so it was not used as the name. Type a name here; "
    "the key goes in the last step."
)


def acknowledge_command(ack: Ack, command: dict) -> None:
    """The bare ack, or a refusal of key-shaped text (the wizard still opens, empty)."""
    if key_shaped(command.get("text") or ""):
        log.info("/create-credential text shaped like an API key was not used as a name")
        ack(response_type="ephemeral", text=KEY_TEXT_REFUSED)
        return
    ack()


def open_wizard_after_ack(ack: Ack, command: dict, client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Answer at once; the modal opens after the ack (views.open may be slow, and the trigger is good for 3 s)."""
    acknowledge_command(ack, command)
    after_answer(context, open_wizard, command, client, respond, context)


def open_wizard(command: dict, client: WebClient, respond: Respond, context: BoltContext) -> None:
    decision = permitted(context, MANAGE, "credential.create")
    if not decision:
        respond(response_type="ephemeral", text=decision.message)
        return
    text = command.get("text") or ""
    if key_shaped(text):
        view = wizard_modal.stage_view(WizardState(), problem=KEY_TEXT_NOTICE)
    else:
        view = wizard_modal.stage_view(WizardState(name=" ".join(text.split())[:NAME_MAX]))
    try:
        client.views_open(trigger_id=command.get("trigger_id"), view=view)
    except SlackApiError as error:  # e.g. the trigger expired because Slack delivered the command late
        log.warning("views.open failed: %s", error.response.get("error"))
        respond(response_type="ephemeral", text=credential_list.open_failed_text(str(error.response.get("error"))))
