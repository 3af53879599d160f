"""Fair use of provider checks: Test connection, Replace API key and the wizard's final stage each check a key with
the provider, and each runs under the same limits. Which provider a check goes to, and its name in the answers,
come from the catalog.

Each check can wait seconds on the provider. Without limits, 40 Test clicks (or 40 final submissions) with a slow
Paddle filled the listener threads, so another person's /create-credential waited past Slack's 3-second
trigger. Now a check is claimed before it is accepted: in the database (bot/credentials/check_claims.py, shared by
every instance and every worker) one check of a credential or modal at a time, a few checks a minute per person,
and a ceiling on the checks in flight for the provider; in this process a place on a small pool of its own with
a bounded queue, so the listener threads stay free for opening modals, paging and the Home tab. A refused claim
is answered at once, in the modal, with nothing changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.credentials import catalog
from bot.credentials.check_claims import CheckClaims, CheckLimits, Person, Refused
from bot.credentials.types import Workspace
from bot.slack.server.answer_first import AnswerFirstExecutor

log = logging.getLogger(__name__)

CHECKS_PER_PERSON = 6  # per minute: CREDBOT_PROVIDER_CHECKS_PER_MINUTE's default
WINDOW_SECONDS = 60.0
CLAIM_EXPIRES_SECONDS = 120.0  # a check that never reported back (its process died) frees its credential after this
PROVIDER_WORKERS = 4
PROVIDER_QUEUE = 16
IN_FLIGHT = PROVIDER_WORKERS + PROVIDER_QUEUE  # per provider, across every instance: one pool's worth
RESERVATION_SECONDS = 60.0  # a place taken by a claim whose work never came (a listener that failed) is given back


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


def too_many(wait: float, destination: str, limit: int = CHECKS_PER_PERSON) -> str:
    return (
        f"You have started {limit} {catalog.provider_label(destination)} checks in the last minute; "
        f"wait {max(1, round(wait))} s and try again."
    )


def unavailable(destination: str) -> str:
    return (
        f"Credbot could not start the {catalog.provider_label(destination)} check (its database did not answer); "
        "nothing was changed. Try again in a minute."
    )


def _provider(destination: str) -> str:
    """Whose allowance a check uses: the destination's provider, from the catalog (a removed one's own value)."""
    found = catalog.destination(destination)
    return found.provider if found else destination


def default_limits(per_person: int = CHECKS_PER_PERSON) -> CheckLimits:
    return CheckLimits(
        per_person=per_person,
        window=timedelta(seconds=WINDOW_SECONDS),
        in_flight=IN_FLIGHT,
        lease=timedelta(seconds=CLAIM_EXPIRES_SECONDS),
    )


class FairUse:
    """The limits in the database (``claims``) and this process's pool for the checks."""

    def __init__(
        self,
        claims: CheckClaims,
        *,
        workers: int = PROVIDER_WORKERS,
        queue: int = PROVIDER_QUEUE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.claims, self.capacity, self.clock = claims, workers + queue, clock
        self._lock = threading.Lock()
        self._claimed: dict[str, str] = {}  # subject -> its claim's id, until released
        self._reserved: dict[str, float] = {}  # subject -> when its place on the pool was taken, until it runs
        self._active = 0  # work handed to the pool and not finished
        self._pool = AnswerFirstExecutor(max_workers=workers, thread_name_prefix="provider-check")

    @classmethod
    def on(cls, engine: Engine, per_person: int = CHECKS_PER_PERSON) -> FairUse:
        return cls(CheckClaims(engine, default_limits(per_person)))

    def claim(self, workspace: Workspace, actor: str, subject: str, destination: str) -> str | None:
        """Reserve a check of ``subject`` (a credential id, or a wizard's modal) of ``destination`` for ``actor``,
        and a place on the pool for it; None when granted, else what to tell them. Granted claims are ended by
        ``run`` (after the work) or ``release``; one whose work never comes gives its place back by itself."""
        with self._lock:
            if subject in self._claimed:
                return already_running(destination)
            room, lapsed = self._room()
            if room:
                self._claimed[subject], self._reserved[subject] = "", self.clock()
        self._release_claims(lapsed)
        if not room:
            log.warning("provider check refused: %d checks already running or queued here", self.capacity)
            return busy(destination)
        person = Person(workspace.enterprise_id, workspace.team_id, actor)
        try:
            outcome = self.claims.claim(person, _provider(destination), subject)
        except SQLAlchemyError as error:
            log.warning("provider check refused: its claim could not be stored (%s)", type(error).__name__)
            outcome = Refused("database")
        with self._lock:
            if isinstance(outcome, str):
                self._claimed[subject] = outcome
                return None
            self._claimed.pop(subject, None)
            self._reserved.pop(subject, None)
        return _answer(outcome, destination, self.claims.limits.per_person)

    def run(self, subject: str, work: Callable[[], None]) -> bool:
        """Run ``work`` on the checks' pool in the place ``claim`` reserved, releasing the claim after; False (the
        claim released) when there is no place for it (the reservation lapsed and the pool is full)."""
        lapsed: list[str] = []
        with self._lock:
            placed = self._reserved.pop(subject, None) is not None
            if not placed:
                placed, lapsed = self._room()
            if placed:
                self._active += 1
        self._release_claims(lapsed)
        if not placed:
            self.release(subject)
            log.warning("provider check refused: %d checks already running or queued here", self.capacity)
            return False

        def job() -> None:
            try:
                work()
            except Exception:
                log.exception("a provider check failed unexpectedly")
            finally:
                self.release(subject)
                with self._lock:
                    self._active -= 1

        self._pool.submit(job)
        return True

    def release(self, subject: str) -> None:
        """The provider has answered (or the check will not happen): the next check of ``subject`` may start."""
        with self._lock:
            claim_id = self._claimed.pop(subject, None)
            self._reserved.pop(subject, None)
        self._release_claims([claim_id] if claim_id else [])

    def _room(self) -> tuple[bool, list[str]]:
        """Whether the pool takes one more, after giving back the places of claims whose work never came (their
        claims' ids returned, to release once the lock is let go). Under the lock."""
        stale, lapsed = self.clock() - RESERVATION_SECONDS, []
        for subject, at in list(self._reserved.items()):
            if at < stale:
                del self._reserved[subject]
                lapsed.append(self._claimed.pop(subject, ""))
        return len(self._reserved) + self._active < self.capacity, [claim for claim in lapsed if claim]

    def _release_claims(self, claim_ids: list[str]) -> None:
        for claim_id in claim_ids:
            try:
                self.claims.release(claim_id)
            except SQLAlchemyError as error:  # its lease frees it
                log.warning("a provider check's claim could not be released (%s)", type(error).__name__)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the checks under way have finished; False on timeout."""
        return self._pool.wait_idle(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _answer(refused: Refused, destination: str, per_person: int) -> str:
    if refused.reason == "running":
        return already_running(destination)
    if refused.reason == "allowance":
        return too_many(refused.wait, destination, per_person)
    if refused.reason == "in_flight":
        return busy(destination)
    return unavailable(destination)
