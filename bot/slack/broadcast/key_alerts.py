"""What a verified Paddle notification tells people, after it was recorded and answered: an urgent alert for a
revoked or exposed key, the expiry reminders for an expiring or expired one (claimed as the daily check claims
them, so the two together remind once), the board redrawn, and the Credentials tab redrawn for those of the
workspace who opened it. Each in the credential's own workspace: its notification channels in effect, with its own
bot token in OAuth mode. The daily look (bot.slack.daily_look) alerts through ``alert`` too."""

from __future__ import annotations

import logging
from datetime import datetime, UTC
from collections.abc import Sequence
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.credentials.expiry import EXPIRED, EXPIRES_SOON, claim, record_outcome
from bot.credentials.key_events import EXPIRING, EXPOSED, REVOKED, Applied, Exposure, KeyEvent, Touched
from bot.credentials import key_events
from bot.credentials.types import CredentialSummary, Workspace
from bot.slack.broadcast.announcements import tell_workspace
from bot.slack.broadcast.board_refresh import refresh_board
from bot.slack.broadcast.home_tab_refresh import redraw_open_tabs
from bot.slack.settings_book import SettingsUnavailable
from bot.slack.ui import channel_messages
from bot.slack.web_client import client_class

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)


def alert_kind(event: KeyEvent, touched: Touched) -> str | None:
    """Which message the event calls for on this credential: none when it changed nothing that matters."""
    if event.event_type == REVOKED and "key_status" in touched.changed:
        return channel_messages.REVOKED_ALERT
    if event.event_type == EXPOSED and "key_exposed_at" in touched.changed:
        return channel_messages.EXPOSED_ALERT
    if event.event_type == key_events.EXPIRED and "key_status" in touched.changed:
        return EXPIRED
    if event.event_type == EXPIRING and touched.changed:
        return EXPIRES_SOON
    return None


def tell(services: Services, applied: Applied) -> None:
    """Send what ``applied`` calls for (run after the answer; never raises)."""
    for touched in applied.touched:
        kind = alert_kind(applied.event, touched)
        try:
            if kind is not None:
                alert(services, touched.credential, kind, applied.event.exposure)
            elif touched.changed:
                redraw_board(services, touched.credential.workspace)
            if touched.changed:
                redraw_tabs(services, touched.credential.workspace)
        except Exception:  # one workspace's failure must not keep the next one from hearing
            log.exception("telling workspace about a Paddle notification failed")


def alert(services: Services, item: CredentialSummary, kind: str, exposure: Exposure | None = None) -> None:
    """Tell ``item``'s workspace that its key is revoked, exposed or refused (or remind it of its expiry), audited."""
    client = workspace_client(services, item.workspace)
    if client is None:
        log.warning("no bot token for the workspace of credential %s: its alert was not sent", item.id)
        return
    reminder = kind in (EXPIRED, EXPIRES_SOON)
    now = datetime.now(UTC)
    if reminder and item.key_expires_at is not None and not claim(services.credentials.sessions, item, kind, now):
        return  # the daily check (or another delivery) has sent this reminder already
    blocks: Sequence[Block | dict]
    if reminder:
        text, blocks = channel_messages.reminder_message(item, kind, now)
    else:
        text, blocks = channel_messages.key_alert(item, kind, exposure)
    try:
        in_effect = services.settings_for(item.workspace)
    except SettingsUnavailable as error:  # never the environment's channels for a workspace that may have others
        log.warning("alert for credential %s not sent: %s", item.id, error)
        return
    outcome = tell_workspace(client, in_effect.notify_channels, text, blocks, services.owners, item)
    if reminder and item.key_expires_at is not None:
        record_outcome(services.credentials.sessions, item, kind, outcome)
    services.credentials.audit.record(item.workspace, "credbot", "credential.alert", kind, item.id, outcome)
    refresh_board(services, client, in_effect.board_channel)


def redraw_board(services: Services, workspace: Workspace) -> None:
    client = workspace_client(services, workspace)
    if client is not None:
        refresh_board(services, client, services.settings_for(workspace).board_channel)


def redraw_tabs(services: Services, workspace: Workspace) -> None:
    """The Credentials tab of everyone of ``workspace`` who opened it, as it is now (no token: nothing drawn)."""
    client = workspace_client(services, workspace)
    if client is not None:
        redraw_open_tabs(services, client, workspace)


def workspace_client(services: Services, workspace: Workspace) -> WebClient | None:
    """The process's client, or in OAuth mode one with the workspace's own bot token (None: not installed)."""
    store = services.installations
    if store is None:
        return services.slack
    bot = store.find_bot(
        enterprise_id=workspace.enterprise_id or None,
        team_id=workspace.team_id or None,
        is_enterprise_install=not workspace.team_id,
    )
    if bot is None or not bot.bot_token:
        return None
    return client_class(services.settings.library_shortcuts)(
        token=bot.bot_token, base_url=services.slack.base_url, timeout=10, retry_handlers=services.slack.retry_handlers
    )
