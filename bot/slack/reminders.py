"""Key expiry reminders: a workspace's reminder lead (its saved ``reminder_days``, else 7 days) before a Paddle
key expires, and again when it has; sent to the workspace's notification channels in effect (saved, else
CREDBOT_NOTIFY_CHANNELS), or to the creator when there are none. Settings that cannot be read end the check
before anything is claimed: the next check sends what is due.

A check runs in every instance once a day (``CREDBOT_REMINDER_INTERVAL_SECONDS``). Before sending, a reminder
is *claimed* by inserting its row: (credential, kind, expiry) is unique, so when several instances check at
the same moment exactly one wins each reminder and sends it; the others skip it. A replaced key has a new
expiry, so it gets reminders of its own. ``python -m bot reminders run [--now …]`` runs one check by hand.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, UTC
from typing import TYPE_CHECKING, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.credentials.expiry import claim, due, record_outcome
from bot.credentials.types import Workspace
from bot.credentials.workspace_settings import REMINDER_DAYS, WorkspaceSettings
from bot.infra import metrics
from bot.slack.broadcast.announcements import notify_channels
from bot.slack.ui.channel_messages import reminder_message

if TYPE_CHECKING:
    from bot.credentials.service import CredentialService
    from bot.infra.settings import Settings
    from bot.slack.broadcast.channel_owners import ChannelOwners


class ReminderServices(Protocol):
    """What the reminders need of bot.slack.services.Services (which starts their loop: naming it here would make
    an import circle)."""

    settings: Settings
    credentials: CredentialService
    owners: ChannelOwners | None

    def settings_for(self, workspace: Workspace) -> WorkspaceSettings: ...


log = logging.getLogger(__name__)
LONGEST_LEAD = timedelta(days=REMINDER_DAYS[1])  # no saved lead is longer


def run_expiry_check(
    services: ReminderServices, client: WebClient, now: datetime | None = None
) -> list[tuple[str, str]]:
    """Send every due reminder this instance can claim; returns (credential id, kind) of those sent."""
    now = now or datetime.now(UTC)
    credentials = services.credentials
    sent = []
    lead_of = lambda workspace: services.settings_for(workspace).reminder_lead  # noqa: E731
    for item, kind in due(credentials.sessions, now, lead_of, LONGEST_LEAD):
        channels = list(services.settings_for(item.workspace).notify_channels)  # read before the claim
        if not claim(credentials.sessions, item, kind, now):
            continue
        text, blocks = reminder_message(item, kind, now)
        if channels:
            results = notify_channels(client, channels, text, blocks, services.owners, item.workspace)
            outcome = ", ".join(f"{r.channel}:{'ok' if r.ok else r.error}" for r in results)
        else:  # nowhere to announce: tell the person who created it
            try:
                client.chat_postMessage(channel=item.created_by, text=text, blocks=blocks)
                outcome = f"dm {item.created_by}: ok"
            except SlackApiError as error:
                outcome = f"dm {item.created_by}: {error.response.get('error')}"
        record_outcome(credentials.sessions, item, kind, outcome)
        credentials.audit.record(item.workspace, "credbot", "credential.reminder", kind, item.id, outcome)
        sent.append((item.id, kind))
    return sent


class ReminderLoop:
    """Runs the expiry check every ``interval`` seconds in a daemon thread, until stopped."""

    def __init__(self, services: ReminderServices, client: WebClient, interval: float) -> None:
        self.services, self.client, self.interval = services, client, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="expiry-reminders", daemon=True)

    def start(self) -> ReminderLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        delay = min(self.interval, 30)  # the first check soon after start, not a whole interval later
        while not self._stop.wait(delay):
            try:
                sent = run_expiry_check(self.services, self.client)
                if sent:
                    log.info("sent %d expiry reminder(s)", len(sent))
            except Exception:  # a failed check must not end the loop; the next one tries again
                log.exception("the expiry check failed")
            metrics.EXPIRY_CHECKS.inc()
            delay = self.interval
