"""`credbot check` through the real CLI against the fakes: all `ok` and exit 0 on a working deployment; each
thing that is wrong (token, scopes, channel membership, Paddle, database, settings, keys) named on its own line
with exit 1, what depends on it skipped; --json one document; OAuth mode checks every installation's token."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.test_cli_contract import UNREACHABLE_POSTGRES
from tests.e2e.test_oauth import OAUTH, install, tokens_used
from tests.kit import BOT_TOKEN, NOTIFY_CHANNELS, FakePaddle, cli_env, run_cli, test_key
from tests.kit.fakes.slack import manifest_bot_scopes

BOARD = "CBOARDCHK"
ALL_CHECKS = [
    "settings",
    "database",
    "encryption keys",
    "slack token",
    "slack scopes",
    *(f"notification channel {c}" for c in NOTIFY_CHANNELS),
    f"board channel {BOARD}",
    "paddle live",
    "paddle sandbox",
]


def check_env(bot, **overrides: str) -> dict[str, str]:
    paddle = {k: v for k, v in bot.env.items() if k.startswith("PADDLE_")}
    return cli_env(bot) | paddle | {"CREDBOT_BOARD_CHANNEL": BOARD} | overrides


def check(env: dict[str, str], cwd, *args: str) -> subprocess.CompletedProcess:
    return run_cli(["check", *args], env, cwd)


def lines(result: subprocess.CompletedProcess) -> dict[str, str]:
    """Each check's line by the check's name."""
    named = {}
    for line in result.stdout.splitlines():
        named[line.partition(" ")[2].split(": ", 1)[0]] = line
    return named


def failed(result: subprocess.CompletedProcess, *names: str) -> dict[str, str]:
    """Exit 1, one line on stderr naming exactly ``names``, each named as FAIL on stdout."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    named = lines(result)
    assert sorted(n for n, line in named.items() if line.startswith("FAIL ")) == sorted(names), result.stdout
    assert all(name in result.stderr for name in names)
    return named


def test_a_working_deployment_is_all_ok_and_sends_paddle_no_key(bot, tmp_path, paddle_live, paddle_sandbox):
    before = len(paddle_live.requests), len(paddle_sandbox.requests)
    result = check(check_env(bot), tmp_path)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert list(lines(result)) == ALL_CHECKS
    assert all(line.startswith("ok ") for line in result.stdout.splitlines()), result.stdout
    assert result.stderr == ""
    assert BOT_TOKEN not in result.stdout
    probes = paddle_live.requests[before[0] :] + paddle_sandbox.requests[before[1] :]
    assert len(probes) == 2 and all("authorization" not in {k.lower() for k in p.headers} for p in probes)


def test_a_wrong_token_fails_its_check_and_skips_what_needs_it(bot, tmp_path, slack):
    slack.invalid_tokens.add(BOT_TOKEN)
    named = failed(check(check_env(bot), tmp_path), "slack token")
    assert "invalid_auth" in named["slack token"] and "SLACK_BOT_TOKEN" in named["slack token"]
    assert named["slack scopes"].startswith("skipped slack scopes: the token check failed")
    assert named[f"notification channel {NOTIFY_CHANNELS[0]}"].startswith("skipped ")
    assert named["paddle live"].startswith("ok ") and BOT_TOKEN not in named["slack token"]


def test_no_token_at_all_is_named(bot, tmp_path):
    env = {k: v for k, v in check_env(bot).items() if k != "SLACK_BOT_TOKEN"}
    named = failed(check(env, tmp_path), "slack token")
    assert "SLACK_BOT_TOKEN is not set" in named["slack token"]
    assert named[f"board channel {BOARD}"] == f"skipped board channel {BOARD}: no Slack token works"


def test_missing_scopes_are_named_with_reinstall(bot, tmp_path, slack):
    granted = [scope for scope in manifest_bot_scopes() if scope not in ("users:read", "groups:read")]
    slack.token_scopes[BOT_TOKEN] = tuple(granted)
    named = failed(check(check_env(bot), tmp_path), "slack scopes")
    assert "the token lacks groups:read, users:read" in named["slack scopes"]
    assert "reinstall the app" in named["slack scopes"]


def test_a_channel_the_bot_is_not_in_and_one_slack_cannot_find(bot, tmp_path, slack):
    slack.channel_members[NOTIFY_CHANNELS[1]] = False
    slack.channel_info_errors[BOARD] = "channel_not_found"
    outside, board = f"notification channel {NOTIFY_CHANNELS[1]}", f"board channel {BOARD}"
    named = failed(check(check_env(bot), tmp_path), outside, board)
    assert "the bot is not a member" in named[outside] and "/invite @credbot" in named[outside]
    assert "CREDBOT_BOARD_CHANNEL" in named[board] and "/invite @credbot" in named[board]
    assert named[f"notification channel {NOTIFY_CHANNELS[0]}"].startswith("ok ")


