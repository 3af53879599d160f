"""AES-256-GCM key ring: encrypt, decrypt, rewrap.

Every ciphertext is stored with the id of the key that made it, so keys can
be rotated without downtime: the first key encrypts, every configured key
decrypts. Stored form: 1 version byte, 12-byte random nonce, ciphertext+tag.
The associated data binds a ciphertext to its row; copied into another row
it no longer decrypts.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from typing import Protocol
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.infra.secret import Secret

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
NONCE_BYTES = 12


class VaultError(Exception):
    """Encryption or decryption failed; the message names the key id, never key material."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes


def associated_data(**fields: str) -> bytes:
    """Canonical bytes for the fields a ciphertext is bound to."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


class KeyMaterial(Protocol):
    # Read-only members: the settings' keys are frozen dataclasses, and the ring never changes a key.
    @property
    def key_id(self) -> str: ...

    @property
    def material(self) -> Secret: ...  # the 32 raw bytes, base64 encoded


class KeyRing:
    """AES-256-GCM under named keys: the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[KeyMaterial]) -> None:
        if not keys:
            raise VaultError("no encryption key is configured")
        raw = {k.key_id: base64.b64decode(k.material.reveal()) for k in keys}
        _refuse_weak_or_repeated(raw)
        self._ciphers = {key_id: AESGCM(material) for key_id, material in raw.items()}
        self.primary_key_id = keys[0].key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def encrypt(self, secret: Secret, aad: bytes, *, key_id: str | None = None) -> Sealed:
        """Encrypt under the primary key (or the named one) with a fresh 96-bit nonce."""
        key_id = key_id or self.primary_key_id
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._ciphers[key_id].encrypt(nonce, secret.reveal().encode(), self._aad(key_id, aad))
        return Sealed(key_id, bytes([FORMAT_VERSION]) + nonce + ciphertext)

    def decrypt(self, sealed: Sealed, aad: bytes) -> Secret:
        """Decrypt; raises :class:`VaultError` naming the key id on any failure."""
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise VaultError(
                f"encryption key '{sealed.key_id}' is not configured; add it back to CREDBOT_ENCRYPTION_KEYS "
                f"(configured: {', '.join(self._ciphers)})"
            )
        blob = sealed.blob
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
            raise VaultError(f"ciphertext under key '{sealed.key_id}' is malformed or of an unknown format")
        try:
            plain = cipher.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], self._aad(sealed.key_id, aad))
        except InvalidTag:
            raise VaultError(
                f"ciphertext does not decrypt with key '{sealed.key_id}': the key is wrong or the data "
                "was altered or moved from another credential"
            ) from None
        return Secret(plain.decode())

    def rewrap(self, sealed: Sealed, aad: bytes) -> Sealed:
        """Re-encrypt under the primary key (key rotation)."""
        if sealed.key_id == self.primary_key_id:
            return sealed
        return self.encrypt(self.decrypt(sealed, aad), aad)

    @staticmethod
    def _aad(key_id: str, aad: bytes) -> bytes:
        return key_id.encode() + b"\x00" + aad


MIN_DISTINCT_BYTES = 16  # 32 random bytes hold about 30 distinct values; fewer than 16 is not a random key


def _refuse_weak_or_repeated(raw: dict[str, bytes]) -> None:
    """Refuse material that is not a random key (all zero, a repeated pattern) and one material under two ids."""
    seen: dict[bytes, str] = {}
    for key_id, material in raw.items():
        if len(set(material)) < MIN_DISTINCT_BYTES:
            raise VaultError(
                f"encryption key '{key_id}' is not random (it has {len(set(material))} distinct byte "
                "values out of 32); generate a key with `python -m bot keys generate`"
            )
        if material in seen:
            raise VaultError(
                f"encryption keys '{seen[material]}' and '{key_id}' hold the same material; "
                "every key id needs its own key"
            )
        seen[material] = key_id


def generate_key(key_id: str | None = None) -> str:
    """A new key in CREDBOT_ENCRYPTION_KEYS format: ``keyid:base64``."""
    key_id = key_id or "k" + os.urandom(4).hex()
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"
