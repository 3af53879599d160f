"""A fake Paddle Billing API on loopback, plus helpers that mint API keys.

Only the two read-only endpoints Credbot uses to check a key are served:
``GET /event-types`` and ``GET /api-keys/<id>``. ``mode`` switches the whole
API into an outage / garbage / slow state.
"""

from __future__ import annotations

import json
import random
import secrets
import string
import threading
import uuid
from datetime import datetime, timedelta, timezone

from .loopback import KeepAliveHandler, LoopbackHTTPServer
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = ["FakePaddle", "PaddleRequest", "make_key", "make_legacy_key"]

DOCS = "https://developer.paddle.com/v1/errors"
KEY_LENGTH = 69
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_ALNUM = string.ascii_letters + string.digits
_ENVIRONMENTS = {"live": "live", "production": "live", "sdbx": "sdbx", "sandbox": "sdbx"}
MODES = ("ok", "down", "error500", "slow", "garbage")


def make_key(environment: str, seed: str = "") -> str:
    """A syntactically valid Paddle Billing API key.

    ``environment`` is "live"/"production" or "sdbx"/"sandbox". The key is
    deterministic for a given (environment, seed) when ``seed`` is given.
    """
    try:
        env = _ENVIRONMENTS[environment]
    except KeyError:
        raise ValueError(f"unknown Paddle environment {environment!r}") from None
    rng = random.Random(f"{env}:{seed}") if seed else random.SystemRandom()
    first = "".join(rng.choice(_LOWER_ALNUM) for _ in range(26))
    second = "".join(rng.choice(_ALNUM) for _ in range(26))
    key = f"pdl_{env}_apikey_{first}_{second}"
    assert len(key) == KEY_LENGTH, key
    return key


def make_legacy_key() -> str:
    """A 50-character lowercase hex string, shaped like a Paddle Classic key."""
    return secrets.token_hex(25)


def _error(code: str, detail: str, type_: str = "request_error") -> dict[str, Any]:
    return {
        "error": {
            "type": type_,
            "code": code,
            "detail": detail,
            "documentation_url": f"{DOCS}/shared/{code}",
        },
        "meta": {"request_id": str(uuid.uuid4())},
    }


class PaddleRequest(NamedTuple):
    """One request received by FakePaddle."""

    method: str
    path: str
    headers: dict[str, str]


class _Handler(KeepAliveHandler):
    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = dict(self.headers.items())
        fake = self.server.fake
        fake._record(PaddleRequest(self.command, self.path, headers))
        status, body = fake._answer(self.command, urlsplit(self.path).path, headers)

        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        content_type = "text/html" if isinstance(body, bytes) else "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # client gave up (e.g. timed out on "slow" mode)


class FakePaddle(LoopbackHTTPServer):
    """Fake Paddle Billing API on 127.0.0.1 recording requests in ``.requests``."""

    handler_class = _Handler

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._requests: list[PaddleRequest] = []
        self._stopping = threading.Event()
        self._configure_defaults()

    def _configure_defaults(self) -> None:
        #: keys accepted as ``Authorization: Bearer <key>``
        self.valid_keys: set[str] = set()
        #: one of MODES: "ok", "down", "error500", "slow", "garbage"
        self.mode = "ok"
        #: delay applied in "slow" mode before answering normally
        self.slow_seconds: float = 10
        #: status / expires_at reported by GET /api-keys/<id> (Paddle's default lifetime: 90 days from now,
        #: so no test's key is ever close enough to expiry to trigger a reminder by itself)
        self.key_status = "active"
        self.key_expires_at: str | None = (datetime.now(timezone.utc) + timedelta(days=90)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> "FakePaddle":
        self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        """Stop serving, waking any "slow" handlers first."""
        self._stopping.set()
        super().stop()

    @property
    def url(self) -> str:
        """Base URL without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    # -- helpers -------------------------------------------------------------

    def new_key(self, environment: str = "sandbox", seed: str = "") -> str:
        """Mint a key with make_key() and add it to ``valid_keys``."""
        key = make_key(environment, seed)
        self.valid_keys.add(key)
        return key

    @property
    def requests(self) -> list[PaddleRequest]:
        """Snapshot of received requests as (method, path, headers), oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget recorded requests and restore default configuration."""
        with self._lock:
            self._requests.clear()
        self._configure_defaults()

    def _record(self, request: PaddleRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # -- API behaviour -------------------------------------------------------

    def _answer(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any] | bytes]:
        """Compute (status, JSON payload or raw bytes) for one request."""
        mode = self.mode
        if mode == "down":
            return 503, _error(
                "service_unavailable",
                "The service is temporarily unavailable. Please try again later.",
                "api_error",
            )
        if mode == "error500":
            return 500, _error(
                "internal_error", "An internal error has occurred.", "api_error"
            )
        if mode == "garbage":
            return 200, b"<html><body>Upstream gateway says hello</body></html>"
        if mode == "slow":
            self._stopping.wait(self.slow_seconds)
        elif mode != "ok":
            raise ValueError(f"unknown FakePaddle mode {mode!r}; expected one of {MODES}")

        path = path.rstrip("/")
        is_key_path = path.startswith("/api-keys/") and path.count("/") == 2
        if method != "GET" or not (path == "/event-types" or is_key_path):
            return 404, _error("not_found", f"Entity {path} not found.")

        denied = self._check_auth(headers)
        if denied:
            return 403, denied

        meta = {"request_id": str(uuid.uuid4())}
        if path == "/event-types":
            data: Any = [
                {
                    "name": "transaction.created",
                    "description": "Occurs when a transaction is created.",
                    "group": "Transaction",
                    "available_versions": [1],
                }
            ]
        else:
            data = {
                "id": path.rsplit("/", 1)[1],
                "name": "Test key",
                "status": self.key_status,
                "expires_at": self.key_expires_at,
                "created_at": "2026-02-26T00:00:00Z",
                "updated_at": "2026-02-26T00:00:00Z",
            }
        return 200, {"data": data, "meta": meta}

    def _check_auth(self, headers: dict[str, str]) -> dict[str, Any] | None:
        """None when the bearer key is valid, else the 403 error payload."""
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not value.strip():  # what Paddle answers a request without the header (`credbot check` probes so)
            return _error("authentication_missing", "Authentication header missing.")
        scheme, _, key = value.strip().partition(" ")
        key = key.strip()
        if scheme != "Bearer" or not key or " " in key:
            return _error(
                "authentication_malformed",
                "Authentication header included, but incorrectly formatted.",
            )
        if key not in self.valid_keys:
            return _error("invalid_token", "Authentication token is invalid.")
        return None
