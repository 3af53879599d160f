"""/list-credentials [filter]: the workspace's credentials, newest first, answered in the ack itself."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.slack.access import VIEW
from bot.slack.listeners.common import permitted
from bot.slack.ui import credential_list
from bot.slack.request_context import services_of


def list_credentials(ack: Ack, command: dict, context: BoltContext) -> None:
    services = services_of(context)
    decision = permitted(context, VIEW, "credential.list")
    if not decision:
        ack(response_type="ephemeral", text=decision.message)
        return
    text = (command.get("text") or "").strip()[: credential_list.FILTER_MAX]
    page = services.credentials.list(context["workspace"], context["actor"], text=text)
    ack(
        response_type="ephemeral",
        text=credential_list.list_fallback(page),
        blocks=credential_list.list_blocks(page, text),
    )
