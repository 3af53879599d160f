"""The Paddle client never follows a redirect: the bearer key goes to the configured host only (finding 5)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.credentials.types import Outcome
from bot.infra.secret import Secret
from bot.providers.paddle import PaddleVerifier

KEY = "pdl_live_apikey_01" + "a" * 26 + "_" + "b" * 22 + "_zz"


class Recorder(BaseHTTPRequestHandler):
    seen: list = []
    location = ""
    status = 302

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(self.status)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_unexpected_answer_and_the_key_stays_home(status):
    elsewhere = serve(type("Elsewhere", (Recorder,), {"seen": [], "status": 200}))
    target = f"http://127.0.0.1:{elsewhere.server_port}/event-types"
    origin = serve(type("Origin", (Recorder,), {"seen": [], "status": status, "location": target}))
    try:
        check = PaddleVerifier({"paddle": f"http://127.0.0.1:{origin.server_port}"}, timeout=3).check(
            "paddle", Secret(KEY), None)
        assert check.outcome is not Outcome.ACCEPTED
        assert origin.RequestHandlerClass.seen and elsewhere.RequestHandlerClass.seen == []
    finally:
        origin.shutdown()
        elsewhere.shutdown()


class Scripted(BaseHTTPRequestHandler):
    """Answers each path with a scripted (status, JSON body); records what was asked."""

    seen: list = []
    answers: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen.append(self.path)
        status, body = type(self).answers.get(self.path, (404, b'{"error": {"code": "not_found"}}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


RECORD = b'{"data": {"id": "apikey_x", "status": "active", "expires_at": "2027-02-26T00:00:00Z"}}'
FORBIDDEN = b'{"error": {"type": "request_error", "code": "forbidden", "detail": "no permission"}}'
INVALID = b'{"error": {"type": "request_error", "code": "invalid_token", "detail": "Authentication token is invalid."}}'
EVENT_TYPES = b'{"data": []}'


@pytest.mark.parametrize("record_answer, paths, outcome, has_record", [
    ((200, RECORD), ["/api-keys/apikey_x"], Outcome.ACCEPTED, True),  # one request verifies and reads the record
    ((403, INVALID), ["/api-keys/apikey_x"], Outcome.REJECTED, False),
    ((500, b"{}"), ["/api-keys/apikey_x"], Outcome.UNAVAILABLE, False),
    ((403, FORBIDDEN), ["/api-keys/apikey_x", "/event-types"], Outcome.ACCEPTED, False),  # then verified elsewhere
    ((404, b"{}"), ["/api-keys/apikey_x", "/event-types"], Outcome.ACCEPTED, False),
])
def test_a_key_with_an_id_is_verified_by_reading_its_own_record(record_answer, paths, outcome, has_record):
    server = serve(type("Paddle", (Scripted,), {"seen": [], "answers": {
        "/api-keys/apikey_x": record_answer, "/event-types": (200, EVENT_TYPES)}}))
    try:
        check = PaddleVerifier({"paddle": f"http://127.0.0.1:{server.server_port}"}, timeout=3).check(
            "paddle", Secret(KEY), "apikey_x")
        assert server.RequestHandlerClass.seen == paths
        assert check.outcome is outcome and (check.record is not None) is has_record
        if has_record:
            assert check.record.status == "active" and check.record.expires_at.year == 2027
    finally:
        server.shutdown()


def test_a_key_without_an_id_is_verified_on_event_types():
    server = serve(type("Paddle", (Scripted,), {"seen": [], "answers": {"/event-types": (403, INVALID)}}))
    try:
        check = PaddleVerifier({"paddle": f"http://127.0.0.1:{server.server_port}"}, timeout=3).check(
            "paddle", Secret(KEY), None)
        assert server.RequestHandlerClass.seen == ["/event-types"] and check.outcome is Outcome.REJECTED
    finally:
        server.shutdown()
