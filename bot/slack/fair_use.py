"""Fair use of Paddle checks: one check per credential at a time, a per-person rate, and a pool of their own.

Test connection is open to every viewer, and each check can wait seconds on Paddle. Without limits, 40 clicks
with a slow Paddle made ~80 Paddle calls and filled the listener threads, so another person's
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

from bot.credentials.types import Workspace
from bot.slack.answer_first import AnswerFirstExecutor

log = logging.getLogger(__name__)

CHECKS_PER_PERSON = 6
WINDOW_SECONDS = 60.0
CLAIM_EXPIRES_SECONDS = 120.0  # a check that never reported back (a crash) frees its credential after this
PROVIDER_WORKERS = 4
PROVIDER_QUEUE = 16

ALREADY_RUNNING = "A check of this credential is already running; its result will appear when Paddle answers."
BUSY = "Paddle checks are queued up right now; nothing was changed. Try again in a minute."


def too_many(wait: float) -> str:
    return (
        f"You have started {CHECKS_PER_PERSON} Paddle checks in the last minute; wait {max(1, round(wait))} s "
        "and try again."
    )


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
        self._attempts: dict[tuple[str, str, str], deque[float]] = {}
        self._running: dict[str, float] = {}
        self._pool = AnswerFirstExecutor(max_workers=workers, thread_name_prefix="paddle")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def claim(self, workspace: Workspace, actor: str, credential_id: str) -> str | None:
        """Reserve a check of ``credential_id`` for ``actor``; None when granted, else what to tell them."""
        now = self.clock()
        with self._lock:
            if self._running.get(credential_id, 0.0) > now:
                return ALREADY_RUNNING
            recent = self._attempts.setdefault((workspace.enterprise_id, workspace.team_id, actor), deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.per_person:
                return too_many(recent[0] + self.window - now)
            recent.append(now)
            self._running[credential_id] = now + CLAIM_EXPIRES_SECONDS
            return None

    def release(self, credential_id: str) -> None:
        with self._lock:
            self._running.pop(credential_id, None)

    def run(self, credential_id: str, work: Callable[[], None]) -> bool:
        """Run ``work`` on the Paddle pool, releasing the claim after; False (claim released) when it is full."""
        if not self._slots.acquire(blocking=False):
            self.release(credential_id)
            log.warning("Paddle check refused: %d checks already running or queued", PROVIDER_WORKERS + PROVIDER_QUEUE)
            return False

        def job() -> None:
            try:
                work()
            except Exception:
                log.exception("a Paddle check failed unexpectedly")
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
