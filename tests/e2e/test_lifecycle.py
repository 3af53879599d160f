"""Start-up, restart, shutdown, concurrency, and what ends up in logs and on disk."""

from __future__ import annotations

import time

from tests.kit import BotProcess, Workspace, core_service, make_key, make_legacy_key, run_cli, test_key, view_text


def stored_bytes(bot: BotProcess) -> bytes:
    """Everything the bot stored: the SQLite files (WAL included) or every PostgreSQL row."""
    if bot.database_kind == "sqlite":
        return b"".join(p.read_bytes() for p in (bot.workdir / "data").glob("credbot.db*"))
    rows = bot.sql("SELECT * FROM credentials") + bot.sql("SELECT * FROM audit_events")
    return b"".join(
        bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode() for row in rows for value in row
    )


def test_bad_settings_stop_start_up_with_every_problem_and_exit_2(tmp_path):
    result = run_cli(
        ["serve"],
        {
            "SLACK_BOT_TOKEN": "xoxp-user-token",
            "PORT": "http",
            "CREDBOT_VERIFY_KEYS": "maybe",
            "CREDBOT_NOTIFY_CHANNELS": "#finance",
            "CREDBOT_ENCRYPTION_KEYS": "k1:short",
            "LOG_LEVEL": "LOUD",
            "PADDLE_API_URL": "ftp://paddle",
        },
        tmp_path,
    )
    assert result.returncode == 2
    err = result.stderr
    assert "Traceback" not in err
    for needle in (
        "SLACK_BOT_TOKEN must start with 'xoxb-'",
        "SLACK_SIGNING_SECRET is not set",
        "PORT must be",
        "CREDBOT_VERIFY_KEYS must be true or false",
        "'#finance' is not a channel ID",
        "key id 'k1'",
        "LOG_LEVEL must be one of",
        "PADDLE_API_URL must be an http(s) URL",
    ):
        assert needle in err, needle


