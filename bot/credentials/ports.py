"""What the core needs from outside, as protocols it owns; adapters implement them and are wired at start-up.

Nothing here imports an adapter: the provider client (bot.providers.paddle), the metrics and the log redactor
(bot.infra) implement these and are handed to the core by the wiring (bot.slack.services, bot.api).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, UTC
from typing import Protocol
from collections.abc import Callable

from bot.credentials.types import KeyCheck, KeyRotation, Outcome
from bot.infra.secret import Secret

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class KeyVerifier(Protocol):
    """Checks a key with the provider of one destination and reads the key's own record, in one call."""

    def check(self, destination: str, api_key: Secret, key_record_id: str | None) -> KeyCheck:
        """Never raises for a provider's answer or absence: every outcome is a :class:`KeyCheck`."""
        ...


class KeyRotator(Protocol):
    """Asks the provider of one destination to rotate a key, authenticated with that key (it rotates itself)."""

    def rotate(self, destination: str, api_key: Secret, key_record_id: str, grace_period_seconds: int) -> KeyRotation:
        """Never raises for a provider's answer or absence: every outcome is a :class:`KeyRotation`, with the new
        key only when the provider issued one for the same record."""
        ...


class NoRotation:
    """A KeyRotator for deployments (and scripts) whose providers cannot rotate keys."""

    def rotate(self, destination: str, api_key: Secret, key_record_id: str, grace_period_seconds: int) -> KeyRotation:
        return KeyRotation(
            Outcome.REJECTED, "not_supported", "This provider cannot rotate keys here: use Replace API key."
        )


class Observer(Protocol):
    """What the edge wants to know while the core works: counts for metrics, and secrets in flight for the
    log redactor. The core calls these; it never imports metrics or logging configuration."""

    def credential_created(self, destination: str) -> None: ...

    def key_check_failed(self, reason: str) -> None: ...

    def holding(self, secret: Secret) -> AbstractContextManager[object]: ...


class Residue(Protocol):
    """Told after a change leaves old ciphertexts behind (a replaced key, a deleted credential): the adapter
    (bot.infra.residue) makes them unreadable in the database's files, after the answer."""

    def left(self, table: str) -> None: ...


class NoScrub:
    """Residue that nobody scrubs (scripts and tests that change nothing, or scrub themselves)."""

    def left(self, table: str) -> None:
        pass


class Unobserved:
    """An observer that does nothing (scripts and tests that need no metrics)."""

    def credential_created(self, destination: str) -> None:
        pass

    def key_check_failed(self, reason: str) -> None:
        pass

    def holding(self, secret: Secret) -> AbstractContextManager[object]:
        return nullcontext()
