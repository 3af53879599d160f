"""What the provider's record of a key says, as the credential's columns: set by each check and by the daily look;
and what it says of the key's use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.credentials.types import CredentialSummary, KeyRecord


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


def unused(item: CredentialSummary, now: datetime, days: int) -> bool | None:
    """Whether the provider says the key was not used for ``days`` days: None when that is not known (no record of
    the key was read: a legacy key without an id, or one not looked at yet). A key never used is flagged only once
    it was stored ``days`` ago: a new key is not idle yet. (A key last used longer ago than that existed then, so it
    is not new.)"""
    if item.key_looked_at is None:
        return None
    idle = timedelta(days=days)
    if item.key_last_used_at is None:
        return now - item.created_at >= idle
    return now - item.key_last_used_at >= idle
