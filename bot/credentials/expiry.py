"""Which expiry reminders are due, and claiming them so that exactly one instance sends each (no Slack here)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import Credential, Reminder
from bot.credentials.queries import SHOWN_COLUMNS, summary_of
from bot.credentials.types import CredentialSummary, Workspace

REMIND_BEFORE = timedelta(days=7)
EXPIRES_SOON, EXPIRED = "expires_soon", "expired"
CLAIMER = f"{socket.gethostname()}:{os.getpid()}"[:64]


def due(
    sessions: sessionmaker[Session],
    now: datetime,
    lead_of: Callable[[Workspace], timedelta] | None = None,
    longest: timedelta = REMIND_BEFORE,
) -> list[tuple[CredentialSummary, str]]:
    """Credentials whose key expires within their workspace's reminder lead (``lead_of``; 7 days when not given)
    or has expired, and whose reminder nobody has claimed. ``longest``: no lead is longer (what the query reads).

    A key that has expired gets only the "expired" reminder; a revoked key gets none.
    """
    lead_of = lead_of or _standard_lead
    rows = []
    with sessions() as session:
        for kind, condition in (
            (EXPIRED, Credential.key_expires_at <= now),
            (EXPIRES_SOON, and_(Credential.key_expires_at > now, Credential.key_expires_at <= now + longest)),
        ):
            claimed = select(Reminder.id).where(
                Reminder.credential_id == Credential.id,
                Reminder.kind == kind,
                Reminder.expires_at == Credential.key_expires_at,
            )
            live = or_(Credential.key_status.is_(None), Credential.key_status != "revoked")
            query = (
                select(*SHOWN_COLUMNS)
                .where(Credential.key_expires_at.is_not(None), condition, live, ~claimed.exists())
                .order_by(Credential.key_expires_at)
            )
            rows += [(summary_of(row), kind) for row in session.execute(query).all()]
    leads: dict[Workspace, timedelta] = {}  # read once per workspace

    def within_lead(item: CredentialSummary) -> bool:
        lead = leads.get(item.workspace)
        if lead is None:
            lead = leads[item.workspace] = lead_of(item.workspace)
        return item.key_expires_at is not None and item.key_expires_at <= now + lead

    return [(item, kind) for item, kind in rows if kind == EXPIRED or within_lead(item)]


def _standard_lead(_workspace: Workspace) -> timedelta:
    return REMIND_BEFORE


def claim(sessions: sessionmaker[Session], item: CredentialSummary, kind: str, now: datetime) -> bool:
    """True for exactly one caller per (credential, kind, expiry), however many instances ask at once."""
    try:
        with sessions.begin() as session:
            session.add(
                Reminder(
                    credential_id=item.id,
                    kind=kind,
                    expires_at=item.key_expires_at,
                    claimed_at=now,
                    claimed_by=CLAIMER,
                    outcome="claimed",
                )
            )
        return True
    except IntegrityError:  # another instance claimed it, or the credential was deleted meanwhile
        return False


def record_outcome(sessions: sessionmaker[Session], item: CredentialSummary, kind: str, outcome: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.credential_id == item.id, Reminder.kind == kind, Reminder.expires_at == item.key_expires_at)
            .values(outcome=outcome[:200])
        )
