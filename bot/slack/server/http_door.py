"""The HTTP door in front of Bolt: size, then signature, then a bounded parse; /healthz and /metrics beside it."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import urllib.parse
from http import HTTPStatus
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_sdk.signature import SignatureVerifier

from bot import __version__
from bot.infra import metrics
from bot.slack.server.answer_first import ThenRelease
from bot.slack.server.read_api import PREFIX as READ_API, ReadAPI
from bot.slack.server.paddle_door import PATH as PADDLE_PATH, PaddleDoor
from bot.slack.app import build_app
from bot.infra.db import check_database
from bot.infra.logs import EveryFewSeconds
from bot.slack.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are a few KB; anything this large is not from Slack

OAUTH_PATHS = ("/slack/install", "/slack/oauth_redirect")
PARSED_BODY = "credbot.slack_body"  # the WSGI environ key under which the door leaves the body it parsed


class ParsedRequest(BoltRequest):
    """A Bolt request over HTTP whose body the door has parsed, for the bodies Bolt's own parse loses
    (``bolt_misreads``); with CREDBOT_LIBRARY_SHORTCUTS=false Bolt parses every body (docs/decisions/
    library-internals.md: as a speed-up for every request it was worth under 5 % of the server CPU per wizard).

    BoltRequest takes a dict body only in Socket Mode; this builds it that way, then makes it an HTTP request with
    its raw body again, exactly as Bolt would have built it from the text (Bolt still checks the signature over
    ``raw_body``, and a lazy listener's copy parses ``raw_body`` anew). tests/unit/test_http_door.py compares the
    two field by field and pins BoltRequest's parameters, so a Bolt upgrade that changes either fails there."""

    def __init__(self, *, raw_body: str, body: dict, query: str, headers: dict) -> None:
        super().__init__(body=body, query=query, headers=headers, mode="socket_mode")
        self.raw_body, self.mode = raw_body, "http"


def bolt_misreads(content_type: str, body: bytes) -> bool:
    """Whether Bolt's parse (slack_bolt.request.internals.parse_body) would answer {} for this form body: it does
    for any body holding the word "payload" without a payload field (``/list-credentials payload``), and the
    command then matches no listener."""
    if b"payload" not in body or content_type.split(";", 1)[0].strip().lower() == "application/json":
        return False
    return "payload" not in dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))


class ParsedOnceHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, handed the door's parse of a body Bolt's own parse would lose."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        parsed = request.environ.get(PARSED_BODY)
        if parsed is None:
            return super().dispatch(request)
        raw, body = parsed
        return self.app.dispatch(
            ParsedRequest(raw_body=raw, body=body, query=request.query_string, headers=request.get_headers())
        )


