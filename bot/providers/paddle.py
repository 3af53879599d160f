"""Paddle as the core's KeyVerifier: one ``check()`` verifies a key and reads its own record.

``GET /event-types`` is the cheapest authenticated call Paddle has: it proves the key is real, active and of
this environment, and changes nothing. ``GET /api-keys/{id}`` then gives the key's status and expiry (a key
may always read its own record); not knowing the expiry never fails a check.

This module implements a port of the core (bot.credentials.ports) and imports nothing else from it.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime, UTC
from collections.abc import Mapping
from typing import Protocol

from bot.credentials.types import KeyCheck, KeyRecord, Outcome
from bot.infra.http_pool import PROXY_OPENER, SHARED, Pool, proxied
from bot.infra.secret import Secret

log = logging.getLogger(__name__)

USER_AGENT = "credbot/0.1 (+key verification)"
MAX_BODY = 65536

# What the person should do about each of Paddle's refusals (codes: developer.paddle.com/errors/shared/<code>).
# The code itself is not the message: it is shown apart, for support (KeyCheck.reason).
_WHERE = "Paddle › Developer tools › Authentication"
_REJECTIONS = {
    "invalid_token": f"Paddle says this key is invalid or has been revoked: create a new one in {_WHERE}.",
    "authentication_malformed": f"Paddle could not read this key: copy the whole key again from {_WHERE}. If it "
    "was copied whole, something between Credbot and Paddle (a proxy) may be changing it: tell an operator.",
    "authentication_missing": "Paddle received no key: something between Credbot and Paddle (a proxy) may be "
    "removing it. Tell an operator.",
    "forbidden": f"Paddle knows this key but does not let it read what Credbot checks: give it read permission in "
    f"{_WHERE}, or create a new key there.",
}
_REFUSED = f"Paddle refused this key: check it in {_WHERE}, or create a new one there."
_TRY_LATER = "Nothing was saved; try again in a few minutes."
UNEXPECTED = "unexpected_answer"  # a 200 that is not what Paddle sends: never taken as "verified"


class PaddleVerifier:
    """Checks keys against the Paddle environment of each destination (base URLs resolved at wiring time)."""

    def __init__(self, base_urls: Mapping[str, str], timeout: float = 8.0, pool: Pool = SHARED) -> None:
        self.base_urls = {value: url.rstrip("/") for value, url in base_urls.items()}
        self.timeout = timeout
        self.pool = pool

    def check(self, destination: str, api_key: Secret, key_record_id: str | None) -> KeyCheck:
        """Verify the key and read its record (expiry, status). Never raises.

        A key with an id asks for its own record: Paddle answers that to any valid key, whatever its
        permissions, so one request both verifies the key and reads the record. Should Paddle refuse it for
        want of permission, or not know the id, the key is verified on /event-types instead, without a record.
        A key without an id (issued before ids existed) is verified on /event-types. ``timeout`` bounds the
        whole check, both requests included. Only an answer shaped as Paddle's counts as verified."""
        base_url = self.base_urls[destination]
        deadline = time.monotonic() + self.timeout
        if key_record_id:
            status, body = self._get(f"{base_url}/api-keys/{key_record_id}", api_key, deadline)
            if status == 200:
                data = _data(body)
                if not isinstance(data, dict) or data.get("id") != key_record_id:
                    return _unexpected(base_url, "the key's record is not that key's")
                return KeyCheck(Outcome.ACCEPTED, "", "Paddle accepted the key.", parse_key_record(body))
            if not (status == 404 or (status == 403 and _error_code(body) == "forbidden")):
                return _failure(status, body, base_url)
            log.info("Paddle did not return the key's record (HTTP %s, %s)", status, _error_code(body) or "-")
        status, body = self._get(base_url + "/event-types", api_key, deadline)
        if status != 200:
            return _failure(status, body, base_url)
        if not isinstance(_data(body), list):
            return _unexpected(base_url, "the event types are not a list")
        return KeyCheck(Outcome.ACCEPTED, "", "Paddle accepted the key.", None)

    def _get(self, url: str, api_key: Secret, deadline: float) -> tuple[int, bytes]:
        """(status, body); status 0 for "no answer", -1 for "no whole answer before the deadline". A redirect is
        returned as is, never followed: following would send the key to another address."""
        headers = {
            "Authorization": f"Bearer {api_key.reveal()}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if proxied(url):
            return self._get_through_proxy(url, headers, deadline)
        try:
            status, _headers, body = self.pool.request(
                "GET", url, headers=headers, timeout=self.timeout, max_body=MAX_BODY, deadline=deadline
            )
            return status, body
        except TimeoutError:
            return -1, b""
        except (OSError, http.client.HTTPException) as error:
            log.warning("Paddle unreachable at %s: %s", url.rsplit("/", 1)[0], type(error).__name__)
            return 0, b""

    def _get_through_proxy(self, url: str, headers: dict[str, str], deadline: float) -> tuple[int, bytes]:
        """urllib's path, for an environment that names a proxy (HTTPS_PROXY): the pool does not speak to one.
        Each step gets the time left; the body is read in pieces, so that a trickle ends at the deadline."""
        request = urllib.request.Request(url, method="GET", headers=headers)
        try:
            left = deadline - time.monotonic()
            if left <= 0:
                return -1, b""
            with PROXY_OPENER.open(request, timeout=left) as response:
                return response.status, _read_by(response, deadline)
        except urllib.error.HTTPError as error:
            try:
                return error.code, _read_by(error, deadline)
            except OSError:
                return error.code, b""
            finally:
                error.close()
        except TimeoutError:
            return -1, b""
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            log.warning("Paddle unreachable at %s: %s", url.rsplit("/", 1)[0], getattr(error, "reason", error))
            return 0, b""


class _Body(Protocol):
    def read1(self, size: int = -1, /) -> bytes: ...


def _read_by(response: _Body, deadline: float) -> bytes:
    """Up to MAX_BODY bytes of a urllib response, or TimeoutError once the deadline passes."""
    data = b""
    while len(data) < MAX_BODY:
        if time.monotonic() >= deadline:
            raise TimeoutError("no whole answer before the deadline")
        chunk = response.read1(MAX_BODY - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _failure(status: int, body: bytes, base_url: str) -> KeyCheck:
    """The KeyCheck for a verification that did not answer 200."""
    code = _error_code(body)
    if status in (401, 403) or (status == 400 and code == "authentication_malformed"):
        return KeyCheck(Outcome.REJECTED, code or f"http_{status}", _REJECTIONS.get(code or "", _REFUSED))
    if status == -1:
        return KeyCheck(Outcome.UNAVAILABLE, "timeout", f"Paddle did not answer in time. {_TRY_LATER}")
    if status == 0:
        return KeyCheck(Outcome.UNAVAILABLE, "unreachable", f"Paddle could not be reached. {_TRY_LATER}")
    if status == 429:
        return KeyCheck(
            Outcome.UNAVAILABLE,
            "rate_limited",
            "Paddle is rate limiting requests right now. Nothing was saved; try again in a minute.",
        )
    if 300 <= status < 400:
        log.warning("Paddle at %s answered a redirect (HTTP %s); not followed", base_url, status)
        return KeyCheck(
            Outcome.UNAVAILABLE, f"http_{status}", f"Paddle answered unexpectedly (HTTP {status}). {_TRY_LATER}"
        )
    return KeyCheck(
        Outcome.UNAVAILABLE, f"http_{status}", f"Paddle could not be reached (it answered HTTP {status}). {_TRY_LATER}"
    )


def _unexpected(base_url: str, what: str) -> KeyCheck:
    """A 200 that is not Paddle's answer (a captive portal, a proxy's page, another service): not a verification."""
    log.warning("Paddle at %s answered 200 but %s; the key is not taken as verified", base_url, what)
    return KeyCheck(
        Outcome.UNAVAILABLE, UNEXPECTED, f"Paddle answered unexpectedly, so the key could not be verified. {_TRY_LATER}"
    )


def _data(body: bytes) -> object:
    """The ``data`` of a JSON object body, or None when the body is not that."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("data") if isinstance(parsed, dict) else None


def parse_key_record(body: bytes) -> KeyRecord | None:
    """``{"data": {"status": …, "expires_at": …, "last_used_at": …, "permissions": […], "rotatable": …}}`` (an API
    key entity) as a KeyRecord; None (logged) when it is not that. A field missing or of the wrong type is unknown
    (None), never a failure."""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        log.info("Paddle's key record was not JSON")
        return None
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        log.info("Paddle's key record had no status")
        return None
    permissions = data.get("permissions")
    if isinstance(permissions, list) and all(isinstance(p, str) for p in permissions):
        listed: tuple[str, ...] | None = tuple(p[:100] for p in permissions[:200])
    else:
        listed = None  # legacy keys have none (null)
    rotatable = data.get("rotatable")
    return KeyRecord(
        data["status"][:20],
        _time(data, "expires_at"),
        _time(data, "last_used_at"),
        listed,
        rotatable if isinstance(rotatable, bool) else None,
    )


def _time(data: dict[str, object], field: str) -> datetime | None:
    """An RFC 3339 time of Paddle's (``…Z``), or None when absent or unreadable."""
    value = data.get(field)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        log.info("Paddle's key record had an unreadable %s", field)
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _error_code(body: bytes) -> str | None:
    try:
        code = json.loads(body or b"{}").get("error", {}).get("code")
        return code if isinstance(code, str) else None
    except (ValueError, AttributeError):
        return None


def verifier(base_urls: Mapping[str, str], timeout: float) -> PaddleVerifier:
    """This provider's KeyVerifier (bot.providers.registry builds it for the catalog's Paddle destinations)."""
    return PaddleVerifier(base_urls, timeout=timeout)