def test_paddle_stopped_or_answering_503_fails_that_url(bot, tmp_path, paddle_sandbox):
    stopped = FakePaddle().start()
    url = stopped.url
    stopped.stop()
    paddle_sandbox.mode = "down"
    named = failed(check(check_env(bot, PADDLE_API_URL=url), tmp_path), "paddle live", "paddle sandbox")
    assert "cannot be reached" in named["paddle live"] and "PADDLE_API_URL" in named["paddle live"]
    assert "HTTP 503" in named["paddle sandbox"] and "PADDLE_SANDBOX_API_URL" in named["paddle sandbox"]


def test_an_answer_that_is_not_paddles_refusal_fails(bot, tmp_path, paddle_live):
    paddle_live.mode = "garbage"  # a 200 HTML page: something answers, but not Paddle's API
    named = failed(check(check_env(bot), tmp_path), "paddle live")
    assert "HTTP 200" in named["paddle live"]


def test_an_unreachable_database_skips_the_keys_and_still_checks_slack(bot, tmp_path):
    env = check_env(bot, DATABASE_URL=UNREACHABLE_POSTGRES, CREDBOT_ENCRYPTION_KEYS=test_key("k1"))
    named = failed(check(env, tmp_path), "database")
    assert "127.0.0.1:1" in named["database"] and "hunter2" not in named["database"]
    assert named["encryption keys"].startswith("skipped encryption keys: the database check failed")
    assert named["slack token"].startswith("ok ")


def test_key_material_that_is_not_the_one_first_used_fails_the_key_check(bot, tmp_path):
    configured = bot.env.get("CREDBOT_ENCRYPTION_KEYS") or (bot.workdir / "data" / "encryption.keys").read_text()
    key_id = configured.strip().split(":", 1)[0]
    named = failed(check(check_env(bot, CREDBOT_ENCRYPTION_KEYS=test_key(key_id)), tmp_path), "encryption keys")
    assert f"'{key_id}'" in named["encryption keys"] and "first used with" in named["encryption keys"]


def test_a_settings_problem_is_a_failed_check_not_a_traceback(tmp_path):
    result = check({"PADDLE_TIMEOUT_SECONDS": "soon"}, tmp_path)
    named = failed(result, "settings")
    assert "PADDLE_TIMEOUT_SECONDS" in named["settings"]
    assert all(line.startswith("skipped ") for name, line in named.items() if name != "settings")
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_json_is_one_document(bot, tmp_path, slack):
    good = check(check_env(bot), tmp_path, "--json")
    document = json.loads(good.stdout)
    assert good.returncode == 0 and len(good.stdout.splitlines()) == 1 and document["ok"] is True
    assert [c["name"] for c in document["checks"]] == ALL_CHECKS and all(c["ok"] for c in document["checks"])
    slack.invalid_tokens.add(BOT_TOKEN)
    bad = check(check_env(bot), tmp_path, "--json")
    document = json.loads(bad.stdout)
    assert bad.returncode == 1 and document["ok"] is False and len(bad.stdout.splitlines()) == 1
    by_name = {c["name"]: c for c in document["checks"]}
    assert by_name["slack token"]["status"] == "failed" and by_name["slack scopes"]["status"] == "skipped"


@pytest.fixture
def oauth_bot(start_bot):
    return start_bot(**OAUTH)


def test_oauth_mode_checks_each_installation_by_workspace(oauth_bot, slack, tmp_path):
    first, second = "xoxb-check-first-" + "1" * 16, "xoxb-check-second-" + "2" * 16
    env = check_env(
        oauth_bot, SLACK_CLIENT_ID=OAUTH["SLACK_CLIENT_ID"], SLACK_CLIENT_SECRET=OAUTH["SLACK_CLIENT_SECRET"]
    )
    assert "/slack/install" in failed(check(env, tmp_path), "slack installations")["slack installations"]
    install(oauth_bot, slack, "TCHECKONE", first)
    install(oauth_bot, slack, "TCHECKTWO", second)
    good = check(env, tmp_path)
    assert good.returncode == 0, (good.stdout, good.stderr)
    named = lines(good)
    for team in ("TCHECKONE", "TCHECKTWO"):
        assert named[f"slack token of Team {team} ({team})"].startswith("ok ")
        assert named[f"slack scopes of Team {team} ({team})"].startswith("ok ")
    tokens = {call.header("Authorization") for call in slack.calls_to("auth.test")}
    assert {f"Bearer {first}", f"Bearer {second}"} <= tokens
    assert first not in good.stdout and second not in good.stdout

    slack.invalid_tokens.add(first)
    slack.token_scopes[second] = ("commands",)
    named = failed(
        check(env, tmp_path), "slack token of Team TCHECKONE (TCHECKONE)", "slack scopes of Team TCHECKTWO (TCHECKTWO)"
    )
    assert "reinstall the app in that workspace" in named["slack token of Team TCHECKONE (TCHECKONE)"]
    assert "chat:write" in named["slack scopes of Team TCHECKTWO (TCHECKTWO)"]