class CredbotWSGI:
    """Routes /slack/events to Bolt and /v1/ to the read API, and answers /healthz and /metrics; everything else
    is 404."""

    def __init__(self, services: Services) -> None:
        self.services = services
        app = build_app(services)
        self.shortcuts = services.settings.library_shortcuts
        self.slack = ParsedOnceHandler(app) if self.shortcuts else SlackRequestHandler(app)
        secret = services.settings.slack_signing_secret
        self.door = SignatureDoor(secret.reveal() if secret else "")
        self.read_api = ReadAPI(services)
        self.paddle = PaddleDoor(services)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self.health(start_response)
        if path == "/metrics" and method in ("GET", "HEAD"):
            payload, content_type = metrics.exposition()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
            return [payload]
        if path == PADDLE_PATH:
            return self.paddle(environ, start_response)
        if path in OAUTH_PATHS and self.services.installations is not None:
            if method != "GET":
                return _json(start_response, 405, {"error": "use GET"}, [("Allow", "GET")])
            return self.slack(environ, start_response)  # Bolt's install flow (no body, no signature)
        if path.startswith(READ_API):
            return self.read_api(environ, start_response)
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, 405, {"error": "use POST"}, [("Allow", "POST")])
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                metrics.observe(metrics.UNVERIFIED, 413, 0.0)
                return _json(start_response, 413, {"error": "request body too large"})
            body = environ["wsgi.input"].read(length) if length else b""
            if not _utf8(body):  # Slack sends UTF-8; the signature check itself would fail to decode it
                metrics.observe(metrics.UNVERIFIED, 400, 0.0)
                return _json(start_response, 400, {"error": "the request body is not UTF-8"})
            refusal = self.door.unsigned(environ, body)
            if refusal:
                metrics.observe(metrics.UNVERIFIED, 401, 0.0)
                return _json(start_response, 401, {"error": "invalid request"})
            parsed, problem = read_slack_body(environ.get("CONTENT_TYPE", ""), body)
            if problem:
                metrics.observe(metrics.UNVERIFIED, problem[0], 0.0)
                return _json(start_response, problem[0], {"error": problem[1]})
            if self.shortcuts and bolt_misreads(environ.get("CONTENT_TYPE", ""), body):
                environ[PARSED_BODY] = (
                    body.decode("utf-8"),
                    parsed,
                )  # Bolt takes this parse (and checks the signature)
            else:
                environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads the body again and parses it itself
            return self.timed_slack(environ, start_response)
        return _json(start_response, 404, {"error": "not found"})

    def timed_slack(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Bolt's answer, counted and timed by request kind (named by a Bolt middleware on the way)."""
        started = time.perf_counter()
        metrics.begin_request()
        status: list[str] = []

        def recording_start_response(
            status_line: str, headers: list[tuple[str, str]], *rest: Any
        ) -> Callable[[bytes], object]:
            status.append(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, *rest)

        held = self.services.executor.holding()  # work the ack hands off starts once the answer is out
        try:
            body = self.slack(environ, recording_start_response)
        except BaseException:
            held.release()
            raise
        finally:
            held.stop()
        metrics.observe(metrics.current_kind(), status[0] if status else "none", time.perf_counter() - started)
        metrics.end_request()
        return ThenRelease(body, held)

    def health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            check_database(self.services.engine)
            database = "ok"
        except Exception as error:  # any failure means "not ready", whatever the driver raised
            log.warning("health check: database unreachable (%s)", type(error).__name__)
            database = "unreachable"
        status = 200 if database == "ok" else 503
        body = {"status": "ok" if status == 200 else "unavailable", "database": database, "version": __version__}
        return _json(start_response, status, body)


# What Slack sends: the request's Unix time in ASCII digits, and "v0=" with a hex SHA-256 HMAC. Anything else is
# refused before slack-sdk sees it: its int(timestamp) raised ValueError on "abc", "1e9" or 5,000 digits (a 500
# with a traceback, unthrottled), read full-width digits and underscores as numbers, and its compare_digest
# raises TypeError on a signature with a character beyond ASCII.
TIMESTAMP = re.compile(r"[0-9]{1,12}")
SIGNATURE = re.compile(r"v0=[0-9a-fA-F]{64}")


class SignatureDoor:
    """Checks Slack's signature before anything parses the body, and logs refusals as one rate-limited line.

    Bolt would parse the body first (a deeply nested one raised RecursionError: a 500) and log every refused
    body whole at INFO (20 unsigned 1 MiB bodies wrote 18 MB of log). Here a refusal costs one HMAC and, at
    most once per ``LOG_EVERY`` seconds, one line: the reason, the size and the content type, never the body
    (nor the headers). A timestamp or signature not shaped as Slack's costs no HMAC at all.
    """

    LOG_EVERY = 10.0

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.lines = EveryFewSeconds(self.LOG_EVERY, clock)

    def unsigned(self, environ: dict, body: bytes) -> str | None:
        """Why the request is not Slack's (missing, stale or wrong signature), or None when it is."""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not timestamp or not signature:
            reason = "no signature"
        elif not TIMESTAMP.fullmatch(timestamp) or not SIGNATURE.fullmatch(signature):
            reason = "a timestamp or signature not shaped as Slack's"
        elif not self.verifier.is_valid(body, timestamp, signature):
            reason = "bad or stale signature"
        else:
            return None
        self._log(reason, len(body), environ.get("CONTENT_TYPE", ""))
        return reason

    def _log(self, reason: str, size: int, content_type: str) -> None:
        others = self.lines.due()
        if others is None:
            return
        log.warning(
            "refused a request that is not signed by Slack (%s; %d bytes; %s)%s",
            reason,
            size,
            content_type[:60] or "no content type",
            f"; {others} more refused since the last line" if others else "",
        )


def read_slack_body(content_type: str, body: bytes) -> tuple[dict, None] | tuple[None, tuple[int, str]]:
    """The body as Bolt's listeners see it, or why it cannot be a Slack request (status, message); Bolt would
    answer the latter with a 500, or (a command whose text contains "payload") drop the command.

    Slack sends slash commands and interactions form-encoded (interactions as a JSON ``payload`` field) and
    Events API callbacks as JSON objects; anything else is refused before it reaches a listener. A field given
    twice keeps its last value, as Bolt's own parse does.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, (400, "the request body is not UTF-8")
    if kind == "application/json":
        try:
            parsed = json.loads(text)
        except RecursionError:
            return None, (400, "the request body is nested too deeply")
        except ValueError:
            return None, (400, "the request body is not JSON")
        return (parsed, None) if isinstance(parsed, dict) else (None, (400, "the request body is not a JSON object"))
    if kind != "application/x-www-form-urlencoded":
        return None, (415, "Slack requests are application/x-www-form-urlencoded or application/json")
    fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        try:
            parsed = json.loads(fields["payload"])
        except RecursionError:
            return None, (400, "the payload field is nested too deeply")
        except ValueError:
            return None, (400, "the payload field is not JSON")
        if not isinstance(parsed, dict):
            return None, (400, "the payload field is not a JSON object")
        return parsed, None
    if not fields.get("command") and not fields.get("ssl_check"):
        return None, (400, "the request is neither a slash command nor an interaction")
    return fields, None


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _json(start_response: StartResponse, status: int, body: dict, extra: list | None = None) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = HTTPStatus(status).phrase
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))] + (extra or []),
    )
    return [payload]
