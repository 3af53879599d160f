"""Listeners, one package per kind of Slack request (as slack-samples/bolt-python-starter-template lays them
out): each package's ``register`` wires its module-level callbacks; each callback reads like a sentence —
authorise, parse, call the core, render, answer. The services, workspace and actor are in the context
(bot.slack.middleware)."""

from slack_bolt import App

from bot.slack.listeners import actions, commands, events, unexpected_error, views


def register_listeners(app: App, *, single_workspace: bool, shortcuts: bool = True) -> None:
    """Every listener; ``single_workspace``: no OAuth installation store (the removal events are ours to
    answer); ``shortcuts`` (CREDBOT_LIBRARY_SHORTCUTS): the wizard's work after its acks goes through
    listeners.common.after_answer, else through Bolt lazy listeners."""
    commands.register(app, shortcuts=shortcuts)
    views.register(app, shortcuts=shortcuts)
    actions.register(app)
    events.register(app, single_workspace=single_workspace)
    unexpected_error.register(app)
