"""Who the audit trail names for a command (security finding 10): the operating system's account of the process,
with the sudo user beside it, never what LOGNAME or USER claim."""

from __future__ import annotations

import json
import os
import pwd

from tests.kit import Workspace, cli_env, core_service, run_cli, seed, test_key

LIES = {"LOGNAME": "alice.cfo", "USER": "alice.cfo", "LNAME": "alice.cfo", "USERNAME": "alice.cfo"}


def actors(bot, tmp_path, action: str) -> list[str]:
    trail = run_cli(["audit", "--json"], cli_env(bot), tmp_path)
    assert trail.returncode == 0, trail.stderr
    return [event["actor"] for event in json.loads(trail.stdout) if event["action"] == action]


def test_the_cli_names_the_process_user_and_the_sudo_user_never_logname(start_bot, database, slack, tmp_path):
    me = pwd.getpwuid(os.getuid()).pw_name
    key_a, key_b = test_key("keyA"), test_key("keyB")
    bot = start_bot(DATABASE_URL=database.new_url("actors"), CREDBOT_ENCRYPTION_KEYS=key_a)
    core = core_service(bot)
    revealed = seed(core, Workspace(bot, slack), "Revealed")
    seed(core, Workspace(bot, slack, team_id="T0GONE"), "Purged")
    env = cli_env(bot)

    assert run_cli(["credentials", "reveal", revealed.id], env | LIES, tmp_path).returncode == 0
    through_sudo = env | LIES | {"SUDO_USER": "alice", "SUDO_UID": "1000"}
    assert run_cli(["credentials", "reveal", revealed.id], through_sudo, tmp_path).returncode == 0
    forged = env | LIES | {"SUDO_USER": "bob\n2026-01-01 cli:root"}  # a forged line, cut to a name's characters
    assert run_cli(["credentials", "reveal", revealed.id], forged, tmp_path).returncode == 0
    assert actors(bot, tmp_path, "credential.reveal") == [
        f"cli:{me}",
        f"cli:{me} (sudo: alice)",
        f"cli:{me} (sudo: bob?2026-01-01?cli?root)",
    ]

    purge = ["credentials", "purge", "--workspace", "T0GONE", "--yes"]
    assert run_cli(purge, through_sudo, tmp_path).returncode == 0
    assert actors(bot, tmp_path, "credentials_purged") == [f"cli:{me} (sudo: alice)"]
    bot.stop()
    bot.env["CREDBOT_ENCRYPTION_KEYS"] = f"{key_b},{key_a}"
    rotated = run_cli(["keys", "rotate"], cli_env(bot) | LIES | {"SUDO_USER": "alice"}, tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert actors(bot, tmp_path, "keys.rotate") == [f"cli:{me} (sudo: alice)"]

    # The audit table shows the whole actor in its column.
    table = run_cli(["audit", "--limit", "1"], cli_env(bot), tmp_path)
    header, row = (line.split("\t") for line in table.stdout.splitlines())
    assert row[header.index("actor")] == f"cli:{me} (sudo: alice)"
    assert "alice.cfo" not in table.stdout + json.dumps(actors(bot, tmp_path, "credential.reveal"))
