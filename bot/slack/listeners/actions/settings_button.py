"""The Home tab's Settings button: the Settings modal for those allowed to change settings, else why not."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.credentials.workspace_settings import settings_in_effect
from bot.slack.listeners.common import open_modal
from bot.slack.listeners.views.settings_submit import may_change
from bot.slack.request_context import requester_of_request, services_of
from bot.slack.ui import home_tab, settings_modal
from bot.wiring import setting_defaults


def open_settings(body: dict, context: BoltContext, client: WebClient) -> None:
    decision = may_change(context)
    if not decision:
        open_modal(client, body, home_tab.info_view(settings_modal.TITLE, decision.message))
        return
    services, who = services_of(context), requester_of_request(context)
    current = settings_in_effect(services.credentials.sessions, who.workspace, setting_defaults(services.settings))
    open_modal(client, body, settings_modal.settings_view(current))
