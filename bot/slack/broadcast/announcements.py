"""Fan-out of announcements to the notification channels, with a result per channel.

Transient failures (rate limits, Slack 5xx, dropped connections) are retried
by slack-sdk's retry handlers on the client; what still fails is reported
back so the creator can be told. A failed announcement never touches the
credential: it is already committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.models.blocks import Block

from bot.infra import metrics

if TYPE_CHECKING:
    from bot.credentials.types import CredentialSummary, Workspace
    from bot.slack.broadcast.channel_owners import ChannelOwners

log = logging.getLogger(__name__)

_REASONS = {
    "not_in_channel": "the bot is not a member; invite it with /invite @Credbot",
    "channel_not_found": "channel not found (deleted, or private without the bot)",
    "is_archived": "the channel is archived",
    "ratelimited": "Slack rate limited the bot; gave up after retries",
    "restricted_action": "posting is restricted in that channel",
    "not_authed": "the bot's token was refused",
    "invalid_auth": "the bot's token was refused",
    "account_inactive": "the bot's token is no longer active",
    "slack_unavailable": "Slack had a server error; gave up after retries",
    "unreachable": "Slack could not be reached",
    "other_workspace": "the channel belongs to another workspace of the organisation (CREDBOT_ORG_WIDE_CHANNELS "
    "shows every workspace's credentials there)",
    "owner_unreadable": "Slack could not say which workspace owns the channel (the app needs channels:read and "
    "groups:read), so nothing was shown there",
}


@dataclass(frozen=True)
class ChannelResult:
    channel: str
    ok: bool
    error: str = ""

    @property
    def reason(self) -> str:
        return _REASONS.get(self.error, f"Slack said {self.error}")


def notify_channels(
    client: WebClient,
    channels: Sequence[str],
    text: str,
    blocks: Sequence[Block | dict],
    owners: ChannelOwners | None = None,
    workspace: Workspace | None = None,
) -> list[ChannelResult]:
    """Post one message to each channel (with ``owners``: each channel ``workspace`` owns); never raises for a
    channel's failure."""
    results: list[ChannelResult] = []
    if owners is not None and workspace is not None:
        channels, refused = owners.split(channels, workspace, client)
        results = [ChannelResult(channel, False, code) for channel, code in refused]
    for channel in channels:
        try:
            client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
            results.append(ChannelResult(channel, True))
        except SlackApiError as error:
            status = error.response.status_code
            if status >= 500:
                code = "slack_unavailable"
            else:
                data = error.response.data if isinstance(error.response.data, dict) else {}
                code = str(data.get("error") or f"http_{status}")
            log.warning("announcement to %s failed: %s (HTTP %s)", channel, code, status)
            metrics.NOTIFICATION_FAILURES.labels(metrics.label(code)).inc()
            results.append(ChannelResult(channel, False, code))
        except (SlackRequestError, OSError) as error:
            log.warning("announcement to %s failed: %s", channel, type(error).__name__)
            metrics.NOTIFICATION_FAILURES.labels("unreachable").inc()
            results.append(ChannelResult(channel, False, "unreachable"))
    return results


def tell_workspace(
    client: WebClient,
    channels: Sequence[str],
    text: str,
    blocks: Sequence[Block | dict],
    owners: ChannelOwners | None,
    item: CredentialSummary,
) -> str:
    """A message about ``item`` in its workspace's channels in effect, or to the person who created it when
    there are none (reminders and Paddle's alerts); the outcome, one line for the record and the audit trail."""
    if channels:
        results = notify_channels(client, channels, text, blocks, owners, item.workspace)
        return ", ".join(f"{r.channel}:{'ok' if r.ok else r.error}" for r in results)
    try:
        client.chat_postMessage(channel=item.created_by, text=text, blocks=blocks)
        return f"dm {item.created_by}: ok"
    except SlackApiError as error:
        return f"dm {item.created_by}: {error.response.get('error')}"
