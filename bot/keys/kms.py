"""The AWS KMS envelope key ring: AES-256 data keys from KMS ``GenerateDataKey``, stored only wrapped (table
``data_keys``), unwrapped with ``Decrypt`` when the key ring is opened and then kept in memory only, so a KMS
outage after start-up does not stop the bot. Every ``Decrypt`` names CREDBOT_KMS_KEY_ID or a key listed in
CREDBOT_KMS_RETIRED_KEY_IDS; a data key wrapped by any other, or altered, is refused. Which data key encrypts is
what KMS vouched for (bot.keys.data_key_trust); every allowed data key (and any local key still configured,
while moving in or out) decrypts.

boto3 is optional (the ``aws`` extra) and configured the standard way: AWS_REGION/AWS_DEFAULT_REGION, the usual
credential chain, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_KMS. Every call has short timeouts and a bounded number
of attempts, so a start-up against an unreachable KMS fails in seconds, not minutes.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime, UTC
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import DataKey
from bot.credentials.vault import KeyMaterial, KeyRing
from bot.infra.secret import Secret
from bot.infra.settings import EncryptionKey, Settings
from bot.keys.data_key_trust import (
    REFUSED_AT_KMS,
    DataKeyRefused,
    KmsFailed,
    Unwrapped,
    new_context,
    ordered,
    stored_context,
)

DATA_KEY_PREFIX = "dk-"  # local key ids are chosen by operators; data key ids are always dk-<hex>
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 2

__all__ = ["DataKeyRefused", "EnvelopeKeys", "KmsFailed", "key_ring_for"]


def kms_client() -> Any:
    """A KMS client with boto3's standard configuration, bounded timeouts and attempts."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise KmsFailed(
            "CREDBOT_KMS_KEY_ID is set but boto3 is not installed: install the aws extra (pip install 'credbot[aws]')"
        ) from None
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    )
    logging.getLogger("botocore").setLevel(max(logging.WARNING, logging.getLogger().level))  # not "found credentials"
    # botocore reads AWS_DEFAULT_REGION only; AWS_REGION is the name the other AWS SDKs and Lambda use.
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or None
    try:
        return boto3.client("kms", config=config, region_name=region)
    except Exception as error:  # NoRegionError and friends: configuration, said in one line
        raise KmsFailed(f"AWS KMS cannot be configured: {error}") from None


