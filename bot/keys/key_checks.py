"""Key-check values: one constant sealed under each key id, stored in the database.

A key id seen for the first time gets its check value written; a known id whose configured material does not
open its check value is the wrong key, refused at start-up by name (before, the bot started and failed only at
the first decrypt of a credential). A recorded key id that is not configured here and not retired is another
instance's key: start-up refuses, naming it, rather than split the data between keys neither side can read.
`keys rotate` retires the key ids nothing is stored under any more (`keys retire ID` does it for one).
"""

from __future__ import annotations

from datetime import datetime, UTC

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import Credential, KeyCheckValue as KeyCheck, SlackInstallation
from bot.credentials.vault import KeyRing, Sealed, VaultError, associated_data
from bot.infra.secret import Secret

CHECK_TEXT = Secret("credbot key check v1")


def _aad() -> bytes:
    return associated_data(purpose="key-check")


def confirm_key_checks(sessions: sessionmaker[Session], key_ring: KeyRing) -> None:
    """Raise :class:`VaultError` naming every configured key id whose material is not the one first seen, or
    every recorded key id in use that is not configured here. Check values are written first and the recorded
    ids read after, so of two instances with different keys starting at once at most one serves; one that
    refuses takes back the check values it wrote, so it leaves nothing that would stop the other's next start."""
    wrong, written = [], []
    for key_id in key_ring.key_ids:
        stored, mine = _recorded(sessions, key_ring, key_id)
        written += [key_id] if mine else []
        if stored is not None and not _opens(key_ring, key_id, stored):
            wrong.append(key_id)
    if wrong:
        names = ", ".join(f"'{key_id}'" for key_id in wrong)
        raise VaultError(
            f"the material configured for key id {names} is not the key that id was first used "
            "with; restore the original key (a new key needs a new id)"
        )
    strangers = unconfigured_key_ids(sessions, key_ring)
    if strangers:
        _take_back(sessions, written)
        raise VaultError(not_configured(strangers))
    with sessions.begin() as session:  # encrypting under it again: instances without it must refuse once more
        session.execute(update(KeyCheck).where(KeyCheck.key_id == key_ring.primary_key_id).values(retired_at=None))


def _recorded(sessions: sessionmaker[Session], key_ring: KeyRing, key_id: str) -> tuple[bytes | None, bool]:
    """The check value recorded for ``key_id`` (written now if there was none), and whether this call wrote it."""
    with sessions() as session:
        stored = session.scalar(select(KeyCheck.check_value).where(KeyCheck.key_id == key_id))
        if stored is not None:
            return stored, False
        session.add(KeyCheck(key_id=key_id, check_value=key_ring.encrypt(CHECK_TEXT, _aad(), key_id=key_id).blob))
        try:
            session.commit()
        except IntegrityError:  # another instance wrote it first: check against theirs
            session.rollback()
            return session.scalar(select(KeyCheck.check_value).where(KeyCheck.key_id == key_id)), False
    return None, True


def not_configured(key_ids: list[str]) -> str:
    names = ", ".join(f"'{key_id}'" for key_id in key_ids)
    return (
        f"the database records encryption key id {names}, which is not configured here: another instance may be "
        "encrypting with it, and each would write what the other cannot read. Configure the same keys on every "
        "instance; if it is retired and nothing is stored under it, `credbot keys retire ID` records that"
    )


def unconfigured_key_ids(sessions: sessionmaker[Session], key_ring: KeyRing) -> list[str]:
    """Recorded key ids, not retired, that the key ring does not have."""
    with sessions() as session:
        recorded = session.scalars(select(KeyCheck.key_id).where(KeyCheck.retired_at.is_(None))).all()
    return sorted(key_id for key_id in recorded if key_id not in key_ring.key_ids)


def _take_back(sessions: sessionmaker[Session], key_ids: list[str]) -> None:
    with sessions.begin() as session:
        for key_id in key_ids:
            if not stored_under(session, key_id):
                session.execute(delete(KeyCheck).where(KeyCheck.key_id == key_id))


def stored_under(session: Session, key_id: str) -> int:
    """How many credentials and installation tokens are sealed under ``key_id``."""
    credentials = session.scalar(select(func.count()).where(Credential.encryption_key_id == key_id)) or 0
    tokens = session.scalar(
        select(func.count()).where(
            or_(SlackInstallation.bot_token_key_id == key_id, SlackInstallation.refresh_token_key_id == key_id)
        )
    )
    return credentials + (tokens or 0)


def retire_unused(sessions: sessionmaker[Session], key_ids: tuple[str, ...] | list[str]) -> list[str]:
    """Mark the recorded ``key_ids`` that nothing is stored under as retired; returns those newly retired."""
    retired = []
    with sessions.begin() as session:
        for key_id in key_ids:
            if stored_under(session, key_id):
                continue
            changed = session.execute(
                update(KeyCheck)
                .where(KeyCheck.key_id == key_id, KeyCheck.retired_at.is_(None))
                .values(retired_at=datetime.now(UTC))
            )
            retired += [key_id] if getattr(changed, "rowcount", 0) else []
    return retired


def is_recorded(sessions: sessionmaker[Session], key_id: str) -> bool:
    with sessions() as session:
        return session.scalar(select(KeyCheck.key_id).where(KeyCheck.key_id == key_id)) is not None


def _opens(key_ring: KeyRing, key_id: str, stored: bytes) -> bool:
    try:
        return key_ring.decrypt(Sealed(key_id, stored), _aad()).reveal() == CHECK_TEXT.reveal()
    except VaultError:
        return False


def unconfirmed_key_ids(sessions: sessionmaker[Session], key_ring: KeyRing) -> list[str]:
    """The configured key ids whose recorded check value their material does not open (`credbot check`); reads
    only: an id without a check value yet is not judged (serve records it on its next start)."""
    wrong = []
    with sessions() as session:
        stored = dict(session.execute(select(KeyCheck.key_id, KeyCheck.check_value)).tuples().all())
    for key_id in key_ring.key_ids:
        if key_id in stored and not _opens(key_ring, key_id, stored[key_id]):
            wrong.append(key_id)
    return wrong


def encrypted_data(sessions: sessionmaker[Session]) -> dict[str, int]:
    """What the database holds under the configured keys, by kind (credential, Slack installation, key check;
    non-zero counts only). Empty: a key made now cannot leave anything stored unreadable."""
    from sqlalchemy import func

    from bot.credentials.models import Credential, SlackInstallation

    counts = {}
    with sessions() as session:
        for label, model in (
            ("credential", Credential),
            ("Slack installation", SlackInstallation),
            ("key check", KeyCheck),
        ):
            counts[label] = session.scalar(select(func.count()).select_from(model)) or 0
    return {label: count for label, count in counts.items() if count}
