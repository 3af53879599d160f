"""`serve` when Slack is away or says no, through the real process: waited out with backoff (no traceback, no
exit, SIGTERM still clean), or stopped with exit 2 naming the setting; and what serve leaves on disk."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.kit import BotProcess
from tests.kit.waiting import settled


def socket_mode_bot(tmp_path, slack, **env: str) -> BotProcess:
    bot = BotProcess(tmp_path / "bot", slack, None, None, SLACK_APP_TOKEN="xapp-1-A0001-away-token", **env)
    bot.env.pop("SLACK_SIGNING_SECRET")
    return bot


def stays_up_then_stops_cleanly(bot: BotProcess, shown: Callable[[str], bool]) -> str:
    """Start the bot, wait until its log shows it got as far as ``shown`` says, check that it is still up, and
    stop it: a SIGTERM ends it at once and cleanly."""
    bot.start()
    log = settled(bot.log, shown, timeout=30)
    assert shown(log), log
    assert bot.process.poll() is None, bot.log()  # still waiting for Slack, not exited
    started = time.monotonic()
    assert bot.stop(timeout=15) == 0, bot.log()
    assert time.monotonic() - started < 10
    log = bot.log()
    assert "Traceback" not in log
    return log


WEBSOCKET_REFUSED = "Failed to establish a connection"  # slack-sdk's Socket Mode client, each refused attempt


def unreachable(log: str) -> int:
    return log.count("Slack cannot be reached")


def test_socket_mode_waits_out_an_unreachable_slack_with_backoff(tmp_path, slack, closed_port):
    bot = socket_mode_bot(tmp_path, slack, SLACK_API_URL=f"http://127.0.0.1:{closed_port}/api/")
    log = stays_up_then_stops_cleanly(bot, lambda log: unreachable(log) >= 3)
    attempts = [line for line in log.splitlines() if "Slack cannot be reached" in line]
    assert len(attempts) >= 3 and [a.rsplit("again in ", 1)[1] for a in attempts[:3]] == ["1 s", "2 s", "4 s"]
    assert "ERROR" not in log  # one warning per attempt, nothing louder
    assert "starting anyway" not in log and "connected to Slack" not in log


def test_socket_mode_survives_a_websocket_endpoint_that_refuses(tmp_path, slack, closed_port):
    slack.socket_url = f"ws://127.0.0.1:{closed_port}/link"  # apps.connections.open works, the socket does not
    bot = socket_mode_bot(tmp_path, slack)
    stays_up_then_stops_cleanly(bot, lambda log: log.count(WEBSOCKET_REFUSED) >= 2)


def test_http_mode_waits_out_an_unreachable_slack(tmp_path, slack, closed_port):
    bot = BotProcess(tmp_path / "bot", slack, None, None, SLACK_API_URL=f"http://127.0.0.1:{closed_port}/api/")
    bot.launch()
    log = settled(bot.log, lambda log: unreachable(log) >= 2, timeout=30)
    assert "checking SLACK_BOT_TOKEN: Slack cannot be reached" in log, log
    # HTTP opens only once Slack has answered
    with pytest.raises(OSError):
        urllib.request.urlopen(bot.url + "/healthz", timeout=2)
    assert bot.stop(timeout=15) == 0, bot.log()
    assert "Traceback" not in bot.log()


class RefusingSlack:
    """A Slack Web API that answers every call with ``{"ok": false, "error": <code>}``."""

    def __init__(self, code: str) -> None:
        body = json.dumps({"ok": False, "error": code}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.api_url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("code", ["invalid_auth", "not_authed", "account_inactive"])
def test_a_refused_bot_token_stops_start_up_with_exit_2(code, tmp_path, slack):
    refusing = RefusingSlack(code)
    try:
        bot = socket_mode_bot(tmp_path, slack, SLACK_API_URL=refusing.api_url)
        bot.start()
        assert bot.process.wait(30) == 2
    finally:
        refusing.close()
    last = bot.log().strip().splitlines()[-1]
    assert last.startswith("Credbot cannot start") and code in last and "SLACK_BOT_TOKEN" in last
    assert "Traceback" not in bot.log()


def test_socket_mode_not_enabled_for_the_app_stops_start_up_with_exit_2(tmp_path, slack):
    slack.socket_url = None  # apps.connections.open answers not_configured
    bot = socket_mode_bot(tmp_path, slack)
    bot.start()
    assert bot.process.wait(30) == 2
    last = bot.log().strip().splitlines()[-1]
    assert "not_configured" in last and "SLACK_APP_TOKEN" in last and "Traceback" not in bot.log()


def test_metrics_list_every_family_before_any_request_and_leave_no_folder(tmp_path, slack):
    bot = BotProcess(tmp_path / "bot", slack, None, None, CREDBOT_HTTP_WORKERS="2").start()
    try:
        with urllib.request.urlopen(bot.url + "/metrics", timeout=10) as response:
            text = response.read().decode()
        for family in (
            "credbot_slack_requests_total",
            "credbot_slack_request_seconds",
            "credbot_credentials_created",
            "credbot_verification_failures",
            "credbot_notification_failures",
        ):
            assert f"# TYPE {family}" in text, family
        assert (bot.workdir / "data" / "metrics").is_dir()
    finally:
        assert bot.stop() == 0
    assert not (bot.workdir / "data" / "metrics").exists()
