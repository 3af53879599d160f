"""Socket Mode for real: a loopback websocket server posing as Slack."""

from __future__ import annotations

import json
import time

from tests.e2e.test_hardening_http import AWKWARD_KEYS
from tests.kit.metrics import scrape, value
from tests.kit import BotProcess, FakeSocketMode, free_port


def test_slash_command_over_socket_mode_is_acked_and_opens_the_wizard(
    tmp_path, database, slack, paddle_live, paddle_sandbox
):
    with FakeSocketMode() as socket_mode:
        slack.socket_url = socket_mode.url
        metrics_port = free_port()
        bot = BotProcess(
            tmp_path,
            slack,
            paddle_live,
            paddle_sandbox,
            SLACK_APP_TOKEN="xapp-1-A0001-test-token",
            METRICS_PORT=str(metrics_port),
            **database.provision(tmp_path),
        )
        bot.env.pop("SLACK_SIGNING_SECRET")  # Socket Mode needs none
        bot.start()
        try:
            socket_mode.wait_connected(timeout=20)
            socket_mode.send(
                {
                    "envelope_id": "env-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": {
                        "command": "/create-credential",
                        "text": "Over the socket",
                        "team_id": "T0SOCK",
                        "user_id": "U0SOCK",
                        "channel_id": "C0001",
                        "trigger_id": "trg-socket",
                        "response_url": slack.response_url("socket"),
                        "api_app_id": "A0001",
                    },
                }
            )
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


def test_socket_mode_debug_logs_never_show_the_key_or_tokens(tmp_path, database, slack, paddle_live, paddle_sandbox):
    """slack-sdk's Socket Mode client logs every frame at DEBUG; the key typed in the modal is in one."""
    from tests.kit import Workspace

    key = paddle_live.new_key("live")
    with FakeSocketMode() as socket_mode:
        slack.socket_url = socket_mode.url
        bot = BotProcess(
            tmp_path,
            slack,
            paddle_live,
            paddle_sandbox,
            SLACK_APP_TOKEN="xapp-1-A0001-debug-token",
            LOG_LEVEL="DEBUG",
            **database.provision(tmp_path),
        )
        bot.env.pop("SLACK_SIGNING_SECRET")
        bot.start()
        try:
            socket_mode.wait_connected(timeout=20)
            workspace = Workspace(bot, slack, team_id="T0SOCKDEBUG")
            view = {
                "id": "V0SOCKDEBUG",
                "callback_id": "credential_wizard:api_key",
                "private_metadata": json.dumps(
                    {"v": 1, "stage": "api_key", "name": "Socket debug", "entity_type": "bill", "destination": "paddle"}
                ),
            }
            socket_mode.send(
                {
                    "envelope_id": "env-key",
                    "type": "interactive",
                    "accepts_response_payload": True,
                    "payload": workspace.submission(view, {"api_key": key}),
                }
            )
            socket_mode.wait_ack("env-key")
            assert "Credential created" in json.dumps(workspace.outcome("V0SOCKDEBUG"))
            for number, awkward in enumerate(AWKWARD_KEYS):  # masked whole, whatever they hold
                socket_mode.send(
                    {
                        "envelope_id": f"env-awkward-{number}",
                        "type": "interactive",
                        "accepts_response_payload": True,
                        "payload": workspace.submission(view, {"api_key": awkward}),
                    }
                )
                socket_mode.wait_ack(f"env-awkward-{number}")
        finally:
            assert bot.stop() == 0, bot.log()
    log = bot.log()
    assert "DEBUG slack_sdk.socket_mode" in log or "DEBUG slack_bolt.socket_mode" in log  # frames were logged
    assert "api_key_input" in log  # …including the one carrying the key,
    assert key not in log and key[-30:] not in log  # …with the key masked
    assert "xapp-1-A0001-debug-token" not in log and bot.env["SLACK_BOT_TOKEN"] not in log
    for fragment in ("horse battery", "battery staple", "defghijklmnop", "secretpart", "quoted", "newline and"):
        assert fragment not in log, fragment
