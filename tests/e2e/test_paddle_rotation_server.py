"""Rotation through Paddle through the real server and the real CLI, on SQLite and PostgreSQL (issue 23's "done
when"): Rotate with Paddle stores the new key (the read API and `credentials reveal` give it, with a new version and
ETag), the old ciphertext is gone from the database's files, the audit and the announcement say rotated; a key that
is not rotatable, Paddle refusing and Paddle timing out each leave the stored key working and unchanged; two
submissions at once rotate once."""

from __future__ import annotations

import threading

import pytest

from bot.infra.secret import Secret
from bot.providers.paddle import PaddleVerifier
from tests.e2e.test_read_api_server import get, issue
from tests.e2e.test_residue import assert_gone, ciphertexts, database_files, readable
from tests.kit import Workspace, cli_env, created_id, run_cli, view_text
from tests.kit.fakes.paddle import record_id

ROTATED = "had its API key rotated with Paddle"


def rotations_of(paddle, key: str) -> list:
    """The fake's rotations of this key's record, oldest first (a slow answer of an earlier test may land late)."""
    return [made for made in paddle.rotations.made if made.entity["api_key_id"] == record_id(key)]


def paddle_env(bot) -> dict[str, str]:
    """What `credentials rotate` needs beyond the database and keys: where Paddle is, and its timeout."""
    return cli_env(bot) | {
        k: v for k, v in bot.env.items() if k.startswith("PADDLE_") and k.endswith(("URL", "SECONDS"))
    }


def rotatable_credential(workspace: Workspace, paddle, name: str) -> tuple[str, str]:
    paddle.key_rotatable = True
    key = paddle.new_key("live")
    credential_id = created_id(workspace, name, key)
    workspace.bot.wait_idle()
    return credential_id, key


def submit_rotation(workspace: Workspace, credential_id: str, grace: str = "300") -> dict:
    workspace.choose(f"rotate:{credential_id}")
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_rotate")
    reply = workspace.submit(modal, {"grace_period": grace})
    assert reply.status == 200
    return modal


def reveal(bot, credential_id: str, tmp_path) -> str:
    shown = run_cli(["credentials", "reveal", credential_id], cli_env(bot), tmp_path)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def test_rotate_with_paddle_stores_the_new_key_for_every_reader_and_scrubs_the_old(
    start_bot, slack, paddle_live, tmp_path
):
    bot = start_bot()
    workspace = Workspace(bot, slack)
    workspace.open_home()
    credential_id, old_key = rotatable_credential(workspace, paddle_live, "Rotated")
    token = issue(bot, tmp_path, "--name", "billing job", "--credential", credential_id)
    before = get(bot, f"/v1/credentials/{credential_id}/secret", token)
    assert before.json()["api_key"] == old_key
    old = ciphertexts(bot)
    assert readable(old.values(), database_files(bot)) == list(old.values())

    modal = submit_rotation(workspace, credential_id)
    assert "was rotated" in view_text(workspace.view_containing(modal["id"], "was rotated"))
    bot.wait_idle()

    new_key = rotations_of(paddle_live, old_key)[-1].new_key
    assert new_key != old_key and record_id(new_key) == record_id(old_key)
    after = get(bot, f"/v1/credentials/{credential_id}/secret", token)
    assert after.status == 200 and after.json()["api_key"] == new_key
    assert after.json()["version"] > before.json()["version"] and after.headers["ETag"] != before.headers["ETag"]
    assert reveal(bot, credential_id, tmp_path) == new_key
    assert rotations_of(paddle_live, old_key)[-1].entity["status"] == "completed"  # verified once: activated
    assert_gone(bot, old)
    events = bot.sql("SELECT action, outcome FROM audit_events WHERE credential_id = :i ORDER BY id", i=credential_id)
    assert ("credential.rotate", "rotated") in events
    announced = [c for c in slack.calls_to("chat.postMessage") if ROTATED in view_text(c.params)]
    assert {c.params["channel"] for c in announced} == {"CNOTIFYA", "CNOTIFYB"}
    assert all(new_key not in view_text(c.params) for c in slack.calls)
    bot.stop()
    assert new_key not in bot.log() and old_key not in bot.log()


