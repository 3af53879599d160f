"""The fake Paddle's ``POST /api-keys/{id}/rotations``, as Paddle's API reference documents it (2026-11-11).

developer.paddle.com › API reference › API keys › Create an API key rotation: authenticated with the rotatable key
itself (a key can only rotate itself), body ``grace_period_seconds`` (required, 0–86400) and optional
``new_key_expires_at``. The answer is an API key rotation entity (``apkrot_…``, ``api_key_id``, ``new_key``,
``grace_period_seconds``, ``status`` ``pending``, ``expires_at`` null until completed, ``new_key_expires_at``,
``created_at``, ``updated_at``). The new secret keeps the key's id; it works at once and is *activated* by its first
use, when the rotation becomes ``completed`` and the old secret keeps working for the grace period (0: it stops
then). Creating a rotation cancels a pending one. A key that is not rotatable answers 400
``api_key_cannot_be_rotated``; a body that does not pass validation, Paddle's 400 ``invalid_field`` with its
``errors`` list. The SDK ships no rotation fixtures, so the entity is built here from the reference.
"""

from __future__ import annotations

import json
import random
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from typing import Any

GRACE_MOST = 86400
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_URL_SAFE = string.ascii_letters + string.digits + "_-"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Rotation:
    """One rotation as the fake keeps it: the entity Paddle answers with, and the two secrets."""

    entity: dict[str, Any]
    old_key: str
    new_key: str
    grace: int


@dataclass
class Rotations:
    """Every rotation the fake has made, and when each old secret stops working (once its rotation completed)."""

    made: list[Rotation] = field(default_factory=list)
    old_key_ends: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, key: str, record_id: str, body: bytes) -> tuple[int, dict[str, Any]] | tuple[str, list]:
        """(201, entity) for a valid body; ("invalid", errors) when the body does not pass validation."""
        errors = _invalid(body)
        if errors:
            return "invalid", errors
        request = json.loads(body)
        rng = random.SystemRandom()
        environment = key.split("_")[1]
        new_key = f"pdl_{environment}_apikey_{record_id.removeprefix('apikey_')}_" + "".join(
            rng.choice(_URL_SAFE) for _ in range(26)
        )
        at = _now()
        entity = {
            "id": "apkrot_" + "".join(rng.choice(_LOWER_ALNUM) for _ in range(26)),
            "api_key_id": record_id,
            "new_key": new_key,
            "grace_period_seconds": request["grace_period_seconds"],
            "status": "pending",
            "expires_at": None,
            "new_key_expires_at": request.get("new_key_expires_at"),
            "created_at": at,
            "updated_at": at,
        }
        with self.lock:
            for earlier in self.made:
                if earlier.entity["api_key_id"] == record_id and earlier.entity["status"] == "pending":
                    earlier.entity.update(status="canceled", updated_at=at)
            self.made.append(Rotation(entity, key, new_key, request["grace_period_seconds"]))
        return 201, entity

    def authenticated(self, key: str, valid_keys: set[str]) -> None:
        """A request authenticated with ``key``: the first use of a pending rotation's new secret completes it
        (the old secret then works for the grace period); an old secret past its grace period stops working."""
        now = datetime.now(UTC)
        with self.lock:
            for rotation in self.made:
                if rotation.new_key == key and rotation.entity["status"] == "pending":
                    ends = now + timedelta(seconds=rotation.grace)
                    rotation.entity.update(status="completed", expires_at=ends.isoformat(), updated_at=_now())
                    self.old_key_ends[rotation.old_key] = ends
            ends_at = self.old_key_ends.get(key)
            if ends_at is not None and now >= ends_at:
                valid_keys.discard(key)


def _invalid(body: bytes) -> list[dict[str, str]]:
    """Paddle's validation errors for a rotation request's body (none: it passes)."""
    try:
        request = json.loads(body or b"")
    except ValueError:
        return [{"field": "(root)", "message": "invalid JSON"}]
    if not isinstance(request, dict):
        return [{"field": "(root)", "message": "must be an object"}]
    errors = []
    grace = request.get("grace_period_seconds")
    if "grace_period_seconds" not in request:
        errors.append({"field": "grace_period_seconds", "message": "must be provided as part of the request"})
    elif not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= GRACE_MOST:
        errors.append({"field": "grace_period_seconds", "message": f"must be an integer from 0 to {GRACE_MOST}"})
    expires = request.get("new_key_expires_at")
    if expires is not None:
        try:
            datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        except ValueError:
            errors.append({"field": "new_key_expires_at", "message": "must be an RFC 3339 date-time"})
    return errors
