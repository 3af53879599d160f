"""Events API callbacks."""

from slack_bolt import App

from bot.slack.listeners.common import acknowledge
from bot.slack.listeners.events.app_home_opened import draw_home


def register(app: App) -> None:
    # Answered at once, drawn after: Slack retries an event not answered within 3 s, and views.publish may be slow.
    app.event("app_home_opened")(ack=acknowledge, lazy=[draw_home])
