"""What a data key must be before Credbot uses it, decided by KMS and the operator, never by a column alone.

A data key is wrapped under KMS with the encryption context ``{"app": "credbot", "data_key_id": ID, "created":
ISO time}`` (docs/decisions/kms-trust.md). KMS checks that context at every ``Decrypt``, so a row whose id or
creation time was changed does not unwrap; the context as sent is kept in ``data_keys.encryption_context`` and
must agree with the row's ``created_at``. Which data key encrypts follows from what KMS authenticated: the newest
creation time among the data keys wrapped by ``CREDBOT_KMS_KEY_ID`` itself, and only while younger than
:data:`DATA_KEY_MAX_AGE`. A data key made before migration 0012 (no context stored) only decrypts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC

from bot.credentials.models import DataKey
from bot.credentials.vault import VaultError
from bot.infra.settings import EncryptionKey

APP_NAME = "credbot"
DATA_KEY_MAX_AGE = timedelta(days=30)  # then the next start makes a new one (older ones still decrypt)
REFUSED_AT_KMS = {"InvalidCiphertextException", "IncorrectKeyException", "AccessDeniedException"}


class KmsFailed(VaultError):
    """KMS could not be used: the message names KMS and the key id, never key material."""


class DataKeyRefused(KmsFailed):
    """A data key Credbot did not make under an allowed KMS key, or one altered since: never used.

    ``str()`` is one line naming the data key, why, and what to do."""

    def __init__(self, data_key_id: str, reason: str) -> None:
        super().__init__(
            f"data key '{data_key_id}' in the database is refused: {reason}. The database may have been tampered "
            "with: find out who wrote it; delete that data_keys row once nothing is stored under it "
            "(`credbot keys status`), or restore the row from a backup"
        )
        self.data_key_id = data_key_id


def encryption_context(data_key_id: str, created: str | None = None) -> dict[str, str]:
    """What KMS binds a wrapped data key to: its id, and (since migration 0012) when it was made."""
    context = {"app": APP_NAME, "data_key_id": data_key_id}
    if created is not None:
        context["created"] = created
    return context


def new_context(data_key_id: str, now: datetime) -> tuple[dict[str, str], str]:
    """The context for a data key made now, and its stored form (the exact JSON sent)."""
    context = encryption_context(data_key_id, now.astimezone(UTC).isoformat(timespec="microseconds"))
    return context, json.dumps(context, sort_keys=True, separators=(",", ":"))


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stored_context(row: DataKey) -> tuple[dict[str, str], datetime | None]:
    """The context to ask KMS with, and the creation time it binds (None: made before 0012, decrypt only).
    Raises :class:`DataKeyRefused` when the row cannot be what Credbot wrote."""
    if row.encryption_context is None:
        return encryption_context(row.key_id), None
    try:
        context = json.loads(row.encryption_context)
    except ValueError:
        raise DataKeyRefused(row.key_id, "its encryption context is not the JSON Credbot writes") from None
    if (
        not isinstance(context, dict)
        or set(context) != {"app", "data_key_id", "created"}
        or not all(isinstance(value, str) for value in context.values())
    ):
        raise DataKeyRefused(row.key_id, "its encryption context is not the one Credbot writes")
    if context["app"] != APP_NAME or context["data_key_id"] != row.key_id:
        raise DataKeyRefused(row.key_id, "its encryption context names another data key")
    try:
        created = aware(datetime.fromisoformat(context["created"]))
    except ValueError:
        raise DataKeyRefused(row.key_id, "its encryption context holds no creation time") from None
    if aware(row.created_at) != created:
        raise DataKeyRefused(
            row.key_id, f"its created_at was changed (KMS bound it to {created.isoformat(timespec='seconds')})"
        )
    return context, created


@dataclass(frozen=True)
class Unwrapped:
    """A data key in the clear, with what KMS vouched for: its creation time (None before 0012) and the
    ARN of the KMS key that unwrapped it."""

    key: EncryptionKey
    created: datetime | None
    kms_arn: str


def ordered(unwrapped: list[Unwrapped], configured_arn: str, now: datetime) -> tuple[list[Unwrapped], bool]:
    """The data keys, the one that may encrypt first; and whether there is one (else a new one is needed).

    Only a data key wrapped by the configured KMS key itself, with a KMS-bound creation time no older than
    :data:`DATA_KEY_MAX_AGE`, may encrypt: the newest such. The rest only decrypt, newest first."""
    eligible = [
        item
        for item in unwrapped
        if item.created is not None and item.kms_arn == configured_arn and now - item.created <= DATA_KEY_MAX_AGE
    ]
    epoch = datetime.min.replace(tzinfo=UTC)
    rest = sorted(unwrapped, key=lambda item: (item.created or epoch, item.key.key_id), reverse=True)
    if not eligible:
        return rest, False
    primary = max(eligible, key=lambda item: (item.created or epoch, item.key.key_id))
    return [primary] + [item for item in rest if item is not primary], True
