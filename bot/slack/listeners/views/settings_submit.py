"""The Settings modal's submission (issue 22): only those allowed to change settings (a forged submission is
refused and audited), every field checked, each newly chosen channel one the bot is in (else the field says so,
with the /invite line), nothing saved over a change made since the modal opened; then the modal closes and the
Home tab is drawn again."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.workspace_settings import SettingsInvalid, WorkspaceSettings, settings_in_effect
from bot.credentials.workspace_settings_save import SettingsChanged, save_settings
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.listeners.common import after_answer
from bot.slack.request_context import requester_of_request, services_of, token_of
from bot.slack.settings_rights import ATTEMPT
from bot.slack.ui import home_tab, settings_modal
from bot.wiring import setting_defaults

log = logging.getLogger(__name__)
STALE = (
    "Someone saved {names} since you opened Settings, so nothing was saved (your choices would have overwritten "
    "theirs unseen). Close this and open Settings again to see the values now."
)


def save_workspace_settings(ack: Any, body: dict, view: dict, context: BoltContext, client: WebClient) -> None:
    services, who = services_of(context), requester_of_request(context)
    token = token_of(context)
    decision = may_change(context)
    if not decision:
        ack(response_action="update", view=home_tab.info_view(settings_modal.TITLE, decision.message))
        return
    values, errors = settings_modal.read_submission(view)
    expected = settings_modal.parse_metadata(view.get("private_metadata"))
    current = settings_in_effect(services.credentials.sessions, who.workspace, setting_defaults(services.settings))
    changes = {name: value for name, value in values.items() if not same(value, current.value(name))}
    errors |= channels_not_joined(client, token, changes, current, errors)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    if expected is None:
        ack(response_action="update", view=home_tab.info_view(settings_modal.TITLE, STALE.format(names="them")))
        return
    if changes:
        try:
            save_settings(services.credentials.sessions, services.credentials.audit, who.workspace, changes,
                          who.user_id, expected=expected)  # fmt: skip
        except SettingsChanged as changed:
            text = STALE.format(names=", ".join(n.replace("_", " ") for n in changed.names))
            ack(response_action="update", view=home_tab.info_view(settings_modal.TITLE, text))
            return
        except SettingsInvalid as invalid:
            ack(response_action="update", view=home_tab.info_view(settings_modal.TITLE, "; ".join(invalid.problems)))
            return
        if services.book is not None:
            services.book.forget(who.workspace)  # the rest of this request reads what was saved
    ack()  # the modal closes
    after_answer(context, publish_home, services, client, who)


def same(new: Any, old: Any) -> bool:
    """Whether a submitted value is what is in effect (lists of ids compare as sets: the modal draws people
    before groups, whatever order the environment named them in)."""
    if isinstance(new, tuple) and isinstance(old, tuple):
        return set(new) == set(old)
    return bool(new == old)


def may_change(context: BoltContext) -> Any:
    """The decision for this request's person to change their workspace's settings; a refusal is audited."""
    services, who = services_of(context), requester_of_request(context)
    assert services.rights is not None
    decision = services.rights.may_change(who, token=token_of(context))
    if not decision:
        services.credentials.denied(who.workspace, who.user_id, ATTEMPT, decision.reason)
    return decision


def channels_not_joined(
    client: WebClient, token: str | None, changes: dict, current: WorkspaceSettings, errors: dict
) -> dict[str, str]:
    """For each channel field changing to channels not in effect before: the bot must be in each (asked with the
    request's token); a field's error names those it is not in (or that Slack would not describe)."""
    found: dict[str, str] = {}
    known = {*current.notify_channels, *([current.board_channel] if current.board_channel else [])}
    for name in ("notify_channels", "board_channel"):
        if name not in changes or name in errors or not changes[name]:
            continue
        chosen = changes[name] if isinstance(changes[name], tuple) else (changes[name],)
        missing = [channel for channel in chosen if channel not in known and not joined(client, token, channel)]
        if missing:
            found[name] = settings_modal.not_member_error(missing)
    return found


def joined(client: WebClient, token: str | None, channel: str) -> bool:
    extra: dict = {"token": token} if token else {}
    try:
        answer = client.conversations_info(channel=channel, **extra)
    except SlackApiError as error:
        log.info("conversations.info on %s: %s", channel, error.response.get("error"))
        return False
    return (answer.get("channel") or {}).get("is_member") is True
