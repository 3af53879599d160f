"""The key check against Paddle's API.

``GET /event-types`` is the cheapest authenticated call Paddle has: it
proves the key is real, active and of this environment, and changes nothing.
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone

from bot.credentials.errors import KeyRejected, ProviderUnavailable
from bot.infra.secret import Secret

log = logging.getLogger(__name__)

USER_AGENT = "credbot/0.1 (+key verification)"

_REJECTIONS = {
    "invalid_token": "Paddle did not accept this key: it is wrong, revoked or expired, or it belongs to "
    "the other Paddle environment. Check the key in the Paddle dashboard and paste it again.",
    "authentication_malformed": "Paddle could not read this key. Copy the whole key again from the Paddle dashboard.",
    "forbidden": "Paddle accepted this key but it lacks permission to read event types. Give the key read "
    "access in the Paddle dashboard, or create a new key.",
}


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    status: int


class PaddleVerifier:
    """Checks a key against one Paddle environment's base URL."""

    def __init__(self, timeout: float = 8.0) -> None:
        self.timeout = timeout

    def verify(self, base_url: str, api_key: Secret) -> VerificationResult:
        """Returns on success; raises :class:`KeyRejected` or :class:`ProviderUnavailable`."""
        request = urllib.request.Request(
            f"{base_url}/event-types",
            headers={
                "Authorization": f"Bearer {api_key.reveal()}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            method="GET",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
                response.read(65536)
        except urllib.error.HTTPError as error:
            status = error.code
            code = _error_code(error)
            error.close()
            if status in (401, 403) or (status == 400 and code == "authentication_malformed"):
                reason = code or f"http_{status}"
                message = _REJECTIONS.get(code or "", _REJECTIONS["invalid_token"])
                raise KeyRejected(message, reason) from None
            if status == 429:
                raise ProviderUnavailable("Paddle is rate limiting requests right now. Nothing was saved; "
                                          "try again in a minute.", "rate_limited") from None
            raise ProviderUnavailable(f"Paddle could not be reached (it answered HTTP {status}). Nothing was saved; "
                                      "try again in a few minutes.", f"http_{status}") from None
        except (TimeoutError, socket.timeout):
            raise ProviderUnavailable("Paddle did not answer in time. Nothing was saved; try again in a few minutes.",
                                      "timeout") from None
        except (urllib.error.URLError, OSError) as error:
            log.warning("Paddle unreachable at %s: %s", base_url, getattr(error, "reason", error))
            raise ProviderUnavailable("Paddle could not be reached. Nothing was saved; try again in a few minutes.",
                                      "unreachable") from None
        if status != 200:
            raise ProviderUnavailable(f"Paddle answered HTTP {status} unexpectedly. Nothing was saved; try again.",
                                      f"http_{status}")
        return VerificationResult(ok=True, status=status)


@dataclass(frozen=True)
class KeyRecord:
    """What Paddle knows about a key: its status and when it expires (None: it does not)."""

    status: str
    expires_at: datetime | None


def read_key_record(base_url: str, api_key: Secret, key_id: str, timeout: float) -> KeyRecord | None:
    """``GET /api-keys/{id}`` with the key itself (a key may always read its own record).

    Best effort: any failure returns None and is logged without the key, because not knowing the expiry
    must never stop a credential from being saved or tested.
    """
    request = urllib.request.Request(
        f"{base_url}/api-keys/{key_id}",
        headers={"Authorization": f"Bearer {api_key.reveal()}", "Accept": "application/json", "User-Agent": USER_AGENT},
        method="GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read(65536) or b"{}")
    except urllib.error.HTTPError as error:
        log.info("Paddle did not return the key's record (HTTP %s, %s)", error.code, _error_code(error) or "-")
        error.close()
        return None
    except (OSError, ValueError) as error:
        log.info("Paddle's key record could not be read (%s)", type(error).__name__)
        return None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        log.info("Paddle's key record had no status")
        return None
    expires = data.get("expires_at")
    expires_at = None
    if isinstance(expires, str):
        try:
            expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00"))
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=timezone.utc)
        except ValueError:
            log.info("Paddle's key record had an unreadable expires_at")
    return KeyRecord(data["status"][:20], expires_at)


def _error_code(error: urllib.error.HTTPError) -> str | None:
    try:
        body = json.loads(error.read(65536) or b"{}")
        code = body.get("error", {}).get("code")
        return code if isinstance(code, str) else None
    except (ValueError, AttributeError, OSError):
        return None