def save(bot, scope_id: str, enterprise_id: str = "", **changes) -> None:
    """Settings a workspace saved (through the core, as the Settings view does)."""
    from bot.credentials.audit import AuditLog
    from bot.credentials.types import Workspace as Scope
    from bot.credentials.workspace_settings_save import save_settings
    from bot.infra.db import create_db_engine, session_factory

    engine = create_db_engine(bot.database_url)
    sessions = session_factory(engine)
    try:
        scope = Scope(enterprise_id=scope_id) if scope_id.startswith("E") else Scope(enterprise_id, scope_id)
        save_settings(sessions, AuditLog(sessions), scope, changes, "U0SETTER")
    finally:
        engine.dispose()


def test_each_workspaces_saved_channels_and_groups_are_checked_with_its_own_token(oauth_bot, slack, tmp_path):
    one, org = "xoxb-check-one-" + "1" * 16, "xoxb-check-org-" + "3" * 16
    env = check_env(
        oauth_bot, SLACK_CLIENT_ID=OAUTH["SLACK_CLIENT_ID"], SLACK_CLIENT_SECRET=OAUTH["SLACK_CLIENT_SECRET"]
    )
    install(oauth_bot, slack, "TSAVEDONE", one)
    install(oauth_bot, slack, "TORGMEMBER", org, enterprise_id="ESAVEDORG", org_wide=True)
    save(oauth_bot, "TSAVEDONE", notify_channels=["C0SAVEDIN", "C0SAVEDOUT"], board_channel="C0SAVEDGONE",
         admins=["U0BOSS", "S0GONE", "S0KEPT"])  # fmt: skip
    save(oauth_bot, "ESAVEDORG", notify_channels=["C0ORGNOTE"], viewers=["S0ORGGONE"])
    save(oauth_bot, "TUNINSTALLED", board_channel="C0NOBODY")  # saved, never installed: no token to ask with
    slack.channel_members["C0SAVEDOUT"] = False
    slack.channel_info_errors["C0SAVEDGONE"] = "channel_not_found"
    slack.usergroup_errors["S0GONE"] = slack.usergroup_errors["S0ORGGONE"] = "no_such_subteam"  # as Slack answers

    out = "saved notification channel C0SAVEDOUT of TSAVEDONE"
    gone = "saved board channel C0SAVEDGONE of TSAVEDONE"
    group, org_group = "saved user group S0GONE of TSAVEDONE", "saved user group S0ORGGONE of ESAVEDORG"
    result = check(env, tmp_path)
    named = failed(result, out, gone, group, org_group)
    assert "the bot is not a member: type `/invite @credbot` in that channel" in named[out]
    assert "Home tab's Settings" in named[out] and "Home tab's Settings" in named[gone]
    assert "Slack finds no such channel" in named[gone]
    assert "no such user group" in named[group] and "no such user group" in named[org_group]
    for passed in ("notification channel C0SAVEDIN of TSAVEDONE", "user group S0KEPT of TSAVEDONE",
                   "notification channel C0ORGNOTE of ESAVEDORG"):  # fmt: skip
        assert named[f"saved {passed}"].startswith("ok "), result.stdout
    assert named["saved board channel C0NOBODY of TUNINSTALLED"].startswith("skipped ")
    assert "user group U0BOSS" not in result.stdout  # people are not groups

    def tokens(method: str, key: str, value: str) -> set[str]:
        return {c.header("Authorization") for c in slack.calls_to(method) if c.params.get(key) == value}

    for channel in ("C0SAVEDIN", "C0SAVEDOUT", "C0SAVEDGONE"):
        assert tokens("conversations.info", "channel", channel) == {f"Bearer {one}"}
    assert tokens("conversations.info", "channel", "C0ORGNOTE") == {f"Bearer {org}"}
    assert tokens("usergroups.users.list", "usergroup", "S0GONE") == {f"Bearer {one}"}
    assert tokens("usergroups.users.list", "usergroup", "S0ORGGONE") == {f"Bearer {org}"}
    assert one not in result.stdout and org not in result.stdout

    document = json.loads(check(env, tmp_path, "--json").stdout)
    by_name = {c["name"]: c for c in document["checks"]}
    assert (
        document["ok"] is False
        and by_name[group]["status"] == "failed"
        and "no such user group" in by_name[group]["detail"]
    )


def test_single_workspace_mode_checks_saved_settings_with_the_bot_token(bot, tmp_path, slack):
    save(bot, "TSINGLESAVED", notify_channels=["C0SINGLEOUT"])
    slack.channel_members["C0SINGLEOUT"] = False
    name = "saved notification channel C0SINGLEOUT of TSINGLESAVED"
    assert "/invite @credbot" in failed(check(check_env(bot), tmp_path), name)[name]
    assert tokens_used(slack, "conversations.info")[-1] == f"Bearer {BOT_TOKEN}"
