"""Key rotation: re-encrypt every credential under the primary key, in batches.

Each batch is its own transaction, so an interrupted run keeps what it
finished and the next run carries on where it stopped (rows still under an
old key id are simply picked up again). On PostgreSQL each batch locks its
rows with SKIP LOCKED, so a rotation can run beside live instances and even
beside another rotation without either waiting on or undoing the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import AuditEvent, Credential
from bot.credentials.service import row_binding
from bot.credentials.vault import KeyRing, Sealed, VaultError

log = logging.getLogger(__name__)

ACTOR = "cli:keys rotate"  # when the caller does not say who runs it


@dataclass
class RotationReport:
    primary_key_id: str
    rotated: int = 0
    batches: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (credential id, key id, reason)
    stopped_early: bool = False  # --max-batches reached with work left


def rotate_keys(
    sessions: sessionmaker[Session],
    key_ring: KeyRing,
    *,
    batch_size: int = 200,
    max_batches: int | None = None,
    on_batch: Callable[[int, int], None] = lambda batch, count: None,
    actor: str = ACTOR,
) -> RotationReport:
    """Move every credential not under the primary key onto it. Never decrypts to anything but memory."""
    report = RotationReport(key_ring.primary_key_id)
    unreadable: set[str] = set()  # failed this run: reported, not retried in a loop
    while True:
        if max_batches is not None and report.batches >= max_batches:
            report.stopped_early = _remaining(sessions, key_ring, unreadable) > 0
            return report
        with sessions.begin() as session:
            query = (
                select(Credential)
                .where(Credential.encryption_key_id != key_ring.primary_key_id)
                .order_by(Credential.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
            if unreadable:
                query = query.where(Credential.id.not_in(unreadable))
            rows = session.scalars(query).all()
            if not rows:
                return report
            moved = 0
            for row in rows:
                old = Sealed(row.encryption_key_id, row.encrypted_key)
                aad = row_binding(row)
                try:
                    new = key_ring.rewrap(old, aad)
                except VaultError as error:
                    unreadable.add(row.id)
                    report.failed.append((row.id, row.encryption_key_id, str(error)))
                    continue
                row.encrypted_key, row.encryption_key_id = new.blob, new.key_id
                moved += 1
            if moved:
                session.add(
                    AuditEvent(
                        action="keys.rotate",
                        outcome="rotated",
                        actor=actor,
                        enterprise_id="",
                        team_id="",
                        credential_id=None,
                        detail=f"{moved} credential(s) re-encrypted under '{key_ring.primary_key_id}'",
                    )
                )
        report.batches += 1
        report.rotated += moved
        on_batch(report.batches, moved)


def _remaining(sessions: sessionmaker[Session], key_ring: KeyRing, skip: set[str]) -> int:
    from sqlalchemy import func

    with sessions() as session:
        query = (
            select(func.count()).select_from(Credential).where(Credential.encryption_key_id != key_ring.primary_key_id)
        )
        if skip:
            query = query.where(Credential.id.not_in(skip))
        return session.scalar(query) or 0
