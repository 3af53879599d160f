"""The daily look at every key through the real server and the real command: `credentials look` (the pass the
server's loop runs, once) reads each key's record with the fake Paddle; the server's Home tab then shows the key's
last use and flags one idle for CREDBOT_UNUSED_KEY_DAYS; a key revoked at Paddle without any notification is found
by the next day's look and alerted in its workspace's channels, once. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.kit import NOTIFY_CHANNELS, cli_env, created_id, run_cli, view_text


def look(bot, tmp_path, now: datetime | None = None):
    env = cli_env(bot) | {k: v for k, v in bot.env.items() if k.startswith("PADDLE_") and k.endswith("_URL")}
    result = run_cli(["credentials", "look", *(["--now", now.isoformat()] if now else [])], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return result


def alerts(slack, credential_id: str) -> list:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and "key_alert" in view_text(c.params)
    ]


def test_the_daily_look_updates_last_use_and_flags_an_idle_key(bot, workspace, paddle_live, tmp_path):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Idle billing", key)
    bot.wait_idle()
    paddle_live.key_last_used_at = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = bot.sql("SELECT key_last_used_at FROM credentials WHERE id = :i", i=credential_id)[0][0]
    result = look(bot, tmp_path, datetime.now(UTC) + timedelta(days=1))
    assert f"accepted\t{credential_id}" in result.stdout and "key(s) looked at: " in result.stderr
    after = bot.sql("SELECT key_last_used_at FROM credentials WHERE id = :i", i=credential_id)[0][0]
    assert after is not None and after != before
    home = view_text(workspace.open_home())
    assert "(per Paddle): not used for 30+ days" in home
    shown = run_cli(["credentials", "show", credential_id, "--json"], cli_env(bot), tmp_path)
    assert '"unused": true' in shown.stdout and key not in shown.stdout + result.stdout + result.stderr


def test_a_key_revoked_at_paddle_without_a_notification_is_found_and_alerted_once(
    bot, slack, workspace, paddle_live, tmp_path
):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Quietly revoked", key)
    bot.wait_idle()
    paddle_live.valid_keys.discard(key)  # revoked in Paddle's dashboard; no notification destination is set up
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    result = look(bot, tmp_path, tomorrow)
    assert f"refused (alerted)\t{credential_id}" in result.stdout
    sent = alerts(slack, credential_id)
    assert {c.params["channel"] for c in sent} == set(NOTIFY_CHANNELS)
    assert "now refuses the API key" in view_text(sent[0].params) and key not in view_text(sent[0].params)
    assert ":x: Paddle refused the key" in view_text(workspace.open_home())
    # The next day's look finds it refused still: nothing more is said.
    again = look(bot, tmp_path, tomorrow + timedelta(days=1))
    assert f"refused\t{credential_id}" in again.stdout
    assert len(alerts(slack, credential_id)) == len(NOTIFY_CHANNELS)


def test_credentials_look_without_a_slack_token_is_one_line_and_exit_2(bot, tmp_path):
    env = cli_env(bot) | {"SLACK_BOT_TOKEN": ""}
    result = run_cli(["credentials", "look"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("credbot credentials look: SLACK_BOT_TOKEN")
    assert bot.sql("SELECT count(*) FROM workspace_jobs WHERE job = 'key_look'") == [(0,)]
