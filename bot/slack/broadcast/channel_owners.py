"""Which workspace owns a channel, so that announcements and the board show only that workspace's credentials.

With an org-wide install one bot serves every workspace of an organisation, and a channel listed in
CREDBOT_NOTIFY_CHANNELS or CREDBOT_BOARD_CHANNEL belongs to one of them: credentials of the other workspaces
stay out of it unless CREDBOT_ORG_WIDE_CHANNELS says otherwise. The owner is conversations.info's
``context_team_id`` (or the first of ``shared_team_ids``), cached for ten minutes. When Slack cannot say, the
channel is skipped and the person is told why (fail closed); a channel whose answer names no workspace is
treated as the bot's own (a plain single-workspace install).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from slack_sdk import WebClient

from bot.credentials.types import Workspace
from bot.slack.slack_lookup import UNREADABLE, SlackLookup

log = logging.getLogger(__name__)

OWNER_CACHE_SECONDS = 600


class ChannelOwners:
    def __init__(
        self,
        client: WebClient,
        *,
        org_wide: bool,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = OWNER_CACHE_SECONDS,
    ) -> None:
        self.client, self.org_wide = client, org_wide
        self._lookups = SlackLookup(ttl, clock)

    def split(
        self, channels: Sequence[str], workspace: Workspace, client: WebClient | None = None
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """The channels ``workspace``'s credentials may be shown in, and (channel, reason code) for each of the others
        (bot.slack.broadcast.announcements words the codes).
        ``client``: the request's (in OAuth mode the process has no token of its own)."""
        if self.org_wide:
            return list(channels), []
        allowed, refused = [], []
        for channel in channels:
            owner = self.owner(channel, client)
            if owner is UNREADABLE:
                refused.append((channel, "owner_unreadable"))
            elif owner and owner != workspace.team_id:
                refused.append((channel, "other_workspace"))
            else:
                allowed.append(channel)
        return allowed, refused

    def owner(self, channel: str, client: WebClient | None = None) -> object:
        """The owning workspace's team id, None when Slack names none, or UNREADABLE."""

        def read() -> str | None:
            info = (client or self.client).conversations_info(channel=channel).get("channel") or {}
            return info.get("context_team_id") or next(iter(info.get("shared_team_ids") or []), None)

        return self._lookups.get(
            channel, read, f"could not tell which workspace owns channel {channel} (%s): not showing credentials there"
        )
