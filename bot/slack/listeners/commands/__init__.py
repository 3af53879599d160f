"""Slash commands."""

from slack_bolt import App

from bot.slack.listeners.commands.create_credential import open_wizard
from bot.slack.listeners.commands.list_credentials import list_credentials
from bot.slack.listeners.common import acknowledge


def register(app: App) -> None:
    # The modal opens after the ack: views.open may be slow, and the trigger is good for 3 s.
    app.command("/create-credential")(ack=acknowledge, lazy=[open_wizard])
    app.command("/list-credentials")(list_credentials)
