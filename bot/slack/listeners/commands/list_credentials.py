"""/list-credentials [filter]: the workspace's credentials, newest first, answered in the ack itself."""

from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext

from bot.credentials.key_shapes import key_shaped
from bot.slack.access import VIEW
from bot.slack.listeners.common import permitted
from bot.slack.ui import credential_list
from bot.slack.request_context import services_of

log = logging.getLogger(__name__)


def list_credentials(ack: Ack, command: dict, context: BoltContext) -> None:
    services = services_of(context)
    decision = permitted(context, VIEW, "credential.list")
    if not decision:
        ack(response_type="ephemeral", text=decision.message)
        return
    raw = command.get("text") or ""
    if key_shaped(raw):  # never searched, echoed, carried in a page button or audited
        log.info("a /list-credentials filter shaped like an API key was refused")
        ack(response_type="ephemeral", text=credential_list.KEY_SHAPED_FILTER)
        return
    text = raw.strip()[: credential_list.FILTER_MAX]
    page = services.credentials.list(context["workspace"], context["actor"], text=text)
    ack(
        response_type="ephemeral",
        text=credential_list.list_fallback(page),
        blocks=credential_list.list_blocks(page, text, unused_days=services.settings.unused_key_days),
    )
