"""`reminders run` in OAuth mode through real processes (issue 22): two commands at the same moment over twenty
installed workspaces, against a fake Slack that answers a tenth of the calls 429 with Retry-After: 1; every due
reminder goes out exactly once, in its own workspace's channels, with its own token, and the two split the work.
(tests/listeners/test_workspace_jobs.py runs the 200-workspace pass with two instances in one process.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from tests.e2e.test_oauth import CLIENT_ID, CLIENT_SECRET, OAUTH
from tests.kit import Workspace, cli_env, core_service, run_cli, seed, view_text

NOW = datetime(2030, 6, 1, 9, 0, tzinfo=UTC)


def test_two_reminders_commands_at_once_send_each_due_reminder_once_with_each_workspaces_token(
    start_bot, slack, tmp_path
):
    from slack_sdk.oauth.installation_store import Installation

    from bot.infra.db import session_factory
    from bot.slack.oauth.installation_store import SealedInstallationStore
    from tests.kit.seeding import _core_parts

    bot = start_bot(**OAUTH)
    _, engine, key_ring = _core_parts(bot)
    store = SealedInstallationStore(session_factory(engine), key_ring, client_id=CLIENT_ID)
    service, expected = core_service(bot), {}
    for n in range(20):
        team = Workspace(bot, slack, team_id=f"T0CLI{n:05d}", user_id=f"U0CLI{n:05d}")
        token = f"xoxb-cli-{n:03d}-" + "d" * 20
        store.save(Installation(app_id="A0001", team_id=team.team_id, user_id="U0INSTALLER", bot_token=token,
                                bot_id="BBOT", bot_user_id="U0BOT"))  # fmt: skip
        expected[seed(service, team, f"Cli due {n}").id] = f"Bearer {token}"
    soon = NOW + timedelta(days=2)
    bot.sql(
        "UPDATE credentials SET key_expires_at = :t",
        t=soon.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if bot.database_kind == "sqlite" else soon,
    )
    slack.reset()
    slack.rate_limit_fraction, slack.rate_limit_retry_after = 0.1, 1
    env = cli_env(bot) | {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_BOT_TOKEN": ""}
    results: dict[int, object] = {}

    def run(n: int) -> None:
        results[n] = run_cli(["reminders", "run", "--now", NOW.isoformat()], env, tmp_path / f"run{n}")

    for path in ("run0", "run1"):
        (tmp_path / path).mkdir()
    threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    printed = []
    for n in (0, 1):
        result = results[n]
        assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
        assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
        printed.append({line.split("\t")[1] for line in result.stdout.splitlines()})  # type: ignore[attr-defined]
    assert not printed[0] & printed[1] and printed[0] | printed[1] == set(expected)
    assert slack.rate_limited > 0
    for credential_id, token in expected.items():
        sent = [
            (c.params["channel"], c.header("Authorization"))
            for c in slack.calls_to("chat.postMessage")
            if c.status == 200 and credential_id in view_text(c.params)
        ]
        assert sent == [("CNOTIFYA", token), ("CNOTIFYB", token)], credential_id
