"""The daily look at every stored key, in the background of each instance (docs/decisions/daily-key-look.md).

Once a day per deployment each credential's key record is read with its provider (bot.credentials.key_look: Paddle's
``GET /api-keys/{id}``, which gives status, expiry, last use, permissions and whether it can be rotated; a legacy
key without an id is checked on the existing call and its last use stays unknown). The loop wakes ROUNDS_A_DAY
times a day and each round looks at its share of the keys, those looked at longest ago first, LOOK_WORKERS at a
time: the day's requests to the provider are spread over the day, not sent at one instant. Each look is claimed in
the database, so instances share the keys and none is looked at twice in a day.

What people hear of: a key the provider now refuses (or whose record newly says revoked) is an urgent alert in its
workspace's notification channels, like a revocation notification, once; a change of a key's status redraws the
board and the Credentials tab of those of the workspace who opened it. A provider that does not answer changes
nothing (logged, counted in ``credbot_key_looks_total{outcome="unavailable"}``); the key is looked at again on a
later round. ``python -m bot credentials look [--now …]`` runs one pass over every key due, by hand.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.credentials.key_look import KeyLook, Looked
from bot.credentials.ports import utc_now
from bot.credentials.types import Workspace
from bot.infra import metrics
from bot.slack.broadcast import key_alerts
from bot.slack.ui import channel_messages

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
ROUNDS_A_DAY = 96  # a round every 15 minutes: each looks at about 1/96 of the keys
LOOK_WORKERS = 4  # keys looked at once by one instance (each a request to the provider)
ALERTS = {"refused": channel_messages.REFUSED_ALERT, "revoked": channel_messages.REVOKED_ALERT}


def run_look_pass(
    services: Services, *, interval: timedelta = DAY, share: float | None = None, now: datetime | None = None
) -> list[Looked]:
    """Look at the keys not looked at within ``interval``: every one of them, or (``share``, a round of the loop)
    at most that fraction of all stored keys, rounded up; then tell people what changed. Returns the looks this
    instance made (not those another instance claimed first)."""
    if not services.settings.verify_keys:
        log.info("the daily look is off: CREDBOT_VERIFY_KEYS=false (keys are not checked with their provider)")
        return []
    look = KeyLook(services.credentials, (lambda: now) if now is not None else utc_now)
    due, total = look.due(interval)
    if share is not None:
        due = due[: math.ceil(total * share)]
    if not due:
        return []
    with ThreadPoolExecutor(max_workers=min(LOOK_WORKERS, len(due)), thread_name_prefix="key-look") as pool:
        looks = [found for found in pool.map(lambda i: _one(services, look, i, interval), due) if found is not None]
    _redraw(services, looks)
    return looks


def _one(services: Services, look: KeyLook, credential_id: str, interval: timedelta) -> Looked | None:
    """One key's look and its alert; a failure is logged and never stops the others."""
    try:
        looked = look.look(credential_id, interval)
    except Exception:
        log.exception("the daily look at credential %s failed", credential_id)
        return None
    if looked is None:
        return None
    metrics.KEY_LOOKS.labels(looked.outcome).inc()
    if looked.alert is not None:
        try:
            key_alerts.alert(services, looked.credential, ALERTS[looked.alert])
        except Exception:
            log.exception("the alert for credential %s failed", credential_id)
    return looked


def _redraw(services: Services, looks: Sequence[Looked]) -> None:
    """Each workspace where a key's status changed: its board (an alert redrew it already) and open tabs, once."""
    changed: dict[Workspace, bool] = {}
    for looked in looks:
        if looked.status_changed or looked.alert:
            workspace = looked.credential.workspace
            changed[workspace] = changed.get(workspace, False) or looked.alert is not None
    for workspace, alerted in changed.items():
        try:
            if not alerted:
                key_alerts.redraw_board(services, workspace)
            key_alerts.redraw_tabs(services, workspace)
        except Exception:
            log.exception("redrawing after the daily look failed for workspace %s", workspace.team_id)


def start_daily_look(services: Services) -> KeyLookLoop:
    """The loop, started: what ``serve`` hands Services.start_background."""
    return KeyLookLoop(services).start()


class KeyLookLoop:
    """Runs a round of the look every ``interval / rounds`` in a daemon thread, until stopped."""

    def __init__(self, services: Services, interval: timedelta = DAY, rounds: int = ROUNDS_A_DAY) -> None:
        self.services, self.interval, self.rounds = services, interval, rounds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="key-look", daemon=True)

    def start(self) -> KeyLookLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        every = self.interval.total_seconds() / self.rounds
        # A key looked at a little after its round is due again at the same round the next day, not one round later.
        within = self.interval - timedelta(seconds=every / 2)
        # The first round comes a round after start: an instance restarted often (deploys, a crash loop) does not
        # burst its rounds.
        while not self._stop.wait(every):
            try:
                looks = run_look_pass(self.services, interval=within, share=1 / self.rounds)
                if looks:
                    log.info("looked at %d key(s) with their provider", len(looks))
            except Exception:  # a failed round must not end the loop; the next one tries again
                log.exception("a round of the daily key look failed")
