"""What operators watch: GET /metrics (Prometheus) and LOG_FORMAT=json."""

from __future__ import annotations

import json

from tests.kit import Workspace, command_body, make_key, view_text
from tests.kit.metrics import scrape, value


def test_metrics_count_requests_credentials_and_failures_by_kind(bot, slack, workspace, paddle_live):
    before = scrape(bot.url + "/metrics")
    view, _ = workspace.run_wizard("Metered", "paddle", paddle_live.new_key("live"))
    assert "Credential created" in view_text(workspace.outcome(view["id"]))
    view, _ = workspace.run_wizard("Refused key", "paddle", make_key("live", "never-valid"))
    workspace.outcome(view["id"])
    bot.wait_idle()  # the earlier wizards' announcements are done: the failure below is this one's
    slack.channel_failures["CNOTIFYA"] = "not_in_channel"
    view, _ = workspace.run_wizard("Unannounced", "paddle", paddle_live.new_key("live"))
    workspace.view_containing(view["id"], "did not get the announcement")
    forged = bot.sender.post(command_body(), "application/x-www-form-urlencoded", sign=False)
    assert forged.status == 401
    after = scrape(bot.url + "/metrics")

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("credbot_slack_requests_total", kind="command:/create-credential", status="200") == 3
    for stage in ("name", "entity_type", "destination", "api_key"):
        assert (
            delta("credbot_slack_requests_total", kind=f"view_submission:credential_wizard:{stage}", status="200") == 3
        )
    assert delta("credbot_slack_requests_total", kind="unverified", status="401") == 1
    assert delta("credbot_slack_request_seconds_count", kind="command:/create-credential") == 3
    assert delta("credbot_slack_request_seconds_bucket", kind="command:/create-credential", le="+Inf") == 3
    assert delta("credbot_credentials_created_total", destination="paddle") == 2
    assert delta("credbot_verification_failures_total", reason="invalid_token") == 1
    assert delta("credbot_notification_failures_total", error="not_in_channel") == 1


def test_metrics_are_summed_over_several_workers(start_bot, slack):
    bot = start_bot(CREDBOT_HTTP_WORKERS="2", CREDBOT_HTTP_THREADS="2")
    workspace = Workspace(bot, slack)
    for _ in range(12):  # spread over both workers by the kernel
        assert workspace.command("/list-credentials").status == 200
    samples = scrape(bot.url + "/metrics")
    assert value(samples, "credbot_slack_requests_total", kind="command:/list-credentials", status="200") == 12
    # every listing reads the database while Slack waits: its round trips are counted against the request kind
    assert value(samples, "credbot_db_round_trips_total", kind="statement", request="command:/list-credentials") >= 12
    assert list((bot.workdir / "data" / "metrics").glob("*/*.db"))  # prometheus-client's multiprocess files
    bot.stop()
    assert not list((bot.workdir / "data" / "metrics").glob("*/*.db"))  # the per-run directory is removed


def test_json_logs_are_one_redacted_object_per_line(start_bot, slack, paddle_live):
    bot = start_bot(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    workspace = Workspace(bot, slack)
    key = paddle_live.new_key("live")
    view, _ = workspace.run_wizard("Logged as JSON", "paddle", key)
    workspace.view_containing(view["id"], "Announced in")
    bot.stop()
    lines = [line for line in bot.log().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(e["logger"].startswith("slack_bolt") and e["level"] == "DEBUG" for e in entries)
    assert key not in bot.log() and bot.env["SLACK_BOT_TOKEN"] not in bot.log()


def test_a_bad_log_format_is_a_settings_problem(tmp_path):
    from tests.kit import run_cli

    result = run_cli(["serve"], {"LOG_FORMAT": "xml"}, tmp_path)
    assert result.returncode == 2 and "LOG_FORMAT must be text or json" in result.stderr
