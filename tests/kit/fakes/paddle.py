"""A fake Paddle Billing API on loopback, plus helpers that mint API keys.

The two read-only endpoints Credbot uses to check a key are served, ``GET /event-types`` and ``GET /api-keys/<id>``,
answered with Paddle's own published fixtures and documented error bodies (tests/data/paddle, with their
provenance), and ``POST /api-keys/<id>/rotations`` as Paddle's reference documents it (paddle_rotations.py).
``mode`` switches the whole API (rotations included) into an outage / garbage / slow / held / trickling /
rate-limited state, or answers a record (or a rotation) that is not the asked key's.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import string
import threading
import uuid
from datetime import datetime, timedelta, UTC
from pathlib import Path

from .loopback import KeepAliveHandler, LoopbackHTTPServer
from .paddle_rotations import Rotations
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = ["DOCUMENTED_KEYS", "FakePaddle", "PaddleRequest", "SHAPES", "URL_SAFE", "make_key", "make_legacy_key"]

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "paddle"
KEY_LENGTH = 69
_LOWER_ALNUM = string.ascii_lowercase + string.digits
# The secret part of a key is in Paddle's URL-safe alphabet: Paddle's own documented example has a "_" in it.
URL_SAFE = string.ascii_letters + string.digits + "_-"
# Paddle's documented example keys (developer.paddle.com, Authentication > API key format), verbatim.
DOCUMENTED_KEYS = {
    "live": "pdl_live_apikey_01gtgztp8f4kek3yd4g1wrksa3_q6TGTJyvoIz7LDtXT65bX7_AQO",
    "sdbx": "pdl_sdbx_apikey_01gtgztp8f4kek3yd4g1wrksa3_q6TGTJyvoIz7LDtXT65bX7_AQO",
}
# Where the secret's "_" and "-" may sit: random (anywhere, or nowhere), leading, trailing, inside, both ends.
SHAPES = ("random", "leading", "trailing", "inside", "edges")
_ENVIRONMENTS = {"live": "live", "production": "live", "sdbx": "sdbx", "sandbox": "sdbx"}
MODES = ("ok", "down", "error500", "slow", "held", "garbage", "trickle", "wrong_record", "rate_limited")


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# Paddle's published answers: an api_key entity, the event-types list, and its documented error bodies.
API_KEY_ENTITY: dict[str, Any] = _fixture("api_key.created.json")
EVENT_TYPES: dict[str, Any] = _fixture("event_types.list_default.json")
ERRORS: dict[str, dict[str, Any]] = _fixture("errors.json")


def make_key(environment: str, seed: str = "", shape: str = "random") -> str:
    """A syntactically valid Paddle Billing API key.

    ``environment`` is "live"/"production" or "sdbx"/"sandbox". The key is deterministic for a given
    (environment, seed, shape) when ``seed`` is given. The secret is drawn from the whole URL-safe alphabet;
    ``shape`` (one of SHAPES) makes sure a "_" or "-" starts it, ends it, sits inside it, or both ends.
    """
    try:
        env = _ENVIRONMENTS[environment]
    except KeyError:
        raise ValueError(f"unknown Paddle environment {environment!r}") from None
    if shape not in SHAPES:
        raise ValueError(f"unknown key shape {shape!r}; expected one of {SHAPES}")
    rng = (
        random.Random(f"{env}:{seed}:{shape}" if shape != "random" else f"{env}:{seed}")
        if seed
        else random.SystemRandom()
    )
    first = "".join(rng.choice(_LOWER_ALNUM) for _ in range(26))
    secret = [rng.choice(URL_SAFE) for _ in range(26)]
    if shape in ("leading", "edges"):
        secret[0] = rng.choice("_-")
    if shape in ("trailing", "edges"):
        secret[-1] = rng.choice("_-")
    if shape == "inside":
        secret[rng.randrange(1, 25)] = rng.choice("_-")
    key = f"pdl_{env}_apikey_{first}_{''.join(secret)}"
    assert len(key) == KEY_LENGTH, key
    return key


def record_id(key: str) -> str:
    """The id of a key's own record at Paddle (``apikey_…``): inside the key, after the environment."""
    return "apikey_" + key.split("_")[3]


