"""Reading the audit trail (written by the service, append-only: nothing here updates or deletes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import AuditEvent

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

    def as_dict(self) -> dict:
        return {"at": self.at.isoformat(), "action": self.action, "outcome": self.outcome, "actor": self.actor,
                "enterprise_id": self.enterprise_id, "team_id": self.team_id, "credential_id": self.credential_id,
                "detail": self.detail}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w``, or an ISO date/time (UTC unless it says otherwise)."""
    now = now or datetime.now(timezone.utc)
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: use an ISO date such as 2026-11-01 (or 2026-11-01T09:30), "
                         "or a span such as 30m, 24h, 7d, 2w") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_events(sessions: sessionmaker[Session], *, since: datetime | None = None, credential_id: str | None = None,
                limit: int | None = None) -> list[Event]:
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
    events = [Event(row.at if row.at.tzinfo else row.at.replace(tzinfo=timezone.utc), row.action, row.outcome,
                    row.actor, row.enterprise_id, row.team_id, row.credential_id, row.detail) for row in rows]
    return list(reversed(events))
