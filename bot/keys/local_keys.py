"""The local key ring: CREDBOT_ENCRYPTION_KEYS, or (only with the embedded SQLite default) a key file in the
data directory, generated on first start."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.credentials.vault import KeyRing, VaultError, generate_key
from bot.infra.files import UnsafePath, create_private_file, private_dir, refuse_if_unsafe
from bot.infra.encryption_keys import EncryptionKey, parse_encryption_keys
from bot.infra.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE_NAME = "encryption.keys"


class KeyFileMissing(VaultError):
    """The embedded default's key file is not there, and this caller may not create one."""


def load_key_ring(settings: Settings, *, create: bool = True) -> KeyRing:
    """The configured keys, or the embedded default's key file (created on first start unless ``create`` is
    False: commands that only read must not make a key that would never open what is already stored)."""
    return KeyRing(local_keys(settings, create=create))


def local_keys(settings: Settings, *, create: bool) -> tuple[EncryptionKey, ...]:
    """The local keys (CREDBOT_ENCRYPTION_KEYS or the key file), first the one that encrypts."""
    if settings.encryption_keys:
        return settings.encryption_keys
    if not settings.database_is_default:
        raise VaultError("CREDBOT_ENCRYPTION_KEYS is required with a DATABASE_URL")
    path = settings.data_dir / KEY_FILE_NAME
    if not path.exists() and not create:
        raise KeyFileMissing(
            f"there is no key file at {path}: `credbot serve` creates one on a first start; "
            "if credentials are stored, restore it from your backup (or set CREDBOT_ENCRYPTION_KEYS)"
        )
    try:
        private_dir(settings.data_dir)
        if not path.exists():
            _generate_key_file(path)
        refuse_if_unsafe(path, warn_readable=True)
    except UnsafePath as unsafe:
        raise VaultError(str(unsafe)) from None
    keys, problems = parse_encryption_keys(path.read_text().strip())
    if problems:
        raise VaultError(f"the key file {path} is not valid: {'; '.join(problems)}")
    return keys


def _generate_key_file(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place: the key file appears whole or not
    at all, and when several first starts race, the first link wins and every process reads that one key."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = create_private_file(temporary)
    if fd is None:  # a random name that exists: give up this try, the caller reads whatever is there
        return
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_key() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(temporary, path)
    except FileExistsError:  # another process of this install created it first: use theirs
        return
    finally:
        temporary.unlink(missing_ok=True)
    log.warning(
        "Generated a new encryption key in %s. Back this file up with the database: "
        "without it no stored API key can be decrypted.",
        path,
    )
