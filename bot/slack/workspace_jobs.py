"""Background work once per installed workspace, with that workspace's own bot token (OAuth mode).

A request brings its installation's token; a background job (the expiry reminders, the board's upkeep) has none, so
here each job runs once per installation in ``slack_installations``: its token unsealed by the installation store
(``find_bot``, which refreshes a rotating token under its claim first, as Bolt's authorize does for a request), a
client of its own that waits out Slack's rate limits (bot.slack.web_client.background_client), and the
workspace's settings in effect for where to send. A workspace with no usable token (uninstalled, revoked, or
tokens that do not decrypt) is skipped and said once, not on every pass, until it has one again.

Each (job, workspace) is claimed in the database (bot/credentials/job_claims.py) before it runs, so instances
running a pass at the same moment split the workspaces. Workspaces run side by side on a few threads (Slack's
limits are per method, app and workspace), and within one workspace its sends go one at a time, at most one per
second to a channel (Slack's posting limit), so a pass over many workspaces neither bursts one of them into 429s
nor waits for each in turn.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.job_claims import JobClaims
from bot.credentials.models import SlackInstallation
from bot.credentials.types import Workspace
from bot.slack.oauth.installation_store import SealedInstallationStore
from bot.slack.web_client import background_client

log = logging.getLogger(__name__)

WORKERS = 8  # workspaces handled at once by one instance
CHANNEL_SPACING = 1.0  # seconds between two messages to one channel (Slack: one per second per channel)


@dataclass(frozen=True)
class Installed:
    """One installation: a workspace's (team, with its org when it has one) or an org's (``org_wide``: no team);
    or a team an org-wide install serves (``org_wide`` with a team: the org's token, the team's settings)."""

    workspace: Workspace
    org_wide: bool
    has_token: bool

    @property
    def scope_id(self) -> str:
        return self.workspace.team_id or self.workspace.enterprise_id


def installations(sessions: sessionmaker[Session]) -> list[Installed]:
    """Every installation row, uninstalled ones (no token) included."""
    with sessions() as session:
        rows = session.execute(
            select(
                SlackInstallation.enterprise_id,
                SlackInstallation.team_id,
                SlackInstallation.is_enterprise_install,
                SlackInstallation.encrypted_bot_token.is_not(None),
            )
        ).all()
    return [
        Installed(Workspace(enterprise, "" if org_wide else team), bool(org_wide), bool(token))
        for enterprise, team, org_wide, token in rows
    ]


def with_org_teams(installed: Sequence[Installed], teams_of: dict[str, str]) -> list[Installed]:
    """``installed`` and, for each org-wide install, each team of its org that ``teams_of`` (team -> its org, for
    the teams that saved settings of their own) names: served by the org's token, with settings of their own."""
    found = list(installed)
    for org in (i for i in installed if i.org_wide and i.workspace.enterprise_id):
        for team, enterprise in sorted(teams_of.items()):
            if enterprise == org.workspace.enterprise_id and team.startswith("T"):
                found.append(Installed(Workspace(enterprise, team), True, org.has_token))
    return found


def serving(workspace: Workspace, installed: Sequence[Installed]) -> Installed | None:
    """The installation that serves a credential's workspace: its team's own, else its org's org-wide one."""
    by_scope = {(i.workspace.enterprise_id, i.workspace.team_id, i.org_wide): i for i in installed}
    return by_scope.get((workspace.enterprise_id, workspace.team_id, False)) or (
        by_scope.get((workspace.enterprise_id, "", True)) if workspace.enterprise_id else None
    )


class WorkspaceClients:
    """Each installation's client for background work; says once of each workspace it must skip."""

    def __init__(self, store: SealedInstallationStore, *, shortcuts: bool, base_url: str) -> None:
        self.store, self.shortcuts, self.base_url = store, shortcuts, base_url
        self._skipped: set[str] = set()
        self._guard = threading.Lock()

    def client_for(self, installed: Installed, job: str) -> WebClient | None:
        """A client with the installation's bot token (refreshed first when it is about to expire); None when it
        has no usable one (said once until it has one again)."""
        token, why = None, "it has no bot token (uninstalled, or its tokens were revoked)"
        if installed.has_token:
            try:
                bot = self.store.find_bot(
                    enterprise_id=installed.workspace.enterprise_id or None,
                    team_id=installed.workspace.team_id or None,
                    is_enterprise_install=installed.org_wide,
                )
                token = bot.bot_token if bot is not None else None
                why = "its bot token could not be used (refused, or could not be unsealed or refreshed)"
            except Exception as error:  # the store or Slack failed: the next pass tries again
                why = f"its bot token could not be read ({type(error).__name__})"
        if not token:
            self.skip(installed.scope_id, job, why)
            return None
        with self._guard:
            self._skipped.discard(installed.scope_id)
        return background_client(self.shortcuts, self.base_url, token)

    def skip(self, scope_id: str, job: str, why: str) -> None:
        from bot.infra import metrics  # when used: importing it here would fix its mode before `serve` chooses it

        metrics.WORKSPACES_SKIPPED.labels(job).inc()
        with self._guard:
            first = scope_id not in self._skipped
            self._skipped.add(scope_id)
        if first:
            log.warning("skipping the background work of workspace %s: %s; it resumes once it has one", scope_id, why)


def each_workspace(
    sessions: sessionmaker[Session],
    clients: WorkspaceClients,
    job: str,
    targets: Iterable[Installed],
    work: Callable[[Installed, WebClient], None],
) -> int:
    """Run ``work`` once for each of ``targets`` this instance can claim, with its client; how many it ran. A
    failure in one workspace is logged and never stops the others."""
    claims = JobClaims(sessions)
    order = list(targets)
    random.shuffle(order)  # two instances starting together meet on few workspaces, not on all of them

    def one(installed: Installed) -> bool:
        holder = claims.claim(job, installed.scope_id)
        if holder is None:
            return False  # another instance is doing it
        try:
            client = clients.client_for(installed, job)
            if client is None:
                return False
            work(installed, client)
            return True
        except Exception:
            log.exception("the %s job failed for workspace %s", job, installed.scope_id)
            return False
        finally:
            claims.release(job, installed.scope_id, holder)

    if not order:
        return 0
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(order)), thread_name_prefix=f"{job}-pass") as pool:
        return sum(pool.map(one, order))


class ChannelPace:
    """One workspace's sends in a pass: no two messages to one channel less than CHANNEL_SPACING apart."""

    def __init__(self, spacing: float = CHANNEL_SPACING, clock: Callable[[], float] = time.monotonic) -> None:
        self.spacing, self.clock = spacing, clock
        self._last: dict[str, float] = {}

    def before(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        now = self.clock()
        wait = max((self._last[c] + self.spacing - now for c in channels if c in self._last), default=0.0)
        if wait > 0:
            time.sleep(wait)
        now = self.clock()
        self._last.update(dict.fromkeys(channels, now))
