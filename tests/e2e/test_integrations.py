"""Use by integrations: the Python API and `python -m bot credentials list|show|reveal`, from other processes."""

from __future__ import annotations

import json

from tests.kit import REPO, cli_env, created_id, run_cli, run_python


def test_cli_lists_shows_and_reveals_only_to_stdout(bot, slack, workspace, paddle_live, paddle_sandbox, tmp_path):
    live_key, sandbox_key = paddle_live.new_key("live"), paddle_sandbox.new_key("sandbox")
    live_id = created_id(workspace, "For the billing job", live_key)
    sandbox_id = created_id(workspace, "For staging", sandbox_key, "paddle_sandbox")
    env = cli_env(bot) | {"LOG_LEVEL": "DEBUG"}

    listed = run_cli(["credentials", "list", "--destination", "paddle_sandbox", "--json"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)  # one JSON array
    assert sandbox_id in [r["id"] for r in rows] and live_id not in [r["id"] for r in rows]
    assert all(r["destination"] == "paddle_sandbox" for r in rows)
    table = run_cli(["credentials", "list"], env, tmp_path).stdout
    assert table.splitlines()[0].startswith("id\tname\tdestination") and live_id in table and live_key not in table

    shown = run_cli(["credentials", "show", live_id], env, tmp_path)
    assert "name\tFor the billing job" in shown.stdout
    assert f"key_expires_at\t{paddle_live.key_expires_at[:10]}" in shown.stdout
    assert live_key not in shown.stdout + shown.stderr

    revealed = run_cli(["credentials", "reveal", live_id], env, tmp_path)
    assert revealed.returncode == 0 and revealed.stdout == live_key  # nothing else, not even a newline
    assert live_key not in revealed.stderr  # at DEBUG too: the key goes to stdout only
    trail = bot.sql(
        "SELECT action, actor FROM audit_events WHERE credential_id = :i AND action = 'credential.reveal'", i=live_id
    )
    assert len(trail) == 1 and trail[0][1].startswith("cli:")

    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        missing = run_cli(["credentials", "reveal", bad], env, tmp_path)
        assert missing.returncode == 1 and "no credential with id" in missing.stderr and not missing.stdout


def test_python_api_works_from_another_process(bot, workspace, paddle_live):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Via the API", key)
    program = (
        "import json, sys\n"
        "from bot.api import get_api_key, list_credentials, CredentialGone\n"
        f"key = get_api_key({credential_id!r})\n"
        "names = [c.name for c in list_credentials('paddle')]\n"
        "try:\n"
        "    get_api_key('00000000-0000-0000-0000-000000000000')\n"
        "    missing = 'found?'\n"
        "except CredentialGone:\n"
        "    missing = 'gone'\n"
        "print(json.dumps({'key': key, 'names': names, 'missing': missing}))\n"
    )
    env = cli_env(bot) | {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(bot.workdir)}
    result = run_python(["-c", program], env, bot.workdir)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["key"] == key and "Via the API" in answer["names"] and answer["missing"] == "gone"
    assert bot.sql(
        "SELECT actor FROM audit_events WHERE credential_id = :i AND action = 'credential.reveal'", i=credential_id
    )[0][0].startswith("api:")
