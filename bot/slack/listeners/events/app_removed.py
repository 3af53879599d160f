"""Single-workspace mode: Slack says the app was uninstalled, or its tokens revoked. SLACK_BOT_TOKEN no longer
works, and nothing Credbot can do in Slack will change that: the operator has to be told, in the log, at once.
(In OAuth mode Bolt's own revocation listeners forget that workspace's tokens instead.)"""

from __future__ import annotations

import logging

from slack_bolt import BoltContext

log = logging.getLogger(__name__)

WHAT_TO_DO = (
    "SLACK_BOT_TOKEN no longer works: install the app again (the app's settings > Install App) and put its new "
    "Bot User OAuth Token in SLACK_BOT_TOKEN, then restart; the credentials are kept"
)


def report_removal(event: dict, context: BoltContext) -> None:
    what = "uninstalled from" if event.get("type") == "app_uninstalled" else "had its tokens revoked in"
    team = context.get("team_id") or context.get("enterprise_id") or "the workspace"
    log.error("Slack says the app was %s %s (%s): %s", what, team, event.get("type"), WHAT_TO_DO)