def test_settings_can_come_from_a_dot_env_file(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nPORT=notaport\n")
    result = run_cli(["serve"], {}, tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" not in result.stderr.split("PORT")[0].replace("SLACK_SIGNING_SECRET", "")
    assert "PORT must be a whole number" in result.stderr


def test_database_url_without_keys_is_refused(tmp_path):
    result = run_cli(["db", "upgrade"], {"DATABASE_URL": f"sqlite:///{tmp_path}/other.db"}, tmp_path)
    assert result.returncode == 2
    assert "CREDBOT_ENCRYPTION_KEYS is not set" in result.stderr and "keys generate" in result.stderr


def test_keys_generate_prints_a_usable_key(tmp_path):
    result = run_cli(["keys", "generate", "--key-id", "2026a"], {}, tmp_path)
    assert result.returncode == 0
    key = result.stdout.strip()
    assert key.startswith("2026a:")
    env = {"CREDBOT_ENCRYPTION_KEYS": key, "DATABASE_URL": f"sqlite:///{tmp_path}/k.db"}
    assert run_cli(["db", "upgrade"], env, tmp_path).returncode == 0  # keys status only reads: it creates no database
    check = run_cli(["keys", "status"], env, tmp_path)
    assert check.returncode == 0, check.stderr
    assert "2026a\tprimary\t0 credential(s)" in check.stdout


def test_embedded_default_generates_a_private_key_file_once(tmp_path, slack, paddle_live, paddle_sandbox):
    bot = BotProcess(tmp_path / "embedded", slack, paddle_live, paddle_sandbox)  # SQLite only: no DATABASE_URL
    try:
        bot.start()
        key_file = bot.workdir / "data" / "encryption.keys"
        assert key_file.stat().st_mode & 0o777 == 0o600
        first = key_file.read_text()
        assert bot.log().count("Back this file up") == 1
        assert bot.stop() == 0
        bot.start()
        assert key_file.read_text() == first
        assert bot.log().count("Back this file up") == 1
    finally:
        bot.stop()


def test_restart_keeps_every_credential_readable_and_sigterm_is_clean(start_bot, slack, paddle_live, paddle_sandbox):
    bot = start_bot()
    workspace = Workspace(bot, slack)
    keys = {
        "Before restart live": paddle_live.new_key("live"),
        "Before restart sandbox": paddle_sandbox.new_key("sandbox"),
    }
    for name, key in keys.items():
        view, _ = workspace.run_wizard(name, "paddle" if "live" in name else "paddle_sandbox", key)
        assert "Credential created" in view_text(workspace.outcome(view["id"]))
    started = time.monotonic()
    assert bot.stop() == 0
    assert time.monotonic() - started < 10
    bot.start()
    body = workspace.command("/list-credentials").json()
    assert all(name in view_text(body) for name in keys)
    core = core_service(bot)
    page = core.queries.list(scope(workspace))
    for item in page.items:
        assert core.reveal(item.id, "test", scope(workspace)).reveal() == keys[item.name]


def scope(workspace):
    from bot.credentials.types import Workspace as Scope

    return Scope(workspace.enterprise_id or "", workspace.team_id)


def test_start_up_refuses_when_a_stored_key_id_is_not_configured(start_bot, database, slack, tmp_path, paddle_live):
    key_a, key_b = test_key("keyA"), test_key("keyB")  # `keys generate` itself: test_keys_generate_prints_a_usable_key
    db_url = database.new_url("shared")
    bot = start_bot(DATABASE_URL=db_url, CREDBOT_ENCRYPTION_KEYS=key_a)
    workspace = Workspace(bot, slack)
    view, _ = workspace.run_wizard("Under key A", "paddle", paddle_live.new_key("live"))
    assert "Credential created" in view_text(workspace.outcome(view["id"]))
    bot.stop()
    result = run_cli(
        ["serve"],
        {k: v for k, v in bot.env.items() if k != "PYTHONPATH"} | {"CREDBOT_ENCRYPTION_KEYS": key_b},
        tmp_path,
    )
    assert result.returncode == 2
    assert "'keyA' (1 credential)" in result.stderr and "Traceback" not in result.stderr
    # With A kept as a decrypt-only key, B primary, it starts and A's credential still reads.
    bot.env["CREDBOT_ENCRYPTION_KEYS"] = f"{key_b},{key_a}"
    bot.start()
    core = core_service(bot)
    item = core.queries.list(scope(workspace)).items[0]
    assert core.reveal(item.id, "test", scope(workspace)).reveal().startswith("pdl_live_apikey_")


def test_debug_log_and_database_never_contain_the_key(start_bot, slack, paddle_live):
    bot = start_bot(LOG_LEVEL="DEBUG")
    workspace = Workspace(bot, slack)
    good = paddle_live.new_key("live")
    legacy = make_legacy_key()
    paddle_live.valid_keys.add(legacy)
    rejected = make_key("live", "never-valid")
    wrong_env = make_key("sdbx", "wrong-env")
    for name, key in (
        ("Debug good", good),
        ("Debug legacy", legacy),
        ("Debug rejected", rejected),
        ("Debug wrong env", wrong_env),
    ):
        view, _ = workspace.run_wizard(name, "paddle", key)
        if key is not wrong_env:
            workspace.outcome(view["id"])
    bot.stop()  # a graceful stop: the announcements under way finish first
    log = bot.log()
    # The run really was at DEBUG: Bolt's dispatch and slack-sdk's API calls (with the views) were logged.
    assert "DEBUG slack_bolt" in log and "DEBUG slack_sdk" in log and "views.update" in log
    for secret in (good, legacy, rejected, wrong_env, bot.env["SLACK_BOT_TOKEN"], bot.env["SLACK_SIGNING_SECRET"]):
        assert secret not in log
    data = stored_bytes(bot)
    for secret in (good, legacy, rejected, wrong_env):
        assert secret.encode() not in data


def test_no_admins_configured_means_everyone_may_create_with_one_warning(bot, workspace):
    assert workspace.open_wizard()["callback_id"] == "credential_wizard:name"
    assert bot.log().count("CREDBOT_ADMINS is not set") == 1


def test_malformed_admin_ids_stop_start_up(tmp_path):
    result = run_cli(
        ["serve"],
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s" * 32,
            "CREDBOT_ADMINS": "U0GOOD,@alice",
            "CREDBOT_VIEWERS": "#finance",
        },
        tmp_path,
    )
    assert result.returncode == 2
    assert "CREDBOT_ADMINS: '@alice' is not a Slack user id" in result.stderr
    assert "CREDBOT_VIEWERS: '#finance'" in result.stderr
