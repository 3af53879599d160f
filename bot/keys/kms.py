"""The AWS KMS envelope key ring: AES-256 data keys from KMS ``GenerateDataKey``, stored only wrapped (table
``data_keys``), unwrapped with ``Decrypt`` when the key ring is opened and then kept in memory only, so a KMS
outage after start-up does not stop the bot. The newest data key encrypts; every data key (and any local key
still configured, while moving in or out) decrypts.

boto3 is optional (the ``aws`` extra) and configured the standard way: AWS_REGION/AWS_DEFAULT_REGION, the usual
credential chain, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_KMS. Every call has short timeouts and a bounded number
of attempts, so a start-up against an unreachable KMS fails in seconds, not minutes.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import DataKey
from bot.credentials.vault import KeyMaterial, KeyRing, VaultError
from bot.infra.secret import Secret
from bot.infra.settings import EncryptionKey, Settings

APP_NAME = "credbot"
DATA_KEY_PREFIX = "dk-"  # local key ids are chosen by operators; data key ids are always dk-<hex>
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 2


class KmsFailed(VaultError):
    """KMS could not be used: the message names KMS and the key id, never key material."""


def encryption_context(data_key_id: str) -> dict[str, str]:
    """What KMS binds a wrapped data key to: a blob moved to another id or app does not unwrap."""
    return {"app": APP_NAME, "data_key_id": data_key_id}


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


def _call(kms_key_id: str, action: str, call: Callable[..., dict[str, Any]], **kwargs: object) -> dict[str, Any]:
    """One KMS request; any failure becomes one line naming KMS, the action and the key id."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**kwargs)
    except ClientError as error:
        detail = error.response.get("Error", {})
        reason = f"{detail.get('Code', 'error')}: {detail.get('Message', '')}".rstrip(": ")
    except BotoCoreError as error:
        reason = str(error)
    raise KmsFailed(f"AWS KMS {action} with key '{kms_key_id}' failed: {reason}")


class EnvelopeKeys:
    """The data keys of one database under one configured KMS key."""

    def __init__(self, kms_key_id: str, sessions: sessionmaker[Session], client: Any | None = None) -> None:
        self.kms_key_id = kms_key_id
        self.sessions = sessions
        self.client = client or kms_client()

    def stored(self) -> list[DataKey]:
        """Every stored data key, newest first."""
        with self.sessions() as session:
            return list(session.scalars(select(DataKey).order_by(DataKey.created_at.desc(), DataKey.key_id.desc())))

    def generate(self) -> EncryptionKey:
        """A new data key from KMS, stored wrapped; its plaintext only returned."""
        key_id = DATA_KEY_PREFIX + os.urandom(6).hex()
        answer = _call(
            self.kms_key_id,
            "GenerateDataKey",
            self.client.generate_data_key,
            KeyId=self.kms_key_id,
            KeySpec="AES_256",
            EncryptionContext=encryption_context(key_id),
        )
        with self.sessions() as session:
            session.add(DataKey(key_id=key_id, wrapped_key=answer["CiphertextBlob"], kms_key_id=answer["KeyId"]))
            session.commit()
        return EncryptionKey(key_id, Secret(base64.b64encode(answer["Plaintext"]).decode()))

    def unwrap(self, row: DataKey) -> EncryptionKey:
        answer = _call(
            self.kms_key_id,
            f"Decrypt of data key '{row.key_id}'",
            self.client.decrypt,
            CiphertextBlob=row.wrapped_key,
            KeyId=row.kms_key_id,
            EncryptionContext=encryption_context(row.key_id),
        )
        return EncryptionKey(row.key_id, Secret(base64.b64encode(answer["Plaintext"]).decode()))

    def unwrap_all(self, *, create: bool) -> list[EncryptionKey]:
        """Every data key in the clear (newest first); the first one generated when there is none and ``create``."""
        rows = self.stored()
        if not rows and not create:
            return []
        if not rows:
            # Confirm the key is usable before the first GenerateDataKey names it in a failure of its own.
            _call(self.kms_key_id, "DescribeKey", self.client.describe_key, KeyId=self.kms_key_id)
            return [self.generate()]
        return [self.unwrap(row) for row in rows]

    def check_key(self) -> None:
        """The configured KMS key exists, is enabled and may be used (raises :class:`KmsFailed`)."""
        answer = _call(self.kms_key_id, "DescribeKey", self.client.describe_key, KeyId=self.kms_key_id)
        state = answer.get("KeyMetadata", {}).get("KeyState", "Enabled")
        if state != "Enabled":
            raise KmsFailed(f"AWS KMS key '{self.kms_key_id}' is {state}, not Enabled")

    def rewrap(self) -> list[tuple[str, str, str]]:
        """Re-wrap every data key under the configured KMS key (``ReEncrypt``, the plaintext never leaves KMS);
        rows are untouched. Returns (data key id, old KMS key, new KMS key) for each one changed."""
        changed = []
        for row in self.stored():
            context = encryption_context(row.key_id)
            answer = _call(
                self.kms_key_id,
                f"ReEncrypt of data key '{row.key_id}'",
                self.client.re_encrypt,
                CiphertextBlob=row.wrapped_key,
                SourceKeyId=row.kms_key_id,
                SourceEncryptionContext=context,
                DestinationKeyId=self.kms_key_id,
                DestinationEncryptionContext=context,
            )
            with self.sessions() as session:
                stored = session.get_one(DataKey, row.key_id)
                stored.wrapped_key, stored.kms_key_id = answer["CiphertextBlob"], answer["KeyId"]
                session.commit()
            changed.append((row.key_id, row.kms_key_id, answer["KeyId"]))
        return changed


def envelope_key_ring(
    kms_key_id: str, settings: Settings, sessions: sessionmaker[Session], *, create: bool, local_first: bool = False
) -> KeyRing:
    """The newest data key first (it encrypts), then older data keys, then any local keys still configured
    (to read rows not yet moved by `keys rotate`). With ``create``, the first data key is made on first use.
    ``local_first`` puts the local keys first instead: moving back off KMS (`keys rotate --to-local`)."""
    envelope = EnvelopeKeys(kms_key_id, sessions)
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
