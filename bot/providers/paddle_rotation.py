"""Paddle as the core's KeyRotator: ``POST /api-keys/{id}/rotations``, authenticated with the key itself.

Paddle (since 2026-11-11) issues a new secret for a rotatable key and keeps its id; the new secret is activated by
its first use, and the old one keeps working for ``grace_period_seconds`` after that. The answer is trusted only
when it is shaped as Paddle's rotation of *this* key: ``api_key_id`` the asked id, ``new_key`` a current-format
key of the destination's environment showing that same id. Anything else is a failure and nothing is stored.

This module implements a port of the core (bot.credentials.ports) and imports nothing else from it.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

from bot.credentials import catalog
from bot.credentials.types import KeyRotation, Outcome
from bot.infra.http_pool import PROXY_OPENER, SHARED, Pool, proxied
from bot.infra.secret import Secret
from bot.providers.paddle import MAX_BODY, USER_AGENT, _error_code, _read_by

log = logging.getLogger(__name__)

GRACE_MOST = 86400  # Paddle's range for grace_period_seconds: 0–86400
_WHERE = "Paddle › Developer tools › Authentication"
_NOTHING_CHANGED = "The stored key is unchanged and still works"
_REFUSALS = {
    "api_key_cannot_be_rotated": (
        "not_rotatable",
        f"Paddle says this key was not created as rotatable, so it cannot be rotated. {_NOTHING_CHANGED}. To move "
        f"to a new key, create one in {_WHERE} (tick Rotatable to rotate it from here next time) and use Replace "
        "API key.",
    ),
    "forbidden": (
        "forbidden",
        f"Paddle does not let this key rotate itself (permission). {_NOTHING_CHANGED}. Check the key in {_WHERE}, "
        "or create a new one there and use Replace API key.",
    ),
    "invalid_token": (
        "invalid_token",
        f"Paddle says this key is invalid or has been revoked, so it cannot rotate itself. Create a new key in "
        f"{_WHERE} and use Replace API key.",
    ),
}
_TRY_LATER = f"{_NOTHING_CHANGED}; try again in a few minutes."
UNEXPECTED = "unexpected_answer"


class PaddleRotator:
    """Rotates keys with the Paddle environment of each destination (base URLs resolved at wiring time)."""

    def __init__(self, base_urls: Mapping[str, str], timeout: float = 8.0, pool: Pool = SHARED) -> None:
        self.base_urls = {value: url.rstrip("/") for value, url in base_urls.items()}
        self.timeout = timeout
        self.pool = pool

    def rotate(self, destination: str, api_key: Secret, key_record_id: str, grace_period_seconds: int) -> KeyRotation:
        """Ask Paddle for a new secret of the key ``key_record_id``; ``timeout`` bounds the whole call. Never raises;
        never logs the key or the new one."""
        if not 0 <= grace_period_seconds <= GRACE_MOST:
            raise ValueError("grace_period_seconds out of Paddle's range")  # the core validates it first
        base_url = self.base_urls[destination]
        url = f"{base_url}/api-keys/{key_record_id}/rotations"
        body = json.dumps({"grace_period_seconds": grace_period_seconds}).encode()
        status, answer = self._post(url, api_key, body, time.monotonic() + self.timeout)
        if status in (200, 201):
            return _rotation(answer, destination, key_record_id, api_key, base_url)
        return _failure(status, answer, base_url)

    def _post(self, url: str, api_key: Secret, body: bytes, deadline: float) -> tuple[int, bytes]:
        """(status, body); 0 for "no answer", -1 for "no whole answer before the deadline". Redirects are never
        followed (that would send the key elsewhere)."""
        headers = {
            "Authorization": f"Bearer {api_key.reveal()}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        where = url.rsplit("/", 3)[0]  # the base URL: never the key's id path, never the key
        try:
            if proxied(url):
                return _post_through_proxy(url, headers, body, deadline)
            status, _headers, answer = self.pool.request(
                "POST", url, body=body, headers=headers, timeout=self.timeout, max_body=MAX_BODY, deadline=deadline
            )
            return status, answer
        except TimeoutError:
            return -1, b""
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            log.warning("Paddle unreachable at %s: %s", where, type(error).__name__)
            return 0, b""


def _post_through_proxy(url: str, headers: dict[str, str], body: bytes, deadline: float) -> tuple[int, bytes]:
    """urllib's path for an environment that names a proxy, each step within the time left."""
    left = deadline - time.monotonic()
    if left <= 0:
        return -1, b""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with PROXY_OPENER.open(request, timeout=left) as response:
            return response.status, _read_by(response, deadline)
    except urllib.error.HTTPError as error:
        try:
            return error.code, _read_by(error, deadline)
        except OSError:
            return error.code, b""
        finally:
            error.close()


