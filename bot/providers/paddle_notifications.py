"""Paddle's notifications (webhooks): the ``Paddle-Signature`` check, made before anything parses the body, and
the parse of a verified body into a bot.credentials.key_events.KeyEvent.

The signature, as Paddle documents it and its Python SDK checks it (``paddle_billing.Notifications.Verifier``):
``Paddle-Signature: ts=<Unix seconds>;h1=<hex HMAC-SHA256 of "<ts>:<raw body>" under the destination's secret
key>``. Several ``h1`` may be given while Paddle rotates a destination's secret: one that matches is enough. A
header not of that shape is refused without an HMAC; every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from datetime import datetime, UTC
from typing import Any

from bot.credentials.key_events import EXPOSED, KEY_EVENTS, Exposure, KeyEvent

HEADER_LONGEST = 2048  # a ts and a few h1: anything longer is not Paddle's
H1_MOST = 8  # h1 values checked at most (Paddle sends one, or two while a secret is rotated)
_TS = re.compile(r"[0-9]{1,12}")
_H1 = re.compile(r"[0-9a-f]{64}")
NOTIFICATION_ID = re.compile(r"ntf_[a-z0-9]{1,60}")
KEY_ID = re.compile(r"apikey_[a-z0-9]{1,60}")
EVENT_TYPE = re.compile(r"[a-z0-9_]{1,40}(\.[a-z0-9_]{1,40}){1,3}")


class Unreadable(ValueError):
    """The verified body is not a notification Credbot can read; the message says why (never the body)."""


def signature_parts(header: str) -> tuple[str, list[str]] | None:
    """(ts, the h1 values shaped as hex SHA-256) of a ``Paddle-Signature`` header, or None when it has no ts or
    no such h1, or is not shaped as Paddle's. An h1 of another shape is skipped (the SDK's own vector sends
    ``h1=dummy`` before the right one)."""
    if not header or len(header) > HEADER_LONGEST:
        return None
    ts: str | None = None
    h1: list[str] = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if name == "ts":
            if ts is not None or not _TS.fullmatch(value):
                return None
            ts = value
        elif name == "h1" and _H1.fullmatch(value.lower()):
            h1.append(value.lower())
    if ts is None or not h1:
        return None
    return ts, h1[:H1_MOST]


def signed_by(header: str, body: bytes, secret: str, now: float, tolerance: float) -> bool | None:
    """Whether ``body`` is signed with ``secret``: True, False (no h1 matches), or None when the header is not
    Paddle's or its ts is further than ``tolerance`` seconds from ``now`` (stale, or from the future)."""
    parts = signature_parts(header)
    if parts is None:
        return None
    ts, given = parts
    if abs(now - int(ts)) > tolerance:
        return None
    expected = hmac.new(secret.encode(), ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    matched = False
    for h1 in given:  # every one is compared: the time does not tell which one matched
        matched |= hmac.compare_digest(expected, h1)
    return matched


def verified_environment(
    header: str, body: bytes, secrets: Sequence[tuple[str, str]], now: float, tolerance: float
) -> str | None:
    """The environment ("live", "sandbox") of the one secret that signed ``body``, or None. ``secrets``: (environment,
    secret) as configured. Both are always tried, so the time does not tell which is configured."""
    signed = [environment for environment, secret in secrets if signed_by(header, body, secret, now, tolerance)]
    return signed[0] if len(signed) == 1 else None


def parse(body: bytes) -> KeyEvent:
    """A verified body as a KeyEvent (an unknown event type has no key id); Unreadable when it is not a
    notification."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError):
        raise Unreadable("the body is not JSON") from None
    if not isinstance(document, dict):
        raise Unreadable("the body is not a JSON object")
    notification_id, event_type = document.get("notification_id"), document.get("event_type")
    if not isinstance(notification_id, str) or not NOTIFICATION_ID.fullmatch(notification_id):
        raise Unreadable("no notification_id of Paddle's shape (ntf_…)")
    if not isinstance(event_type, str) or not EVENT_TYPE.fullmatch(event_type):
        raise Unreadable("no event_type of Paddle's shape")
    occurred_at = _time(document.get("occurred_at"))
    if occurred_at is None:
        raise Unreadable("no occurred_at (an ISO 8601 time)")
    event = KeyEvent(notification_id, event_type, occurred_at)
    if event_type not in KEY_EVENTS:
        return event
    data = document.get("data")
    if not isinstance(data, dict):
        raise Unreadable(f"{event_type} without a data object")
    return _key_event(event, data)


def _key_event(event: KeyEvent, data: dict[str, Any]) -> KeyEvent:
    key_id = data.get("api_key_id") if event.event_type == EXPOSED else data.get("id")
    if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
        raise Unreadable(f"{event.event_type} without a key id of Paddle's shape (apikey_…)")
    if event.event_type == EXPOSED:
        exposure = Exposure(*(_text(data.get(name)) for name in EXPOSURE_FIELDS))
        return KeyEvent(event.notification_id, event.event_type, event.occurred_at, key_id, exposure=exposure)
    status = data.get("status")
    permissions = data.get("permissions")
    return KeyEvent(
        event.notification_id,
        event.event_type,
        event.occurred_at,
        key_id,
        status=status if status in ("active", "expired", "revoked") else None,
        expires_at=_time(data.get("expires_at")),
        permissions=tuple(p for p in permissions if isinstance(p, str))[:200] if isinstance(permissions, list) else (),
    )


EXPOSURE_FIELDS = ("source", "reference", "description", "risk_level", "action_taken")


def _text(value: object, longest: int = 500) -> str:
    return value[:longest] if isinstance(value, str) else ""


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
