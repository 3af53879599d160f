"""Socket Mode for real: a loopback websocket server posing as Slack."""

from __future__ import annotations

import time

from tests.fakes.socket_mode import FakeSocketMode
from tests.harness import BotProcess, free_port
from tests.test_operations import scrape, value


def test_slash_command_over_socket_mode_is_acked_and_opens_the_wizard(tmp_path, database, slack, paddle_live,
                                                                      paddle_sandbox):
    with FakeSocketMode() as socket_mode:
        slack.socket_url = socket_mode.url
        metrics_port = free_port()
        bot = BotProcess(tmp_path, slack, paddle_live, paddle_sandbox, SLACK_APP_TOKEN="xapp-1-A0001-test-token",
                         METRICS_PORT=str(metrics_port), **database.provision(tmp_path))
        bot.env.pop("SLACK_SIGNING_SECRET")  # Socket Mode needs none
        bot.start()
        try:
            socket_mode.wait_connected(timeout=20)
            socket_mode.send({
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {"command": "/create-credential", "text": "Over the socket", "team_id": "T0SOCK",
                            "user_id": "U0SOCK", "channel_id": "C0001", "trigger_id": "trg-socket",
                            "response_url": slack.response_url("socket"), "api_app_id": "A0001"},
            })
            assert socket_mode.wait_ack("env-1")["envelope_id"] == "env-1"
            opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == "trg-socket")
            name = next(b for b in opened.json("view")["blocks"] if b.get("block_id") == "name")
            assert name["element"]["initial_value"] == "Over the socket"
            # No HTTP door in Socket Mode, so /metrics has a port of its own; the ack was timed by kind.
            samples = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
            assert value(samples, "credbot_slack_requests_total", kind="command:/create-credential", status="ack") == 1
        finally:
            started = time.monotonic()
            assert bot.stop() == 0, bot.log()
            assert time.monotonic() - started < 10
        assert "xapp-1-A0001-test-token" not in bot.log()
