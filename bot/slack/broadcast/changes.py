"""A change, as a typed value, and the one fan-out that follows it: announce, redraw the actor's Home tab, the
board. A failure of any of these never touches the change: it is already committed."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.credentials import catalog
from bot.credentials.types import CredentialSummary, Workspace
from bot.slack.broadcast.announcements import ChannelResult, notify_channels
from bot.slack.broadcast.board_refresh import refresh_board
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.requester import Requester
from bot.slack.settings_book import SettingsUnavailable
from bot.slack.ui import channel_messages, credential_list, home_tab

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)


class ChangeKind(enum.Enum):
    CREATED = "created"
    REPLACED = "replaced"  # a new API key
    ROTATED = "rotated"  # a new secret of the same key, issued by the provider (bot.credentials.key_rotation)
    RENAMED = "renamed"
    DELETED = "deleted"
    KEY_STATUS = "key-status"  # what the provider says of the key (a connection test): status, expiry


@dataclass(frozen=True)
class Change:
    """What changed (``credential`` as it is now, or as it was when deleted), and who changed it where (the
    request's person: their tab is redrawn after the same decision as any other)."""

    kind: ChangeKind
    credential: CredentialSummary
    by: Requester

    @property
    def actor(self) -> str:
        return self.by.user_id

    @property
    def workspace(self) -> Workspace:
        return self.by.workspace


def changed(services: Services, client: WebClient, change: Change) -> list[ChannelResult]:
    """Tell everyone who should know (in the workspace's notification channels in effect, and its board), with
    ``client`` (the request's: in OAuth mode it carries the workspace's
    token). Returns the announcement's result per notification channel (none for a rename or a key check)."""
    results: list[ChannelResult] = []
    message = announcement(change)
    try:
        in_effect = services.settings_for(change.workspace)  # its notification and board channels
    except SettingsUnavailable as error:  # never the environment's channels for a workspace that may have others
        log.warning("not announced or shown on the board: %s", error)
        in_effect = None
    if message is not None and in_effect is not None and in_effect.notify_channels:
        text, blocks = message
        results = notify_channels(client, in_effect.notify_channels, text, blocks, services.owners, change.workspace)
    if services.queries.has_opened_home(change.workspace, change.actor):
        publish_home(services, client, change.by)
    if in_effect is not None:
        refresh_board(services, client, in_effect.board_channel)
    return results


def announcement(change: Change) -> tuple[str, list[dict]] | None:
    """The channel message a change is announced with; None for changes that are only redrawn."""
    item, actor = change.credential, change.actor
    if change.kind is ChangeKind.CREATED:
        return credential_list.announcement(item)
    if change.kind is ChangeKind.REPLACED:
        return channel_messages.change_announcement(
            "had its API key replaced", item, actor, f"key now ends {home_tab.key_ending(item)}"
        )
    if change.kind is ChangeKind.ROTATED:
        provider = catalog.provider_label(item.destination)
        return channel_messages.change_announcement(
            f"had its API key rotated with {provider}", item, actor, f"key now ends {home_tab.key_ending(item)}"
        )
    if change.kind is ChangeKind.DELETED:
        return channel_messages.change_announcement("was deleted", item, actor)
    return None