def make_legacy_key() -> str:
    """A 50-character lowercase hex string, shaped like a Paddle Classic key."""
    return secrets.token_hex(25)


def _error(code: str, detail: str = "", type_: str = "request_error") -> dict[str, Any]:
    """Paddle's error body: the documented example for a code Paddle documents, with a fresh request id."""
    documented = ERRORS.get(code)
    body = (
        copy.deepcopy(documented["body"])
        if documented
        else {
            "error": {
                "type": type_,
                "code": code,
                "detail": detail,
                "documentation_url": f"https://developer.paddle.com/errors/shared/{code}",
            },
            "meta": {},
        }
    )
    body["meta"]["request_id"] = str(uuid.uuid4())
    return body


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
        sent = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        fake = self.server.fake
        fake._record(PaddleRequest(self.command, self.path, headers))
        status, body = fake._answer(self.command, urlsplit(self.path).path, headers, sent)

        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        content_type = "text/html" if isinstance(body, bytes) else "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if fake.mode == "trickle":
                self._trickle(data, fake)
            else:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # client gave up (e.g. timed out on "slow" mode)

    def _trickle(self, data: bytes, fake: FakePaddle) -> None:
        """One byte every ``trickle_seconds``: each read gets something, the whole answer takes ages."""
        self.wfile.flush()
        for index in range(len(data)):
            if fake._stopping.wait(fake.trickle_seconds if index else 0):
                return
            try:
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
            except OSError:  # the client closed the connection: what a bounded check does
                fake.trickle_abandoned.set()
                raise BrokenPipeError from None
        fake.trickle_finished.set()


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
        #: "held" mode: every answer waits until release() (30 s at most, a hang guard), so a test decides when
        #: Paddle has answered instead of racing a delay
        self._released = threading.Event()
        #: "trickle" mode: the pause between two bytes of an answer; set when the client closed midway / got all
        self.trickle_seconds: float = 0.5
        self.trickle_abandoned = threading.Event()
        self.trickle_finished = threading.Event()
        self.reset_key_record()
        #: POST /api-keys/<id>/rotations: every rotation made (``rotations.made``: entity, old and new secret)
        self.rotations = Rotations()
        #: fields of the rotation entity answered instead of the real ones (a 200 that is not Paddle's rotation)
        self.rotation_answer: dict[str, Any] = {}

    def reset_key_record(self) -> None:
        """What GET /api-keys/<id> reports back to its defaults (a test that changed a key's record must not leave
        the next test's keys expiring in days: a key stored with it got an expiry reminder of its own)."""
        #: status / expires_at reported by GET /api-keys/<id> (Paddle's default lifetime: 90 days from now,
        #: so no test's key is ever close enough to expiry to trigger a reminder by itself)
        self.key_status = "active"
        self.key_expires_at: str | None = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
        #: last_used_at / rotatable reported by GET /api-keys/<id>: used an hour ago (Paddle's accuracy), and not
        #: rotatable (keys are created either way in Paddle's dashboard; the fixture's is rotatable)
        self.key_last_used_at: str | None = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.key_rotatable = False

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> FakePaddle:
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

    def new_key(self, environment: str = "sandbox", seed: str = "", shape: str = "random") -> str:
        """Mint a key with make_key() and add it to ``valid_keys``."""
        key = make_key(environment, seed, shape)
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
        self.release()  # nothing held stays waiting for a test that has ended
        self._configure_defaults()

    def hold(self) -> None:
        """ "held" mode from now on: every answer waits until release() (an earlier release no longer counts)."""
        self._released.clear()
        self.mode = "held"

    def release(self) -> None:
        """Let every answer held in "held" mode (and any later one) go."""
        self._released.set()

    def notify(self, destination: str, secret: str, event_type: str, key: str, **options: Any):
        """Send the bot's notification destination ``destination`` a notification about ``key`` (its record id,
        as the key shows it), signed with the destination's ``secret``: (status, answer, body). ``options``:
        ``occurred_at`` and changes to the entity (tests/kit/fakes/paddle_notifications.py)."""
        from .paddle_notifications import send

        return send(destination, secret, event_type, record_id(key), **options)

    def _record(self, request: PaddleRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # -- API behaviour -------------------------------------------------------

    def _answer(
        self, method: str, path: str, headers: dict[str, str], sent: bytes = b""
    ) -> tuple[int, dict[str, Any] | bytes]:
        """Compute (status, JSON payload or raw bytes) for one request."""
        mode = self.mode
        if mode not in MODES:
            raise ValueError(f"unknown FakePaddle mode {mode!r}; expected one of {MODES}")
        if mode == "down":
            return 503, _error(
                "service_unavailable", "The service is temporarily unavailable. Please try again later.", "api_error"
            )
        if mode == "error500":
            return 500, _error("internal_error", "An internal error has occurred.", "api_error")
        if mode == "garbage":
            return 200, b"<html><body>Upstream gateway says hello</body></html>"
        if mode == "rate_limited":
            return 429, _error("too_many_requests", "Too many requests.")
        if mode == "slow":
            self._stopping.wait(self.slow_seconds)
        if mode == "held":
            self._released.wait(30)

        denied = self._check_auth(headers)  # Paddle authenticates before it routes: no key, no 404 either
        if denied:
            return 403, denied
        path = path.rstrip("/")
        if method == "POST" and path.startswith("/api-keys/") and path.endswith("/rotations") and path.count("/") == 3:
            return self._rotate(path.split("/")[2], _bearer(headers), sent)
        is_key_path = path.startswith("/api-keys/") and path.count("/") == 2
        if method != "GET" or not (path == "/event-types" or is_key_path):
            return 404, _error("not_found", f"Entity {path} not found.")
        if path == "/event-types":
            return 200, {**EVENT_TYPES, "meta": {"request_id": str(uuid.uuid4())}}
        record_id = path.rsplit("/", 1)[1]
        if mode == "wrong_record":  # another key's record: what a confused proxy or cache might hand back
            record_id = "apikey_01" + "x" * 24
        data = {
            **copy.deepcopy(API_KEY_ENTITY),
            "id": record_id,
            "status": self.key_status,
            "expires_at": self.key_expires_at,
            "last_used_at": self.key_last_used_at,
            "rotatable": self.key_rotatable,
        }
        return 200, {"data": data, "meta": {"request_id": str(uuid.uuid4())}}

    def _rotate(self, asked: str, key: str, sent: bytes) -> tuple[int, dict[str, Any]]:
        """POST /api-keys/<asked>/rotations with ``key`` (authenticated already): only a key's own record, only a
        rotatable key, only a body that passes validation (paddle_rotations.py)."""
        if asked != record_id(key):
            return 403, _error("forbidden")
        if not self.key_rotatable:
            return 400, _error("api_key_cannot_be_rotated", "This API key cannot be rotated.")
        made = self.rotations.create(key, asked, sent)
        if made[0] == "invalid":
            body = _error("invalid_field", "Request does not pass validation.")
            body["error"]["errors"] = made[1]
            return 400, body
        new_key = made[1]["new_key"]
        self.valid_keys.add(new_key)  # valid at once; its first use activates it
        entity = {**made[1], **self.rotation_answer}
        if self.mode == "wrong_record":
            entity["api_key_id"] = "apikey_01" + "x" * 24
        return 201, {"data": entity, "meta": {"request_id": str(uuid.uuid4())}}

    def _check_auth(self, headers: dict[str, str]) -> dict[str, Any] | None:
        """None when the bearer key is valid, else Paddle's 403 error body: authentication_missing without an
        Authorization header, authentication_malformed when it is not ``Bearer <key>``, else invalid_token."""
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if value is None:
            return _error("authentication_missing")
        scheme, _, key = value.strip().partition(" ")
        key = key.strip()
        if scheme != "Bearer" or not key or " " in key:
            return _error("authentication_malformed")
        self.rotations.authenticated(key, self.valid_keys)
        if key not in self.valid_keys:
            return _error("invalid_token")
        return None


def _bearer(headers: dict[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value.strip().partition(" ")[2].strip()