def _rotation(answer: bytes, destination: str, key_record_id: str, old: Secret, base_url: str) -> KeyRotation:
    """The new key of a 200/201 shaped as Paddle's rotation of this key; else a failure that stores nothing."""
    try:
        parsed = json.loads(answer)
    except ValueError:
        parsed = None
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict) or data.get("api_key_id") != key_record_id:
        return _unexpected(base_url, "it is not a rotation of that key")
    new_key = data.get("new_key")
    dest = catalog.destination(destination)
    if not isinstance(new_key, str) or dest is None:
        return _unexpected(base_url, "it holds no new key")
    rules = dest.key_rules
    shaped = rules.pattern.match(new_key)
    if shaped is None or shaped.group("env") != rules.environment_marker:
        return _unexpected(base_url, "its new key is not a key of this environment")
    if catalog.key_record_id(dest, new_key) != key_record_id or new_key == old.reveal():
        return _unexpected(base_url, "its new key is not a new secret of the same key")
    log.info("Paddle issued a new secret for key %s (rotation %s)", key_record_id, str(data.get("id"))[:40])
    return KeyRotation(Outcome.ACCEPTED, "", "Paddle issued a new secret for the key.", Secret(new_key))


def _failure(status: int, answer: bytes, base_url: str) -> KeyRotation:
    code = _error_code(answer) or ""
    if code in _REFUSALS and status in (400, 401, 403):
        reason, message = _REFUSALS[code]
        return KeyRotation(Outcome.REJECTED, reason, message)
    if status in (401, 403):
        return KeyRotation(
            Outcome.REJECTED,
            code or f"http_{status}",
            f"Paddle refused to rotate this key. {_NOTHING_CHANGED}. Check it in {_WHERE}, or use Replace API key.",
        )
    if status == 400:
        log.warning("Paddle at %s refused the rotation request (%s)", base_url, code or "-")
        return KeyRotation(
            Outcome.REJECTED,
            code or "http_400",
            f"Paddle refused the rotation request ({code or 'HTTP 400'}). {_NOTHING_CHANGED}; use Replace API key, "
            "and tell an operator.",
        )
    if status == -1:
        return KeyRotation(Outcome.UNAVAILABLE, "timeout", f"Paddle did not answer in time. {_TRY_LATER}")
    if status == 0:
        return KeyRotation(Outcome.UNAVAILABLE, "unreachable", f"Paddle could not be reached. {_TRY_LATER}")
    if status == 429:
        return KeyRotation(Outcome.UNAVAILABLE, "rate_limited", f"Paddle is rate limiting requests. {_TRY_LATER}")
    if 300 <= status < 400:
        log.warning("Paddle at %s answered a redirect (HTTP %s); not followed", base_url, status)
    return KeyRotation(
        Outcome.UNAVAILABLE, f"http_{status}", f"Paddle answered HTTP {status} to the rotation. {_TRY_LATER}"
    )


def _unexpected(base_url: str, what: str) -> KeyRotation:
    log.warning("Paddle at %s answered the rotation but %s; nothing is stored", base_url, what)
    return KeyRotation(
        Outcome.UNAVAILABLE,
        UNEXPECTED,
        f"Paddle answered the rotation unexpectedly, so nothing was stored. {_TRY_LATER}",
    )


def rotator(base_urls: Mapping[str, str], timeout: float) -> PaddleRotator:
    """This provider's KeyRotator (bot.providers.registry builds it for the catalog's Paddle destinations)."""
    return PaddleRotator(base_urls, timeout=timeout)
