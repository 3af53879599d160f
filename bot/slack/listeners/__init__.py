"""Listeners, grouped by Slack feature. Each is thin: parse, call the core, render, answer."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, errors, home, views
from bot.slack.services import Services


def register_listeners(app: App, services: Services) -> None:
    commands.register(app, services)
    views.register(app, services)
    actions.register(app, services)
    home.register(app, services)
    errors.register(app)
