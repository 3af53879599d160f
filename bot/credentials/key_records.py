"""What the provider's record of a key says, as the credential's columns: set by each check and by the daily look."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.credentials.types import KeyRecord


# The columns that hold what the provider's record of a key says (a check or the daily look sets them).
RECORD_COLUMNS = (
    "key_expires_at",
    "key_status",
    "key_last_used_at",
    "key_rotatable",
    "key_permissions",
    "key_looked_at",
)


def record_values(record: KeyRecord | None, at: datetime | None) -> dict[str, Any]:
    """RECORD_COLUMNS for the provider's ``record`` of a key read at ``at`` (all NULL without a record)."""
    if record is None:
        return dict.fromkeys(RECORD_COLUMNS)
    permissions = " ".join(record.permissions)[:4000] if record.permissions is not None else None
    return {
        "key_expires_at": record.expires_at,
        "key_status": record.status,
        "key_last_used_at": record.last_used_at,
        "key_rotatable": record.rotatable,
        "key_permissions": permissions,
        "key_looked_at": at,
    }
