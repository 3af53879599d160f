"""The local key ring: CREDBOT_ENCRYPTION_KEYS, or (only with the embedded SQLite default) a key file in the
data directory, generated on first start."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.credentials.vault import KeyRing, VaultError, generate_key
from bot.infra.settings import Settings, parse_encryption_keys

log = logging.getLogger(__name__)

KEY_FILE_NAME = "encryption.keys"


def load_key_ring(settings: Settings) -> KeyRing:
    """The configured keys, or the embedded default's key file (created on first start)."""
    if settings.encryption_keys:
        return KeyRing(settings.encryption_keys)
    if not settings.database_is_default:
        raise VaultError("CREDBOT_ENCRYPTION_KEYS is required with a DATABASE_URL")
    path = settings.data_dir / KEY_FILE_NAME
    if not path.exists():
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this install created it first
            fd = None
        if fd is not None:
            with os.fdopen(fd, "w") as fh:
                fh.write(generate_key() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            log.warning(
                "Generated a new encryption key in %s. Back this file up with the database: "
                "without it no stored API key can be decrypted.", path
            )
    keys, problems = parse_encryption_keys(Path(path).read_text().strip())
    if problems:
        raise VaultError(f"the key file {path} is not valid: {'; '.join(problems)}")
    return KeyRing(keys)
