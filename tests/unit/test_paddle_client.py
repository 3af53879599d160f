"""The Paddle client never follows a redirect: the bearer key goes to the configured host only (finding 5)."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pathlib import Path

import pytest

from bot.credentials.types import Outcome
from bot.infra.http_pool import ConnectionPool
from bot.infra.secret import Secret
from bot.infra.urllib3_pool import Urllib3Pool
from bot.providers.paddle import PaddleVerifier

KEY = "pdl_live_apikey_01" + "a" * 26 + "_" + "b" * 22 + "_zz"


class Recorder(BaseHTTPRequestHandler):
    seen: list = []
    location = ""
    status = 302

    def do_GET(self):
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
            "paddle", Secret(KEY), None
        )
        assert check.outcome is not Outcome.ACCEPTED
        assert origin.RequestHandlerClass.seen and elsewhere.RequestHandlerClass.seen == []
    finally:
        origin.shutdown()
        elsewhere.shutdown()


class Scripted(BaseHTTPRequestHandler):
    """Answers each path with a scripted (status, JSON body); records what was asked."""

    seen: list = []
    answers: dict = {}

    def do_GET(self):
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


@pytest.mark.parametrize(
    "record_answer, paths, outcome, has_record",
    [
        ((200, RECORD), ["/api-keys/apikey_x"], Outcome.ACCEPTED, True),  # one request verifies and reads the record
        ((403, INVALID), ["/api-keys/apikey_x"], Outcome.REJECTED, False),
        ((500, b"{}"), ["/api-keys/apikey_x"], Outcome.UNAVAILABLE, False),
        ((403, FORBIDDEN), ["/api-keys/apikey_x", "/event-types"], Outcome.ACCEPTED, False),  # then verified elsewhere
        ((404, b"{}"), ["/api-keys/apikey_x", "/event-types"], Outcome.ACCEPTED, False),
    ],
)
def test_a_key_with_an_id_is_verified_by_reading_its_own_record(record_answer, paths, outcome, has_record):
    server = serve(
        type(
            "Paddle",
            (Scripted,),
            {"seen": [], "answers": {"/api-keys/apikey_x": record_answer, "/event-types": (200, EVENT_TYPES)}},
        )
    )
    try:
        check = PaddleVerifier({"paddle": f"http://127.0.0.1:{server.server_port}"}, timeout=3).check(
            "paddle", Secret(KEY), "apikey_x"
        )
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
            "paddle", Secret(KEY), None
        )
        assert server.RequestHandlerClass.seen == ["/event-types"] and check.outcome is Outcome.REJECTED
    finally:
        server.shutdown()


# -- Paddle's own answers (tests/data/paddle, vendored with their provenance) -----------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "paddle"
ERRORS = json.loads((FIXTURES / "errors.json").read_text())
EVENT_TYPES_BODY = (FIXTURES / "event_types.list_default.json").read_bytes()


def record_body(fixture: str, **changes) -> tuple[str, bytes]:
    """A GET /api-keys/{id} answer: the SDK's api_key entity as ``data`` (Paddle's envelope), and its id."""
    entity = {**json.loads((FIXTURES / fixture).read_text()), **changes}
    return entity["id"], json.dumps({"data": entity, "meta": {"request_id": "83fad52c"}}).encode()


def check_against(answers: dict, key_record_id: str | None, timeout: float = 3) -> tuple:
    server = serve(type("Paddle", (Scripted,), {"seen": [], "answers": answers}))
    try:
        check = PaddleVerifier({"paddle": f"http://127.0.0.1:{server.server_port}"}, timeout=timeout).check(
            "paddle", Secret(KEY), key_record_id
        )
        return check, server.RequestHandlerClass.seen
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    "fixture",
    [
        "api_key.created.json",
        "api_key.updated.json",
        "api_key.expiring.json",
        "api_key.expired.json",
        "api_key.revoked.json",
    ],
)
def test_paddles_api_key_entity_is_read_as_the_keys_record(fixture):
    key_id, body = record_body(fixture)
    entity = json.loads(body)["data"]
    check, seen = check_against({f"/api-keys/{key_id}": (200, body)}, key_id)
    assert check.outcome is Outcome.ACCEPTED and seen == [f"/api-keys/{key_id}"]
    assert check.record.status == entity["status"]
    assert check.record.expires_at == datetime.fromisoformat(entity["expires_at"].replace("Z", "+00:00"))
    used = entity["last_used_at"]
    assert check.record.last_used_at == (datetime.fromisoformat(used.replace("Z", "+00:00")) if used else None)
    assert check.record.permissions == tuple(entity["permissions"])
    assert check.record.rotatable is entity.get("rotatable")


@pytest.mark.parametrize(
    "changes, last_used, permissions, rotatable",
    [
        ({"last_used_at": None, "permissions": None}, None, None, True),  # never used; a legacy key's null
        ({"last_used_at": "yesterday", "permissions": "all"}, None, None, True),  # unreadable: unknown, no failure
        ({"permissions": ["a.read", 7], "rotatable": "yes"}, "2025-04-21", None, None),
        ({"rotatable": False}, "2025-04-21", 4, False),
    ],
)
def test_what_paddles_record_does_not_say_clearly_is_unknown_and_the_key_still_verified(
    changes, last_used, permissions, rotatable
):
    key_id, body = record_body("api_key.updated.json")
    answer = json.loads(body)
    answer["data"].update(changes)
    check, _ = check_against({f"/api-keys/{key_id}": (200, json.dumps(answer).encode())}, key_id)
    assert check.outcome is Outcome.ACCEPTED and check.record.status == "active"
    assert (check.record.last_used_at.date().isoformat() if check.record.last_used_at else None) == last_used
    assert (len(check.record.permissions) if check.record.permissions else None) == permissions
    assert check.record.rotatable is rotatable


def test_paddles_event_types_list_verifies_a_key_without_an_id():
    check, seen = check_against({"/event-types": (200, EVENT_TYPES_BODY)}, None)
    assert check.outcome is Outcome.ACCEPTED and seen == ["/event-types"] and check.record is None


@pytest.mark.parametrize(
    "answers, key_record_id",
    [
        ({"/api-keys/apikey_x": (200, b"<html>Upstream gateway says hello</html>")}, "apikey_x"),
        ({"/api-keys/apikey_x": (200, b"")}, "apikey_x"),
        ({"/api-keys/apikey_x": (200, b'["not", "an", "entity"]')}, "apikey_x"),
        ({"/api-keys/apikey_x": (200, record_body("api_key.created.json")[1])}, "apikey_x"),  # another key's record
        ({"/event-types": (200, b"<html>Upstream gateway says hello</html>")}, None),
        ({"/event-types": (200, b'{"data": {"not": "a list"}}')}, None),
    ],
)
def test_a_200_that_is_not_paddles_answer_is_never_verified(answers, key_record_id):
    check, _ = check_against(answers, key_record_id)
    assert check.outcome is Outcome.UNAVAILABLE and check.reason == "unexpected_answer"
    assert "Paddle answered unexpectedly" in check.message and "Nothing was saved" in check.message


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_paddles_documented_refusals_become_what_to_do(code):
    documented = ERRORS[code]
    answer = (documented["status"], json.dumps(documented["body"]).encode())
    check, seen = check_against({"/api-keys/apikey_x": answer, "/event-types": answer}, "apikey_x")
    assert check.outcome is Outcome.REJECTED and check.reason == code  # the code, for support and the audit
    assert code not in check.message and "Paddle" in check.message  # words to act on, not the code
    # forbidden on its own record is want of permission: the key is then tried on /event-types
    assert seen == (["/api-keys/apikey_x", "/event-types"] if code == "forbidden" else ["/api-keys/apikey_x"])
    if code == "invalid_token":
        assert (
            "invalid or has been revoked: create a new one in Paddle › Developer tools › Authentication"
            in check.message
        )


class Dawdling(BaseHTTPRequestHandler):
    """Each answer comes just inside the timeout given to the client: a per-read bound never fires."""

    protocol_version = "HTTP/1.1"
    seen: list = []
    pause = 0.0
    trickle_headers = False
    closed = threading.Event()

    def do_GET(self):
        type(self).seen.append(self.path)
        if self.trickle_headers:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Padding: " + b"x" * 200:
                time.sleep(self.pause)
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    type(self).closed.set()
                    return
            return
        time.sleep(self.pause)
        body = EVENT_TYPES_BODY if self.path == "/event-types" else b'{"error": {"code": "not_found"}}'
        self.send_response(200 if self.path == "/event-types" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


POOLS = pytest.mark.parametrize("pool_class", [ConnectionPool, Urllib3Pool], ids=["shortcut", "urllib3"])


@POOLS
def test_the_timeout_bounds_both_requests_of_a_check_together(pool_class):
    # Each answer takes 0.7 of the timeout: either alone is in time, the two together are not.
    server = serve(type("Paddle", (Dawdling,), {"seen": [], "pause": 0.7}))
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        check = PaddleVerifier({"paddle": url}, timeout=1.0, pool=pool_class()).check("paddle", Secret(KEY), "apikey_x")
        assert server.RequestHandlerClass.seen == ["/api-keys/apikey_x", "/event-types"]
        assert check.outcome is Outcome.UNAVAILABLE and check.reason == "timeout"
        assert "did not answer in time" in check.message
    finally:
        server.shutdown()


@POOLS
def test_the_timeout_bounds_trickled_headers_and_the_connection_is_closed(pool_class):
    handler = type(
        "Paddle", (Dawdling,), {"seen": [], "pause": 0.2, "trickle_headers": True, "closed": threading.Event()}
    )
    server = serve(handler)
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        check = PaddleVerifier({"paddle": url}, timeout=1.0, pool=pool_class()).check("paddle", Secret(KEY), None)
        assert check.outcome is Outcome.UNAVAILABLE and check.reason == "timeout"
        assert handler.closed.wait(10)  # the client hung up; the server did not finish its answer
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    "authorization, code",
    [
        (None, "authentication_missing"),
        ("Basic abc", "authentication_malformed"),
        ("Bearer pdl_live_apikey_unknown", "invalid_token"),
    ],
)
def test_the_fake_paddle_refuses_as_paddle_documents(authorization, code):
    """What `credbot check` and the verifier rely on: the fake's refusals are Paddle's documented bodies, 403."""
    import urllib.error
    import urllib.request

    from tests.kit.fakes import FakePaddle

    fake = FakePaddle().start()
    try:
        headers = {"Authorization": authorization} if authorization else {}
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(urllib.request.Request(fake.url + "/", headers=headers), timeout=5)
        body = json.loads(answer.value.read())
        assert answer.value.code == 403 and body["error"] == {**ERRORS[code]["body"]["error"]}
        assert set(body) == {"error", "meta"} and body["meta"]["request_id"]
    finally:
        fake.stop()
