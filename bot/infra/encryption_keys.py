"""CREDBOT_ENCRYPTION_KEYS and the key file: ``keyid:base64-32-bytes[,...]``, parsed without ever echoing key
material in a problem."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from bot.infra.secret import Secret

KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class EncryptionKey:
    key_id: str
    material: Secret  # the 32 raw bytes, base64 encoded; decoded only by the vault


def parse_encryption_keys(raw: str) -> tuple[tuple[EncryptionKey, ...], list[str]]:
    """Parse ``keyid:base64-32-bytes[,...]``; never echoes key material in a problem."""
    keys: list[EncryptionKey] = []
    problems: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not item:
            continue
        key_id, sep, material = item.partition(":")
        key_id = key_id.strip()
        where = f"CREDBOT_ENCRYPTION_KEYS entry {position}"
        if not sep:
            problems.append(
                f"{where} is not of the form keyid:base64key; generate one with `python -m bot keys generate`"
            )
            continue
        if not KEY_ID_PATTERN.match(key_id):
            problems.append(
                f"{where}: key id must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit)"
            )
            continue
        if key_id in seen:
            problems.append(f"{where}: key id '{key_id}' appears twice; every key needs its own id")
            continue
        try:
            decoded = base64.b64decode(material.strip().replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{where} (key id '{key_id}'): the key is not valid base64")
            continue
        if len(decoded) != 32:
            problems.append(f"{where} (key id '{key_id}'): the key must be 32 bytes (AES-256), got {len(decoded)}")
            continue
        seen.add(key_id)
        keys.append(EncryptionKey(key_id, Secret(base64.b64encode(decoded).decode())))
    if raw.strip() and not keys and not problems:
        problems.append("CREDBOT_ENCRYPTION_KEYS is set but holds no key")
    return tuple(keys), problems
