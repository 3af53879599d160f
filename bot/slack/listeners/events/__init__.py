"""Events API callbacks."""

from slack_bolt import App

from bot.slack.listeners.common import acknowledge
from bot.slack.listeners.events.app_home_opened import draw_home
from bot.slack.listeners.events.app_removed import report_removal


def register(app: App, *, single_workspace: bool) -> None:
    # Answered at once, drawn after: Slack retries an event not answered within 3 s, and views.publish may be slow.
    app.event("app_home_opened")(ack=acknowledge, lazy=[draw_home])
    if single_workspace:  # in OAuth mode Bolt's token revocation listeners take these events
        for removal in ("app_uninstalled", "tokens_revoked"):
            app.event(removal)(ack=acknowledge, lazy=[report_removal])