@pytest.mark.parametrize(
    ("what", "said"),
    [
        ("not rotatable", "not created as rotatable"),
        ("refused", "invalid or has been revoked"),
        ("timeout", "did not answer in time"),
    ],
)
def test_when_paddle_will_not_rotate_the_stored_key_is_unchanged_and_still_works(
    bot, slack, workspace, paddle_live, tmp_path, what, said
):
    workspace.open_home()
    credential_id, key = rotatable_credential(workspace, paddle_live, f"Kept {what}")
    stored = ciphertexts(bot)[credential_id]
    workspace.choose(f"rotate:{credential_id}")
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_rotate")
    if what == "not rotatable":
        paddle_live.key_rotatable = False
    elif what == "refused":
        paddle_live.valid_keys.discard(key)  # revoked at Paddle meanwhile
    else:
        paddle_live.slow_seconds = 5  # longer than PADDLE_TIMEOUT_SECONDS (1.5 in tests)
        paddle_live.mode = "slow"
    workspace.submit(modal, {"grace_period": "300"})
    shown = workspace.view_containing(modal["id"], said)
    assert shown["callback_id"] == "credential_rotate"
    bot.wait_idle()
    paddle_live.mode = "ok"
    paddle_live.valid_keys.add(key)
    assert ciphertexts(bot)[credential_id] == stored and reveal(bot, credential_id, tmp_path) == key
    workspace.choose(f"test:{credential_id}")  # the stored key still works at Paddle
    tested = workspace.opened(lambda v: "Testing" in view_text(v))
    assert "Paddle accepted the key" in view_text(workspace.view_containing(tested["id"], "accepted"))
    outcomes = bot.sql(
        "SELECT outcome FROM audit_events WHERE action = 'credential.rotate' AND credential_id = :i", i=credential_id
    )
    assert outcomes and ("rotated",) not in outcomes
    assert not [c for c in slack.calls_to("chat.postMessage") if ROTATED in view_text(c.params)]


def test_two_submissions_at_once_rotate_once(bot, slack, workspace, paddle_live):
    workspace.open_home()
    credential_id, key = rotatable_credential(workspace, paddle_live, "Double click")
    workspace.choose(f"rotate:{credential_id}")
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_rotate")
    paddle_live.hold()
    answers: list = []
    clicks = [
        threading.Thread(target=lambda: answers.append(workspace.submit(modal, {"grace_period": "300"})))
        for _ in range(2)
    ]
    try:
        for click in clicks:
            click.start()
        for click in clicks:
            click.join(20)
    finally:
        paddle_live.release()
    assert sorted(a.status for a in answers) == [200, 200]
    assert sum("already running" in a.body.decode() or "under way" in a.body.decode() for a in answers) == 1
    workspace.view_containing(modal["id"], "was rotated")
    bot.wait_idle()
    assert len(rotations_of(paddle_live, key)) == 1
    rotated = bot.sql(
        "SELECT count(*) FROM audit_events WHERE action = 'credential.rotate' AND outcome = 'rotated' "
        "AND credential_id = :i",
        i=credential_id,
    )
    assert rotated == [(1,)]
    assert len([c for c in slack.calls_to("chat.postMessage") if ROTATED in view_text(c.params)]) == 2  # 2 channels


def test_credentials_rotate_on_the_command_line(bot, workspace, paddle_live, tmp_path):
    workspace.open_home()
    credential_id, key = rotatable_credential(workspace, paddle_live, "From the CLI")
    done = run_cli(["credentials", "rotate", credential_id, "--grace-seconds", "0"], paddle_env(bot), tmp_path)
    assert done.returncode == 0, done.stderr
    new_key = rotations_of(paddle_live, key)[-1].new_key
    assert f"it now ends …{new_key[-4:]}" in done.stdout and new_key not in done.stdout + done.stderr
    assert reveal(bot, credential_id, tmp_path) == new_key
    # grace 0: the old secret stopped when the verification used the new one (its first use)
    assert not PaddleVerifier({"paddle": paddle_live.url}, timeout=3).check("paddle", Secret(key), None).accepted

    for args, status, words in ((["--grace-seconds", "86401"], 2, "0 to 86400"), (["--grace-seconds", "-5"], 2, "")):
        refused = run_cli(["credentials", "rotate", credential_id, *args], paddle_env(bot), tmp_path)
        assert refused.returncode == status and "Traceback" not in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and words in refused.stderr
    paddle_live.key_rotatable = False
    refused = run_cli(["credentials", "rotate", credential_id], paddle_env(bot), tmp_path)
    assert refused.returncode == 1 and refused.stderr.strip().count("\n") == 0, refused.stderr
    assert "not rotated" in refused.stderr and "Replace API key" in refused.stderr
    assert reveal(bot, credential_id, tmp_path) == new_key
    unknown = run_cli(["credentials", "rotate", "00000000-0000-0000-0000-000000000000"], paddle_env(bot), tmp_path)
    assert unknown.returncode == 1 and "no credential with id" in unknown.stderr
