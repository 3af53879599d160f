"""Key expiry reminders: a workspace's reminder lead (its saved ``reminder_days``, else 7 days) before a Paddle
key expires, and again when it has; sent to the workspace's notification channels in effect (saved, else
CREDBOT_NOTIFY_CHANNELS), or to the creator when there are none. Settings that cannot be read end the check
before anything is claimed: the next check sends what is due.

A check runs in every instance once a day (``CREDBOT_REMINDER_INTERVAL_SECONDS``). Before sending, a reminder
is *claimed* by inserting its row: (credential, kind, expiry) is unique, so when several instances check at
the same moment exactly one wins each reminder and sends it; the others skip it. A replaced key has a new
expiry, so it gets reminders of its own. ``python -m bot reminders run [--now …]`` runs one check by hand.

In OAuth mode the check runs once per installed workspace with that workspace's own bot token, each workspace
claimed by one instance and its sends spread (``run_expiry_pass``, bot.slack.workspace_jobs); a workspace with no
usable token is skipped (said once) and its reminders stay due.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, UTC
from typing import TYPE_CHECKING, Protocol

from slack_sdk import WebClient

from bot.credentials.expiry import claim, due, record_outcome
from bot.credentials.types import CredentialSummary, Workspace
from bot.credentials.workspace_settings import REMINDER_DAYS, WorkspaceSettings
from bot.infra import metrics
from bot.slack.broadcast.announcements import tell_workspace
from bot.slack.broadcast.board_refresh import run_board_pass
from bot.slack.ui.channel_messages import reminder_message
from bot.slack.workspace_jobs import ChannelPace, Installed, WorkspaceClients, each_workspace, installations, serving

if TYPE_CHECKING:
    from bot.credentials.queries import CredentialQueries
    from bot.credentials.service import CredentialService
    from bot.infra.settings import Settings
    from bot.slack.broadcast.channel_owners import ChannelOwners


class ReminderServices(Protocol):
    """What the reminders need of bot.slack.services.Services (which starts their loop: naming it here would make
    an import circle)."""

    settings: Settings
    credentials: CredentialService
    owners: ChannelOwners | None
    slack: WebClient
    workspace_clients: WorkspaceClients | None  # OAuth mode: each installation's client

    @property
    def queries(self) -> CredentialQueries: ...

    def settings_for(self, workspace: Workspace) -> WorkspaceSettings: ...


log = logging.getLogger(__name__)
LONGEST_LEAD = timedelta(days=REMINDER_DAYS[1])  # no saved lead is longer


def run_expiry_check(
    services: ReminderServices, client: WebClient, now: datetime | None = None
) -> list[tuple[str, str]]:
    """Send every due reminder this instance can claim with ``client`` (single-workspace mode: the one bot token);
    returns (credential id, kind) of those sent."""
    now = now or datetime.now(UTC)
    sent = []
    for item, kind in due_now(services, now):
        if send_reminder(services, client, item, kind, now):
            sent.append((item.id, kind))
    return sent


def run_expiry_pass(services: ReminderServices, now: datetime | None = None) -> list[tuple[str, str]]:
    """The expiry check as the loop and ``reminders run`` run it: in single-workspace mode ``run_expiry_check``
    with the process's client; in OAuth mode once per installed workspace with its own token, each workspace
    claimed by one instance (bot.slack.workspace_jobs), its sends spread. A due reminder of a workspace with no
    usable token is left unclaimed (said once): it goes out once the workspace is installed again."""
    clients = services.workspace_clients
    if clients is None:
        return run_expiry_check(services, services.slack, now)
    now = now or datetime.now(UTC)
    installed = installations(services.credentials.sessions)
    grouped: dict[str, tuple[Installed, list[tuple[CredentialSummary, str]]]] = {}
    for item, kind in due_now(services, now):
        serves = serving(item.workspace, installed)
        if serves is None:
            clients.skip(item.workspace.team_id or item.workspace.enterprise_id, "reminders", "it is not installed")
            continue
        grouped.setdefault(serves.scope_id, (serves, []))[1].append((item, kind))
    sent: list[tuple[str, str]] = []

    def remind(workspace: Installed, client: WebClient) -> None:
        pace = ChannelPace()
        for item, kind in grouped[workspace.scope_id][1]:
            if send_reminder(services, client, item, kind, now, pace):
                sent.append((item.id, kind))

    each_workspace(services.credentials.sessions, clients, "reminders", [w for w, _ in grouped.values()], remind)
    return sent


def due_now(services: ReminderServices, now: datetime) -> list[tuple[CredentialSummary, str]]:
    lead_of = lambda workspace: services.settings_for(workspace).reminder_lead  # noqa: E731
    return due(services.credentials.sessions, now, lead_of, LONGEST_LEAD)


def send_reminder(
    services: ReminderServices,
    client: WebClient,
    item: CredentialSummary,
    kind: str,
    now: datetime,
    pace: ChannelPace | None = None,
) -> bool:
    """Claim the reminder and send it to the workspace's notification channels in effect (none: a DM to the
    creator); False when another instance claimed it first."""
    credentials = services.credentials
    channels = list(services.settings_for(item.workspace).notify_channels)  # read before the claim
    if not claim(credentials.sessions, item, kind, now):
        return False
    text, blocks = reminder_message(item, kind, now)
    if pace is not None:
        pace.before(channels or [item.created_by])
    outcome = tell_workspace(client, channels, text, blocks, services.owners, item)
    record_outcome(credentials.sessions, item, kind, outcome)
    credentials.audit.record(item.workspace, "credbot", "credential.reminder", kind, item.id, outcome)
    return True


class ReminderLoop:
    """Runs the expiry check every ``interval`` seconds in a daemon thread, until stopped."""

    def __init__(self, services: ReminderServices, interval: float) -> None:
        self.services, self.interval = services, interval
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
                sent = run_expiry_pass(self.services)
                if sent:
                    log.info("sent %d expiry reminder(s)", len(sent))
                if self.services.workspace_clients is not None:  # OAuth mode: each workspace's board, where behind
                    run_board_pass(self.services)
            except Exception:  # a failed check must not end the loop; the next one tries again
                log.exception("the expiry check failed")
            metrics.EXPIRY_CHECKS.inc()
            delay = self.interval
