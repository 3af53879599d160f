"""Every secret read from NAME_FILE through the real bot and CLI (issue 13): the bot starts and works with its
secrets in files only, and both-set or a missing file stop `serve` with exit 2 and one line naming them."""

from __future__ import annotations

import subprocess

from tests.kit import test_key
from tests.kit import BotProcess, Workspace, run_python, view_text

SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CREDBOT_ENCRYPTION_KEYS", "DATABASE_URL")


def as_files(bot_env: dict[str, str], folder) -> dict[str, str]:
    """The same settings with each secret moved into a file (with a trailing newline, as editors write them)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(bot_env)
    for name in SECRETS:
        if name in env:
            path = folder / name.lower()
            path.write_text(env.pop(name) + "\n")
            path.chmod(0o600)
            env[f"{name}_FILE"] = str(path)
    return env


def serve(bot: BotProcess, env: dict[str, str]) -> subprocess.CompletedProcess:
    bot.workdir.mkdir(parents=True, exist_ok=True)
    return run_python(["-m", "bot", "serve"], env, bot.workdir)


def refusal(result: subprocess.CompletedProcess) -> str:
    """Exit 2 and the settings report (one headline, one line per problem), no traceback."""
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("Credbot cannot start"), result.stderr
    return result.stderr


def test_the_bot_runs_with_every_secret_from_a_file(database, tmp_path, slack, paddle_live, paddle_sandbox):
    workdir = tmp_path / "bot"
    settings = database.provision(workdir) | {"CREDBOT_ENCRYPTION_KEYS": test_key("filed")}
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **settings)
    plain, bot.env = bot.env, as_files(bot.env, tmp_path / "secrets")
    assert not any(name in bot.env for name in SECRETS)
    bot.start()
    bot.env = plain  # for the test's own look at the database
    try:
        workspace = Workspace(bot, slack)
        view, _ = workspace.run_wizard("From files", "paddle", paddle_live.new_key("live"))
        assert "Credential created" in view_text(workspace.outcome(view["id"])), bot.log()
        assert bot.sql("SELECT encryption_key_id FROM credentials") == [("filed",)]
    finally:
        bot.stop()
        bot.close_database()


def test_both_set_and_missing_file_stop_serve_naming_them(database, tmp_path, slack, paddle_live, paddle_sandbox):
    bot = BotProcess(tmp_path / "bot", slack, paddle_live, paddle_sandbox)
    filed = as_files(bot.env, tmp_path / "secrets")
    both = refusal(serve(bot, filed | {"SLACK_BOT_TOKEN": bot.env["SLACK_BOT_TOKEN"]}))
    assert "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set" in both
    assert bot.env["SLACK_BOT_TOKEN"] not in both
    missing = tmp_path / "secrets" / "nowhere"
    gone = refusal(serve(bot, filed | {"SLACK_SIGNING_SECRET_FILE": str(missing)}))
    assert "SLACK_SIGNING_SECRET_FILE" in gone and str(missing) in gone
