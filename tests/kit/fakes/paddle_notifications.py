"""Paddle's notifications, as Paddle sends them to a notification destination: a JSON body of Paddle's shape
(``event_id``, ``event_type``, ``occurred_at``, ``notification_id``, ``data``) whose ``data`` is the entity fixture
Paddle publishes with its Python SDK (tests/data/paddle), signed in ``Paddle-Signature`` as Paddle signs it:
``ts=<Unix seconds>;h1=<hex HMAC-SHA256 of "<ts>:<body>" under the destination's secret key>``."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import string
import time
import urllib.error
import urllib.request
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "paddle"
EVENT_TYPES = (
    "api_key.created",
    "api_key.updated",
    "api_key.expiring",
    "api_key.expired",
    "api_key.revoked",
    "api_key_exposure.created",
)
_ID = string.ascii_lowercase + string.digits


def paddle_id(prefix: str) -> str:
    """An id of Paddle's shape: prefix, "_01", 23 more lowercase letters and digits (26 after the prefix)."""
    return f"{prefix}_01" + "".join(secrets.choice(_ID) for _ in range(24))


def entity(event_type: str, key_record_id: str, **changes: Any) -> dict[str, Any]:
    """The SDK's fixture for ``event_type``, about the key ``key_record_id`` (apikey_…), with ``changes``."""
    data = copy.deepcopy(json.loads((FIXTURES / f"{event_type}.json").read_text(encoding="utf-8")))
    data["api_key_id" if event_type == "api_key_exposure.created" else "id"] = key_record_id
    return {**data, **changes}


def notification(
    event_type: str, data: dict[str, Any], *, occurred_at: datetime | None = None, notification_id: str | None = None
) -> bytes:
    body = {
        "event_id": paddle_id("evt"),
        "event_type": event_type,
        "occurred_at": (occurred_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "notification_id": notification_id or paddle_id("ntf"),
        "data": data,
    }
    return json.dumps(body).encode()


def signature(body: bytes, secret: str, ts: int | None = None, *, before: tuple[str, ...] = ()) -> str:
    """The Paddle-Signature header; ``before``: h1 values sent ahead of the right one (a secret being rotated)."""
    ts = int(time.time()) if ts is None else ts
    h1 = hmac.new(secret.encode(), f"{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return ";".join([f"ts={ts}", *(f"h1={value}" for value in before), f"h1={h1}"])


def deliver(url: str, body: bytes, header: str | None, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    """POST ``body`` to the destination ``url`` as Paddle does; (status, the JSON answer)."""
    headers = {"Content-Type": "application/json", "User-Agent": "Paddle"}
    if header is not None:
        headers["Paddle-Signature"] = header
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text or b"{}")
        except ValueError:
            return error.code, {"raw": text.decode("utf-8", "replace")}


def send(
    url: str, secret: str, event_type: str, key_record_id: str, *, occurred_at: datetime | None = None, **changes: Any
) -> tuple[int, dict[str, Any], bytes]:
    """A signed notification about one key, built from the SDK's fixture, delivered; (status, answer, body)."""
    body = notification(event_type, entity(event_type, key_record_id, **changes), occurred_at=occurred_at)
    status, answer = deliver(url, body, signature(body, secret))
    return status, answer, body
