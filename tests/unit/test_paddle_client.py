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
