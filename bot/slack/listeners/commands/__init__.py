"""Slash commands."""

from slack_bolt import App

from bot.slack.listeners.commands.create_credential import acknowledge_command, open_wizard, open_wizard_after_ack
from bot.slack.listeners.commands.list_credentials import list_credentials


def register(app: App, *, shortcuts: bool = True) -> None:
    # The modal opens after the ack: views.open may be slow, and the trigger is good for 3 s.
    if shortcuts:
        app.command("/create-credential")(open_wizard_after_ack)  # listeners.common.after_answer
    else:
        app.command("/create-credential")(ack=acknowledge_command, lazy=[open_wizard])
    app.command("/list-credentials")(list_credentials)
