"""The audit trail: written by the core (append-only: nothing here updates or deletes), read by operators."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from collections.abc import Callable

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import AuditEvent, table_of
from bot.credentials.ports import Clock, utc_now
from bot.credentials.types import Workspace

log = logging.getLogger(__name__)


class AuditLog:
    """Appends events. ``append()`` adds one inside a caller's transaction; ``record()`` writes one on its own.
    ``defer`` (an executor's submit) lets a caller write after its answer has gone out. ``single``: sessions
    for that one-statement write without a transaction around it (on PostgreSQL, autocommit: the INSERT alone
    is atomic, and BEGIN and COMMIT were two of its three round trips)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock = utc_now,
        defer: Callable[..., object] | None = None,
        single: sessionmaker[Session] | None = None,
    ) -> None:
        self.sessions, self.clock, self.defer = sessions, clock, defer
        self.single = single

    def append(
        self,
        session: Session | Connection,
        workspace: Workspace,
        actor: str,
        action: str,
        outcome: str,
        credential_id: str | None = None,
        detail: str = "",
    ) -> None:
        """Add one event inside the caller's transaction (a Core INSERT: no unit of work to flush)."""
        session.execute(_INSERT, self.values(workspace, actor, action, outcome, credential_id, detail))

    def values(
        self,
        workspace: Workspace,
        actor: str,
        action: str,
        outcome: str,
        credential_id: str | None = None,
        detail: str = "",
    ) -> dict[str, object]:
        """One event's columns, each cut to its column's size."""
        return {
            "at": self.clock(),
            "action": action[:40],
            "outcome": outcome[:40],
            "actor": actor[:100],
            "enterprise_id": workspace.enterprise_id[:32],
            "team_id": workspace.team_id[:32],
            "credential_id": credential_id,
            "detail": detail[:1000],
        }

    def record(
        self,
        workspace: Workspace,
        actor: str,
        action: str,
        outcome: str,
        credential_id: str | None = None,
        detail: str = "",
        *,
        later: bool = False,
    ) -> None:
        """Append one event in its own transaction (``later``: after the caller's answer). Never pass a secret."""
        if later and self.defer is not None:
            self.defer(self.record, workspace, actor, action, outcome, credential_id, detail)
            return
        try:
            if self.single is not None:  # a plain connection: a Session around one INSERT only costs CPU
                with self.single.kw["bind"].begin() as connection:  # in autocommit, begin() sends nothing
                    self.append(connection, workspace, actor, action, outcome, credential_id, detail)
            else:
                with self.sessions.begin() as session:
                    self.append(session, workspace, actor, action, outcome, credential_id, detail)
        except SQLAlchemyError as error:  # an audit write must not hide the person's real answer
            log.error("audit write failed for %s/%s: %s", action, outcome, type(error).__name__)


_INSERT = insert(table_of(AuditEvent))
_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Event:
    at: datetime
    action: str
    outcome: str
    actor: str
    enterprise_id: str
    team_id: str
    credential_id: str | None
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "action": self.action,
            "outcome": self.outcome,
            "actor": self.actor,
            "enterprise_id": self.enterprise_id,
            "team_id": self.team_id,
            "credential_id": self.credential_id,
            "detail": self.detail,
        }


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w``, or an ISO date/time (UTC unless it says otherwise)."""
    now = now or datetime.now(UTC)
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: use an ISO date such as 2026-11-01 (or 2026-11-01T09:30), "
            "or a span such as 30m, 24h, 7d, 2w"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_events(
    sessions: sessionmaker[Session],
    *,
    since: datetime | None = None,
    credential_id: str | None = None,
    limit: int | None = None,
) -> list[Event]:
    """Matching events, oldest first; with ``limit``, the latest ``limit`` of them."""
    query = select(AuditEvent)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if credential_id:
        query = query.where(AuditEvent.credential_id == credential_id)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if limit:
        query = query.limit(limit)
    with sessions() as session:
        rows = session.scalars(query).all()
    events = [
        Event(
            row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC),
            row.action,
            row.outcome,
            row.actor,
            row.enterprise_id,
            row.team_id,
            row.credential_id,
            row.detail,
        )
        for row in rows
    ]
    return list(reversed(events))
