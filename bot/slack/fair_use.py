"""Fair use of provider checks: one check per credential at a time, a per-person rate for each provider, and a
pool of their own. Which provider a check goes to, and its name in the answers, come from the catalog.

Test connection is open to every viewer, and each check can wait seconds on the provider. Without limits, 40
clicks with a slow Paddle made ~80 Paddle calls and filled the listener threads, so another person's
/create-credential waited past Slack's 3-second trigger. Now a check runs on a small pool of its own with a
bounded queue (the listener threads stay free for opening modals, paging and the Home tab), a second check of
the same credential is answered "already running", and each person may start a few checks a minute.

The limits are per process: with several instances a person gets each instance's allowance, which still
bounds the load by the number of instances.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from bot.credentials import catalog
from bot.credentials.types import Workspace
from bot.slack.server.answer_first import AnswerFirstExecutor

log = logging.getLogger(__name__)

CHECKS_PER_PERSON = 6
WINDOW_SECONDS = 60.0
CLAIM_EXPIRES_SECONDS = 120.0  # a check that never reported back (a crash) frees its credential after this
PROVIDER_WORKERS = 4
PROVIDER_QUEUE = 16


def already_running(destination: str) -> str:
    return (
        "A check of this credential is already running; its result will appear when "
        f"{catalog.provider_label(destination)} answers."
    )


def busy(destination: str) -> str:
    return (
        f"{catalog.provider_label(destination)} checks are queued up right now; nothing was changed. Try again in a "
        "minute."
    )


def too_many(wait: float, destination: str) -> str:
    return (
        f"You have started {CHECKS_PER_PERSON} {catalog.provider_label(destination)} checks in the last minute; "
        f"wait {max(1, round(wait))} s and try again."
    )


def _provider(destination: str) -> str:
    """Whose allowance a check uses: the destination's provider, from the catalog (a removed one's own value)."""
    found = catalog.destination(destination)
    return found.provider if found else destination


class FairUse:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        per_person: int = CHECKS_PER_PERSON,
        window: float = WINDOW_SECONDS,
        workers: int = PROVIDER_WORKERS,
        queue: int = PROVIDER_QUEUE,
    ) -> None:
        self.clock, self.per_person, self.window = clock, per_person, window
        self._lock = threading.Lock()
        self._attempts: dict[tuple[str, str, str, str], deque[float]] = {}
        self._running: dict[str, float] = {}
        self._pool = AnswerFirstExecutor(max_workers=workers, thread_name_prefix="provider-check")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def claim(self, workspace: Workspace, actor: str, credential_id: str, destination: str) -> str | None:
        """Reserve a check of ``credential_id`` (of ``destination``) for ``actor``; None when granted, else what
        to tell them. The per-person rate is counted per provider."""
        now = self.clock()
        key = (workspace.enterprise_id, workspace.team_id, actor, _provider(destination))
        with self._lock:
            if self._running.get(credential_id, 0.0) > now:
                return already_running(destination)
            recent = self._attempts.setdefault(key, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.per_person:
                return too_many(recent[0] + self.window - now, destination)
            recent.append(now)
            self._running[credential_id] = now + CLAIM_EXPIRES_SECONDS
            return None

    def release(self, credential_id: str) -> None:
        with self._lock:
            self._running.pop(credential_id, None)

    def run(self, credential_id: str, work: Callable[[], None]) -> bool:
        """Run ``work`` on the checks' pool, releasing the claim after; False (claim released) when it is full."""
        if not self._slots.acquire(blocking=False):
            self.release(credential_id)
            log.warning(
                "provider check refused: %d checks already running or queued", PROVIDER_WORKERS + PROVIDER_QUEUE
            )
            return False

        def job() -> None:
            try:
                work()
            except Exception:
                log.exception("a provider check failed unexpectedly")
            finally:
                self.release(credential_id)
                self._slots.release()

        self._pool.submit(job)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the checks under way have finished; False on timeout."""
        return self._pool.wait_idle(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
