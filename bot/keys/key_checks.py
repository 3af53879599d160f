"""Key-check values: one constant sealed under each key id, stored in the database.

A key id seen for the first time gets its check value written; a known id whose configured material does not
open its check value is the wrong key, refused at start-up by name (before, the bot started and failed only at
the first decrypt of a credential).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import KeyCheckValue as KeyCheck
from bot.credentials.vault import KeyRing, Sealed, VaultError, associated_data
from bot.infra.secret import Secret

CHECK_TEXT = Secret("credbot key check v1")


def _aad() -> bytes:
    return associated_data(purpose="key-check")


def confirm_key_checks(sessions: sessionmaker[Session], key_ring: KeyRing) -> None:
    """Raise :class:`VaultError` naming every configured key id whose material is not the one first seen."""
    wrong = []
    for key_id in key_ring.key_ids:
        with sessions() as session:
            stored = session.scalar(select(KeyCheck.check_value).where(KeyCheck.key_id == key_id))
            if stored is None:
                session.add(
                    KeyCheck(key_id=key_id, check_value=key_ring.encrypt(CHECK_TEXT, _aad(), key_id=key_id).blob)
                )
                try:
                    session.commit()
                except IntegrityError:  # another instance wrote it first: check against theirs
                    session.rollback()
                    stored = session.scalar(select(KeyCheck.check_value).where(KeyCheck.key_id == key_id))
        if stored is not None and not _opens(key_ring, key_id, stored):
            wrong.append(key_id)
    if wrong:
        names = ", ".join(f"'{key_id}'" for key_id in wrong)
        raise VaultError(
            f"the material configured for key id {names} is not the key that id was first used "
            "with; restore the original key (a new key needs a new id)"
        )


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
