"""Slash commands: /create-credential and /list-credentials."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.credentials.validation import NAME_MAX
from bot.credentials.wizard import WizardState
from bot.listeners.payload import workspace_of
from bot.services import Services
from bot.ui import credentials as credentials_ui
from bot.ui import wizard as wizard_ui


def register(app: App, services: Services) -> None:
    @app.command("/create-credential")
    def open_wizard(ack: Ack, command: dict, client: WebClient) -> None:
        ack()
        prefilled = " ".join((command.get("text") or "").split())[:NAME_MAX]
        client.views_open(trigger_id=command["trigger_id"], view=wizard_ui.stage_view(WizardState(name=prefilled)))

    @app.command("/list-credentials")
    def list_credentials(ack: Ack, command: dict, context) -> None:
        text = (command.get("text") or "").strip()[: credentials_ui.FILTER_MAX]
        page = services.credentials.list(workspace_of(context, command), text=text)
        ack(response_type="ephemeral", text=credentials_ui.list_fallback(page),
            blocks=credentials_ui.list_blocks(page, text))