def _call(
    kms_key_id: str,
    action: str,
    call: Callable[..., dict[str, Any]],
    refused: Callable[[str], Exception] | None = None,
    **kwargs: object,
) -> dict[str, Any]:
    """One KMS request; any failure becomes one line naming KMS, the action and the key id. ``refused``: what
    to raise instead when KMS refuses this ciphertext (another key's, or its blob or context altered)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**kwargs)
    except ClientError as error:
        detail = error.response.get("Error", {})
        reason = f"{detail.get('Code', 'error')}: {detail.get('Message', '')}".rstrip(": ")
        if refused is not None and detail.get("Code") in REFUSED_AT_KMS:
            raise refused(reason) from None
    except BotoCoreError as error:
        reason = str(error)
    raise KmsFailed(f"AWS KMS {action} with key '{kms_key_id}' failed: {reason}")


def _not_unwrapped(row: DataKey) -> Callable[[str], Exception]:
    return lambda reason: DataKeyRefused(row.key_id, f"KMS key '{row.kms_key_id}' does not unwrap it ({reason})")


class EnvelopeKeys:
    """The data keys of one database under one configured KMS key (and the retired ones still allowed)."""

    def __init__(
        self,
        kms_key_id: str,
        sessions: sessionmaker[Session],
        client: Any | None = None,
        retired: Sequence[str] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kms_key_id = kms_key_id
        self.retired = tuple(retired)
        self.sessions = sessions
        self.client = client or kms_client()
        self.clock = clock
        self._arns: dict[str, str] = {}

    def stored(self) -> list[DataKey]:
        """Every stored data key, newest first as the rows say (what encrypts is :meth:`unwrap_all`'s choice)."""
        with self.sessions() as session:
            return list(session.scalars(select(DataKey).order_by(DataKey.created_at.desc(), DataKey.key_id.desc())))

    def arn(self, key_id: str) -> str:
        """The ARN KMS gives a key id, key ARN or alias (DescribeKey, once per key)."""
        if key_id not in self._arns:
            answer = _call(key_id, "DescribeKey", self.client.describe_key, KeyId=key_id)
            self._arns[key_id] = answer.get("KeyMetadata", {}).get("Arn") or key_id
        return self._arns[key_id]

    @property
    def configured_arn(self) -> str:
        return self.arn(self.kms_key_id)

    def allowed_arns(self) -> set[str]:
        """CREDBOT_KMS_KEY_ID and CREDBOT_KMS_RETIRED_KEY_IDS, as ARNs: the only keys a Decrypt may name."""
        return {self.configured_arn} | {self.arn(key_id) for key_id in self.retired}

    def generate(self) -> EncryptionKey:
        """A new data key from KMS under the configured key, its creation time bound into the encryption
        context, stored wrapped; its plaintext only returned."""
        key_id = DATA_KEY_PREFIX + os.urandom(6).hex()
        now = self.clock()
        context, stored = new_context(key_id, now)
        answer = _call(
            self.kms_key_id,
            "GenerateDataKey",
            self.client.generate_data_key,
            KeyId=self.configured_arn,
            KeySpec="AES_256",
            EncryptionContext=context,
        )
        if answer["KeyId"] != self.configured_arn:
            raise KmsFailed(f"AWS KMS GenerateDataKey with key '{self.kms_key_id}' answered for '{answer['KeyId']}'")
        with self.sessions() as session:
            row = DataKey(key_id=key_id, wrapped_key=answer["CiphertextBlob"], kms_key_id=answer["KeyId"])
            row.created_at, row.encryption_context = now, stored
            session.add(row)
            session.commit()
        return EncryptionKey(key_id, Secret(base64.b64encode(answer["Plaintext"]).decode()))

    def _allowed_source(self, row: DataKey) -> dict[str, str]:
        """The row's context, once its KMS key is one a Decrypt may name (else :class:`DataKeyRefused`)."""
        context, _ = stored_context(row)
        if row.kms_key_id not in self.allowed_arns():
            raise DataKeyRefused(
                row.key_id,
                f"it is wrapped by KMS key '{row.kms_key_id}', which is neither CREDBOT_KMS_KEY_ID "
                "nor listed in CREDBOT_KMS_RETIRED_KEY_IDS",
            )
        return context

    def unwrap(self, row: DataKey) -> Unwrapped:
        """The data key in the clear, asked of the KMS key the row must be under (never one it merely names)."""
        context = self._allowed_source(row)
        _, created = stored_context(row)
        answer = _call(
            self.kms_key_id,
            f"Decrypt of data key '{row.key_id}'",
            self.client.decrypt,
            _not_unwrapped(row),
            CiphertextBlob=row.wrapped_key,
            KeyId=row.kms_key_id,
            EncryptionContext=context,
        )
        if answer.get("KeyId") != row.kms_key_id:
            raise DataKeyRefused(row.key_id, f"KMS unwrapped it with '{answer.get('KeyId')}', not its own KMS key")
        key = EncryptionKey(row.key_id, Secret(base64.b64encode(answer["Plaintext"]).decode()))
        return Unwrapped(key, created, row.kms_key_id)

    def unwrap_all(self, *, create: bool) -> list[EncryptionKey]:
        """Every data key in the clear, the one that encrypts first; a new one generated when none may encrypt
        (none yet, only keys from before migration 0012, or the newest too old) and ``create``."""
        keys, current = ordered([self.unwrap(row) for row in self.stored()], self.configured_arn, self.clock())
        if not current and create:
            return [self.generate()] + [item.key for item in keys]
        return [item.key for item in keys]

    def check_key(self) -> None:
        """The configured KMS key exists, is enabled and may be used (raises :class:`KmsFailed`)."""
        answer = _call(self.kms_key_id, "DescribeKey", self.client.describe_key, KeyId=self.kms_key_id)
        state = answer.get("KeyMetadata", {}).get("KeyState", "Enabled")
        if state != "Enabled":
            raise KmsFailed(f"AWS KMS key '{self.kms_key_id}' is {state}, not Enabled")
        self._arns[self.kms_key_id] = answer.get("KeyMetadata", {}).get("Arn") or self.kms_key_id

    def rewrap(self) -> list[tuple[str, str, str]]:
        """Re-wrap every data key under the configured KMS key (``ReEncrypt``, the plaintext never leaves KMS);
        rows are untouched. Only a data key under an allowed KMS key is re-wrapped: a planted one is refused, not
        laundered under ours. Returns (data key id, old KMS key, new KMS key) for each one changed."""
        rows = self.stored()
        contexts = [self._allowed_source(row) for row in rows]  # every row checked before any is changed
        changed = []
        for row, context in zip(rows, contexts, strict=True):
            answer = _call(
                self.kms_key_id,
                f"ReEncrypt of data key '{row.key_id}'",
                self.client.re_encrypt,
                _not_unwrapped(row),
                CiphertextBlob=row.wrapped_key,
                SourceKeyId=row.kms_key_id,
                SourceEncryptionContext=context,
                DestinationKeyId=self.configured_arn,
                DestinationEncryptionContext=context,
            )
            if answer.get("SourceKeyId", row.kms_key_id) != row.kms_key_id:
                raise DataKeyRefused(row.key_id, f"KMS re-wrapped it from '{answer['SourceKeyId']}'")
            with self.sessions() as session:
                stored = session.get_one(DataKey, row.key_id)
                stored.wrapped_key, stored.kms_key_id = answer["CiphertextBlob"], answer["KeyId"]
                session.commit()
            changed.append((row.key_id, row.kms_key_id, answer["KeyId"]))
        return changed


def envelope_key_ring(
    kms_key_id: str, settings: Settings, sessions: sessionmaker[Session], *, create: bool, local_first: bool = False
) -> KeyRing:
    """The data key that may encrypt first, then the other data keys, then any local keys still configured
    (to read rows not yet moved by `keys rotate`). With ``create``, a data key is made when none may encrypt.
    ``local_first`` puts the local keys first instead: moving back off KMS (`keys rotate --to-local`)."""
    envelope = EnvelopeKeys(kms_key_id, sessions, retired=settings.kms_retired_key_ids)
    envelope.check_key()
    data_keys: list[KeyMaterial] = list(envelope.unwrap_all(create=create))
    local = local_keys_if_any(settings)
    return KeyRing(local + data_keys if local_first else data_keys + local)


def local_keys_if_any(settings: Settings) -> list[KeyMaterial]:
    """CREDBOT_ENCRYPTION_KEYS, or the embedded default's key file when it exists; never a new key file."""
    from bot.keys.local_keys import KEY_FILE_NAME, local_keys

    if not settings.encryption_keys and not (
        settings.database_is_default and (settings.data_dir / KEY_FILE_NAME).exists()
    ):
        return []
    return list(local_keys(settings, create=False))


def key_ring_for(
    settings: Settings, sessions: sessionmaker[Session], *, create: bool, local_first: bool = False
) -> KeyRing:
    """The key ring the settings choose: envelope (CREDBOT_KMS_KEY_ID) or local."""
    from bot.keys.local_keys import load_key_ring

    if settings.kms_key_id:
        return envelope_key_ring(settings.kms_key_id, settings, sessions, create=True, local_first=local_first)
    return load_key_ring(settings, create=create)
