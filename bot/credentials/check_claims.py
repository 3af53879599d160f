"""Provider checks claimed in the database, so that every instance shares one set of limits: a person's allowance
of checks per window, one check of a subject (a credential, a wizard's modal) at a time, and a ceiling on the
checks in flight for a provider across the deployment.

A claim is one short transaction of two statements. The first deletes the provider's rows too old to count and
takes the provider's lock: on PostgreSQL a transaction-level advisory lock (per provider and schema, in the same
statement), on SQLite the database's write lock, which the delete takes and which every process on the file
shares. The second inserts the check's row only if every limit allows it, the conditions read by that INSERT …
SELECT after the lock, so two instances never both take the last place. A check that finished clears
``running_until``; one whose process died keeps its subject and its place in flight only until its lease ends,
and every row is deleted once older than both the window and the lease: the table holds minutes of checks.
Times are the claiming process's clock (UTC), as the board's claims are: instances' clocks are assumed in step.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, DateTime, Engine, Integer, String, TextClause, bindparam, column, text

from bot.credentials.models import utcnow

# The statements below are on the table of models.ProviderCheck (its migration: 0011).
WHEN = DateTime(timezone=True)
_TYPES: dict[str, Any] = {
    **dict.fromkeys(("now", "since", "horizon", "started_at", "running_until"), WHEN),
    **dict.fromkeys(("id", "claim_id", "provider", "enterprise_id", "team_id", "actor", "subject"), String()),
    **dict.fromkeys(("per_person", "in_flight", "key"), BigInteger()),
}


def _sql(statement: str) -> TextClause:
    """A statement as text: SQLAlchemy hashes only its text to find the compiled form (the same statement as a Core
    expression cost three times the CPU, most of it walking the expression for its cache key). Each value is bound
    with its type: PostgreSQL is told each parameter's (one parameter is used in several places), and SQLite gets
    times as the text SQLAlchemy stores there."""
    names = re.findall(r"(?<!:):([a-z_]+)", statement)
    return text(statement).bindparams(*[bindparam(name, type_=_TYPES[name]) for name in dict.fromkeys(names)])


_PURGE = "DELETE FROM provider_checks WHERE provider = :provider AND started_at < :horizon"
_PURGE_SQLITE = _sql(_PURGE)
# PostgreSQL: the lock per provider and schema (tests, and some deployments, keep several schemas in a database),
# taken in the statement that purges (one round trip): the rows it deletes count for nothing anyway.
_PURGE_AND_LOCK = _sql(
    f"WITH purged AS ({_PURGE} RETURNING id) SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), :key))"
)
_THEIRS = (
    "provider = :provider AND enterprise_id = :enterprise_id AND team_id = :team_id AND actor = :actor "
    "AND started_at > :since"
)
_RUNNING = "provider = :provider AND running_until > :now"
_GRANT = _sql(
    "INSERT INTO provider_checks (id, provider, enterprise_id, team_id, actor, subject, started_at, running_until) "
    "SELECT :id, :provider, :enterprise_id, :team_id, :actor, :subject, :started_at, :running_until "
    f"WHERE NOT EXISTS (SELECT 1 FROM provider_checks WHERE {_RUNNING} AND subject = :subject) "
    f"AND (SELECT count(*) FROM provider_checks WHERE {_THEIRS}) < :per_person "
    f"AND (SELECT count(*) FROM provider_checks WHERE {_RUNNING}) < :in_flight "
    "RETURNING id"
)
_RELEASE = _sql("UPDATE provider_checks SET running_until = NULL WHERE id = :claim_id")
_HOW_RUNNING = _sql(f"SELECT count(*) FROM provider_checks WHERE {_RUNNING} AND subject = :subject")
_HOW_MANY = _sql(f"SELECT min(started_at), count(*) FROM provider_checks WHERE {_THEIRS}").columns(
    column("min", WHEN), column("count", Integer)
)


@dataclass(frozen=True)
class CheckLimits:
    per_person: int  # checks a person may start per provider in any ``window``
    window: timedelta
    in_flight: int  # checks of one provider running or waiting for their turn, across every instance
    lease: timedelta  # a claim never released (its process died) frees its subject and its place after this


@dataclass(frozen=True)
class Person:
    enterprise_id: str
    team_id: str
    actor: str


@dataclass(frozen=True)
class Refused:
    """Why a claim was refused: "running" (the subject is being checked), "allowance" (the person's checks of the
    window are spent; ``wait`` seconds until the oldest leaves it) or "in_flight" (the provider's ceiling)."""

    reason: str
    wait: float = 0.0


class CheckClaims:
    def __init__(self, engine: Engine, limits: CheckLimits, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.limits, self.clock = engine, limits, clock
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    def claim(self, person: Person, provider: str, subject: str) -> str | Refused:
        """The new claim's id, or why it was refused."""
        now, limits, claim_id = self.clock(), self.limits, secrets.token_hex(16)
        values = {
            "provider": provider,
            "enterprise_id": person.enterprise_id,
            "team_id": person.team_id,
            "actor": person.actor,
            "subject": subject,
            "now": now,
            "since": now - limits.window,
        }
        with self.engine.begin() as connection:
            self._lock(connection, provider, now)
            grant = {"id": claim_id, "started_at": now, "running_until": now + limits.lease}
            limit = {"per_person": limits.per_person, "in_flight": limits.in_flight}
            if connection.execute(_GRANT, values | grant | limit).first() is not None:
                return claim_id
            return self._refusal(connection, values)

    def release(self, claim_id: str) -> None:
        """The provider has answered: the subject is free and the place in flight too (the row stays, counted in
        its person's allowance until it leaves the window)."""
        with self._autocommit.connect() as connection:
            connection.execute(_RELEASE, {"claim_id": claim_id})

    def _lock(self, connection: Connection, provider: str, now: datetime) -> None:
        """Serialise the provider's claims across processes, deleting what is too old to count first."""
        purge = {"provider": provider, "horizon": now - max(self.limits.window, self.limits.lease)}
        if connection.dialect.name != "postgresql":
            connection.execute(_PURGE_SQLITE, purge)  # SQLite: this takes the write lock, held until the claim commits
            return
        connection.execute(_PURGE_AND_LOCK, purge | {"key": _lock_key(provider)})

    def _refusal(self, connection: Connection, values: dict[str, Any]) -> Refused:
        if connection.execute(_HOW_RUNNING, values).scalar_one():
            return Refused("running")
        oldest, count = connection.execute(_HOW_MANY, values).one()
        if count >= self.limits.per_person and oldest is not None:
            now = values["now"]
            started = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)  # SQLite gives naive UTC
            return Refused("allowance", (started + self.limits.window - now).total_seconds())
        return Refused("in_flight")


def _lock_key(provider: str) -> int:
    digest = hashlib.sha256(f"credbot.provider_checks:{provider}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
