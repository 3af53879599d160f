"""Slash commands: /create-credential and /list-credentials."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.validation import NAME_MAX
from bot.credentials.wizard_state import WizardState
from bot.slack.access import MANAGE, VIEW
from bot.slack.listeners.payload import acknowledge, actor_of, permitted, workspace_of
from bot.slack.services import Services
from bot.slack.ui import credential_list as credentials_ui
from bot.slack.ui import wizard_modal as wizard_ui

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def open_wizard(command: dict, client: WebClient, respond: Respond, context) -> None:
        if not permitted(services, MANAGE, context, command, "credential.create"):
            respond(response_type="ephemeral", text=services.access.refusal(MANAGE))
            return
        prefilled = " ".join((command.get("text") or "").split())[:NAME_MAX]
        try:
            client.views_open(trigger_id=command.get("trigger_id"), view=wizard_ui.stage_view(WizardState(name=prefilled)))
        except SlackApiError as error:  # e.g. the trigger expired because Slack delivered the command late
            log.warning("views.open failed: %s", error.response.get("error"))
            respond(response_type="ephemeral", text=credentials_ui.open_failed_text(str(error.response.get("error"))))

    app.command("/create-credential")(ack=acknowledge, lazy=[open_wizard])

    @app.command("/list-credentials")
    def list_credentials(ack: Ack, command: dict, context) -> None:
        if not permitted(services, VIEW, context, command, "credential.list"):
            ack(response_type="ephemeral", text=services.access.refusal(VIEW))
            return
        text = (command.get("text") or "").strip()[: credentials_ui.FILTER_MAX]
        workspace = workspace_of(context, command)
        page = services.credentials.list(workspace, text=text)
        # Audited after the answer is on its way: the write is not something the reader should wait for.
        services.executor.submit(services.credentials.record, workspace, actor_of(context, command),
                                 "credential.list", "listed", detail=f"{len(page.items)} shown" + (", filtered" if text else ""))
        ack(response_type="ephemeral", text=credentials_ui.list_fallback(page),
            blocks=credentials_ui.list_blocks(page, text))
