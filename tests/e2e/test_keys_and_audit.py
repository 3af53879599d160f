"""Key rotation without loss, and the audit trail on the command line."""

from __future__ import annotations

import json

from tests.kit import Workspace, core_service, run_cli, seed, test_key, view_text


def scope(workspace):
    from bot.credentials.types import Workspace as Scope

    return Scope(workspace.enterprise_id or "", workspace.team_id)


def status(env: dict, tmp_path) -> dict[str, tuple[str, int]]:
    result = run_cli(["keys", "status"], env, tmp_path)
    assert result.returncode == (1 if "MISSING" in result.stdout else 0), result.stderr  # 1: a stored key is missing
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    return {key_id: (role, int(count.split()[0])) for key_id, role, count in rows}


def test_rotate_from_key_a_to_b_then_drop_a_and_every_credential_still_decrypts(
    start_bot, database, slack, paddle_live, paddle_sandbox, tmp_path
):
    key_a, key_b = test_key("keyA"), test_key("keyB")
    db_url = database.new_url("rotation")
    bot = start_bot(DATABASE_URL=db_url, CREDBOT_ENCRYPTION_KEYS=key_a)
    workspaces = [Workspace(bot, slack), Workspace(bot, slack, enterprise_id="E0ROT")]
    originals: dict[str, str] = {}
    for workspace in workspaces:  # through the wizard, and seeded in bulk
        key = paddle_live.new_key("live")
        view, _ = workspace.run_wizard(f"Wizard {workspace.team_id}", "paddle", key)
        assert "Credential created" in view_text(workspace.outcome(view["id"]))
        originals[f"Wizard {workspace.team_id}"] = key
        core = core_service(bot)
        for number in range(6):
            key = paddle_sandbox.new_key("sandbox")
            seed(core, workspace, f"Seeded {number}", "paddle_sandbox", key)
            originals[f"Seeded {number}@{workspace.team_id}"] = key
    assert bot.stop() == 0

    env = {"DATABASE_URL": db_url, "CREDBOT_ENCRYPTION_KEYS": f"{key_b},{key_a}"}
    assert status(env, tmp_path) == {"keyB": ("primary", 0), "keyA": ("configured", 14)}

    # An interrupted run (here: stopped after one batch of 5) keeps its work; the next run finishes it.
    partial = run_cli(["keys", "rotate", "--batch-size", "5", "--max-batches", "1"], env, tmp_path)
    assert partial.returncode == 0, partial.stderr
    assert "run the command again to continue" in partial.stdout
    assert status(env, tmp_path) == {"keyB": ("primary", 5), "keyA": ("configured", 9)}
    full = run_cli(["keys", "rotate", "--batch-size", "4"], env, tmp_path)
    assert full.returncode == 0, full.stderr
    assert "done: 9 re-encrypted in 3 batch(es)" in full.stdout
    assert "nothing to rotate" in run_cli(["keys", "rotate"], env, tmp_path).stdout
    assert status(env, tmp_path) == {"keyB": ("primary", 14), "keyA": ("configured", 0)}

    # Key A removed: the bot starts, and every credential decrypts to the key that was typed.
    bot.env["CREDBOT_ENCRYPTION_KEYS"] = key_b
    bot.start()
    core = core_service(bot)
    seen = 0
    for workspace in workspaces:
        for item in core.queries.list(scope(workspace), limit=50).items:
            label = item.name if item.name.startswith("Wizard") else f"{item.name}@{workspace.team_id}"
            assert core.reveal(item.id, "test", scope(workspace)).reveal() == originals[label]
            seen += 1
    assert seen == 14
    assert "Traceback" not in bot.log()
    audit = run_cli(["audit", "--json"], {**env, "CREDBOT_ENCRYPTION_KEYS": key_b}, tmp_path)
    rotations = [event for event in json.loads(audit.stdout) if event["action"] == "keys.rotate"]
    assert [r["detail"] for r in rotations] == [
        "5 credential(s) re-encrypted under 'keyB'",
        "4 credential(s) re-encrypted under 'keyB'",
        "4 credential(s) re-encrypted under 'keyB'",
        "1 credential(s) re-encrypted under 'keyB'",
    ]


def test_rotation_refuses_while_a_stored_key_id_is_missing(start_bot, database, slack, paddle_live, tmp_path):
    key_a, key_b = test_key("keyA"), test_key("keyB")
    db_url = database.new_url("missing")
    bot = start_bot(DATABASE_URL=db_url, CREDBOT_ENCRYPTION_KEYS=key_a)
    seed(core_service(bot), Workspace(bot, slack), "Under A")
    bot.stop()
    result = run_cli(["keys", "rotate"], {"DATABASE_URL": db_url, "CREDBOT_ENCRYPTION_KEYS": key_b}, tmp_path)
    assert result.returncode == 2
    assert "'keyA' (1 credential)" in result.stderr and "Traceback" not in result.stderr
    assert status({"DATABASE_URL": db_url, "CREDBOT_ENCRYPTION_KEYS": key_b}, tmp_path)["keyA"] == ("MISSING", 1)


def test_audit_command_prints_who_did_what_filtered_by_time_and_credential(
    bot, slack, workspace, paddle_live, tmp_path
):
    from tests.kit import make_key

    view, _ = workspace.run_wizard("Audited", "paddle", paddle_live.new_key("live"))
    created = workspace.outcome(view["id"])
    credential_id = (
        next(b for b in created["blocks"] if b.get("block_id") == "created")["text"]["text"]
        .split("ID `")[1]
        .split("`")[0]
    )
    view, _ = workspace.run_wizard("Audited rejected", "paddle", make_key("live", "never-valid"))
    workspace.outcome(view["id"])
    workspace.command("/list-credentials")
    env = {k: v for k, v in bot.env.items() if k in ("DATABASE_URL", "CREDBOT_ENCRYPTION_KEYS", "CREDBOT_DATA_DIR")}

    everything = run_cli(["audit", "--since", "10m"], env, tmp_path)
    assert everything.returncode == 0, everything.stderr
    lines = [line.split("\t") for line in everything.stdout.splitlines()]
    assert lines[0][:4] == ["time (UTC)", "action", "outcome", "actor"]
    mine = [line for line in lines[1:] if line[4] == workspace.team_id]
    assert [(line[1], line[2], line[3]) for line in mine] == [
        ("credential.create", "created", "U0ALICE"),
        ("credential.verify", "rejected", "U0ALICE"),
        ("credential.list", "listed", "U0ALICE"),
    ]
    assert "invalid_token" in mine[1][6]

    one = run_cli(["audit", "--credential", credential_id, "--json"], env, tmp_path)
    events = json.loads(one.stdout)
    assert [(e["action"], e["credential_id"]) for e in events] == [("credential.create", credential_id)]
    assert run_cli(["audit", "--since", "2999-01-01"], env, tmp_path).stdout == ""
    bad = run_cli(["audit", "--since", "last tuesday"], env, tmp_path)
    assert bad.returncode == 2 and "use an ISO date" in bad.stderr
    # Never a secret: the whole trail holds no key, token or ciphertext.
    trail = run_cli(["audit", "--json"], env, tmp_path).stdout
    assert "pdl_" not in trail and bot.env["SLACK_BOT_TOKEN"] not in trail
