"""Rotate with Paddle from the Credentials tab: the menu's key slot, the confirmation, the rotation after the answer,
its refusals (the stored key unchanged), a second click while one runs, and "Paste a new key instead"."""

from __future__ import annotations

import json

import pytest

import threading

from bot.credentials.errors import CredentialError, RotationUnderWay
from bot.credentials.key_rotation import rotate_key
from bot.credentials.types import Workspace as Scope
from tests.kit import InProcessBot, core_service, created_id, view_text
from tests.kit.fakes.paddle import record_id
from tests.kit.waiting import settled


def menu_options(view: dict, credential_id: str) -> dict[str, str]:
    """value -> label of a credential's overflow options."""
    block = next(b for b in view["blocks"] if b.get("block_id") == f"credential_{credential_id}")
    return {o["value"]: o["text"]["text"] for o in block["accessory"]["options"]}


def rotatable(workspace, paddle, name: str) -> tuple[str, str]:
    """A credential whose key Paddle says is rotatable: (its id, its key)."""
    paddle.key_rotatable = True
    key = paddle.new_key("live")
    credential_id = created_id(workspace, name, key)
    assert InProcessBot.settle_all()
    return credential_id, key


def rotations_of(paddle, key: str) -> list:
    """The fake's rotations of this key's record, oldest first (the fake is shared by the tests of a process)."""
    return [made for made in paddle.rotations.made if made.entity["api_key_id"] == record_id(key)]


def open_rotation(workspace, credential_id: str) -> dict:
    workspace.choose(f"rotate:{credential_id}")
    return workspace.opened(lambda v: v.get("callback_id") == "credential_rotate")


def stored_key(bot, credential_id: str) -> str:
    return core_service(bot).reveal(credential_id, "test").reveal()


def test_rotate_with_paddle_stores_a_new_key_under_the_same_id_and_never_shows_it(bot, slack, workspace, paddle_live):
    workspace.open_home()
    credential_id, old_key = rotatable(workspace, paddle_live, "Rotated")
    home = workspace.open_home()
    assert menu_options(home, credential_id)[f"rotate:{credential_id}"] == "Rotate with Paddle"
    modal = open_rotation(workspace, credential_id)
    shown = view_text(modal)
    assert '"initial_value": "300"' in shown and "never shown" in shown and old_key not in shown

    reply = workspace.submit(modal, {"grace_period": "300"})
    assert reply.json()["view"]["callback_id"] == "credential_rotate_rotating"
    done = workspace.view_containing(modal["id"], "was rotated")
    new_key = stored_key(bot, credential_id)
    rotation = rotations_of(paddle_live, old_key)[-1]
    assert new_key == rotation.new_key != old_key and record_id(new_key) == record_id(old_key)
    assert new_key[-4:] in view_text(done)
    assert rotation.entity["status"] == "completed"  # verified once: its first use activated it
    assert old_key in paddle_live.valid_keys  # the grace period: the old secret still works for 300 s
    assert InProcessBot.settle_all()  # the announcement follows the outcome
    events = bot.sql("SELECT action, outcome FROM audit_events WHERE credential_id = :i ORDER BY id", i=credential_id)
    assert events[1:3] == [("credential.rotate", "rotated"), ("credential.test", "ok")]
    announced = [c for c in slack.calls_to("chat.postMessage") if "rotated with Paddle" in view_text(c.params)]
    assert {c.params["channel"] for c in announced} == {"CNOTIFYA", "CNOTIFYB"}
    workspace.published_with(f"…{new_key[-4:]}")
    assert all(new_key not in json.dumps(c.params) for c in slack.calls)  # never shown, never sent to Slack


def test_the_key_slot_says_what_can_be_done_with_the_key(bot, workspace, paddle_live):
    workspace.open_home()
    credential_id, _key = rotatable(workspace, paddle_live, "Slot")
    paddle_live.key_rotatable = False
    other = created_id(workspace, "Not rotatable", paddle_live.new_key("live"))
    unknown = created_id(workspace, "Unknown", paddle_live.new_key("live"))
    bot.sql("UPDATE credentials SET key_rotatable = NULL WHERE id = :i", i=unknown)
    assert InProcessBot.settle_all()
    home = workspace.open_home()
    assert menu_options(home, other)[f"replace:{other}"] == "Replace API key (not rotatable)"
    assert menu_options(home, unknown)[f"replace:{unknown}"] == "Replace API key"
    assert f"rotate:{credential_id}" in menu_options(home, credential_id)
    assert all(len(menu_options(home, i)) == 5 for i in (credential_id, other, unknown))  # Slack's most


@pytest.mark.parametrize("grace", ["-1", "86401", "five", "1e3", ""])
def test_a_grace_period_out_of_paddles_range_is_refused_in_the_ack(bot, workspace, paddle_live, grace):
    workspace.open_home()
    credential_id, key = rotatable(workspace, paddle_live, "Grace")
    reply = workspace.submit(open_rotation(workspace, credential_id), {"grace_period": grace})
    assert "0 to 86400" in reply.json()["errors"]["grace_period"]
    assert not rotations_of(paddle_live, key) and stored_key(bot, credential_id) == key


@pytest.mark.parametrize(
    ("setup", "said"),
    [
        ("not_rotatable", "not created as rotatable"),
        ("down", "Paddle answered HTTP 503"),
        ("garbage", "answered the rotation unexpectedly"),
    ],
)
def test_when_paddle_refuses_or_fails_the_stored_key_is_unchanged_and_the_person_told_what_to_do(
    bot, slack, workspace, paddle_live, setup, said
):
    workspace.open_home()
    credential_id, key = rotatable(workspace, paddle_live, "Refused")
    modal = open_rotation(workspace, credential_id)
    if setup == "not_rotatable":
        paddle_live.key_rotatable = False  # the menu was drawn before Paddle said otherwise
    else:
        paddle_live.mode = setup
    workspace.submit(modal, {"grace_period": "60"})
    again = workspace.view_containing(modal["id"], said)
    assert again["callback_id"] == "credential_rotate" and "unchanged" in view_text(again)
    if setup == "not_rotatable":
        assert "Replace API key" in view_text(again)
    paddle_live.mode = "ok"
    assert stored_key(bot, credential_id) == key and key in paddle_live.valid_keys
    events = bot.sql("SELECT outcome FROM audit_events WHERE action = 'credential.rotate' AND credential_id = :i",
                     i=credential_id)  # fmt: skip
    assert events and ("rotated",) not in events
    assert not [c for c in slack.calls_to("chat.postMessage") if "rotated with Paddle" in view_text(c.params)]


def test_a_second_click_while_a_rotation_runs_starts_nothing(bot, workspace, paddle_live):
    workspace.open_home()
    credential_id, key = rotatable(workspace, paddle_live, "Twice")
    modal = open_rotation(workspace, credential_id)
    paddle_live.hold()  # Paddle answers when the test says so
    try:
        first = workspace.submit(modal, {"grace_period": "300"})
        assert first.json()["view"]["callback_id"] == "credential_rotate_rotating"
        second = workspace.submit(modal, {"grace_period": "300"})
        assert "already running" in second.json()["errors"]["grace_period"]
    finally:
        paddle_live.release()
    workspace.view_containing(modal["id"], "was rotated")
    assert InProcessBot.settle_all()
    assert len(rotations_of(paddle_live, key)) == 1
    rotated = bot.sql(
        "SELECT count(*) FROM audit_events WHERE action = 'credential.rotate' AND outcome = 'rotated' "
        "AND credential_id = :i",
        i=credential_id,
    )
    assert rotated == [(1,)] and stored_key(bot, credential_id) != key


def test_paste_a_new_key_instead_opens_replace_in_the_same_modal(workspace, paddle_live):
    workspace.open_home()
    credential_id, _key = rotatable(workspace, paddle_live, "Instead")
    modal = open_rotation(workspace, credential_id)
    assert workspace.click("credential_rotate_replace_instead", credential_id, view=modal).status == 200
    replace = workspace.slack.wait_for(
        "views.update",
        lambda c: (
            c.params.get("view_id") == modal["id"] and (c.json("view") or {}).get("callback_id") == "credential_replace"
        ),
    )
    assert "New API key" in view_text(replace.params)


def test_a_rotation_from_elsewhere_while_one_runs_is_refused_by_the_cores_claim(bot, workspace, paddle_live):
    """The CLI (or another instance) beside a rotation under way: the claim in the database refuses it at once."""
    workspace.open_home()
    credential_id, key = rotatable(workspace, paddle_live, "Claimed")
    here = Scope("", workspace.team_id)
    outcome: list = []
    paddle_live.hold()
    first = threading.Thread(
        target=lambda: outcome.append(rotate_key(core_service(bot, verify_keys=True), here, "U1", credential_id))
    )
    posts = len([r for r in paddle_live.requests if r.method == "POST"])
    first.start()
    try:
        settled(lambda: len([r for r in paddle_live.requests if r.method == "POST"]), lambda n: n > posts)
        with pytest.raises(RotationUnderWay):
            rotate_key(core_service(bot, verify_keys=True), None, "cli", credential_id, 0)
    finally:
        paddle_live.release()
        first.join(20)
    ((rotated, _checked),) = outcome
    assert rotated.id == credential_id and stored_key(bot, credential_id) == rotations_of(paddle_live, key)[-1].new_key
    assert ("refused", "a rotation is under way") in bot.sql(
        "SELECT outcome, detail FROM audit_events WHERE action = 'credential.rotate' AND credential_id = :i",
        i=credential_id,
    )
    # the claim was let go: a later rotation runs
    again, _ = rotate_key(core_service(bot, verify_keys=True), here, "U1", credential_id, 0)
    assert stored_key(bot, again.id) == rotations_of(paddle_live, key)[-1].new_key != key


def test_a_replace_that_lands_while_paddle_rotates_is_kept(bot, workspace, paddle_live):
    """The rotation stores only over the ciphertext it started from: a Replace meanwhile wins, and says so."""
    workspace.open_home()
    credential_id, _key = rotatable(workspace, paddle_live, "Raced")
    here = Scope("", workspace.team_id)
    failures: list = []

    def rotating() -> None:
        try:
            rotate_key(core_service(bot, verify_keys=True), here, "U1", credential_id)
        except CredentialError as error:
            failures.append(error)

    posts = len([r for r in paddle_live.requests if r.method == "POST"])
    paddle_live.hold()
    rotation = threading.Thread(target=rotating)
    rotation.start()
    try:
        settled(lambda: len([r for r in paddle_live.requests if r.method == "POST"]), lambda n: n > posts)
        replacement = paddle_live.new_key("live")
        core_service(bot).replace_key(here, "U2", credential_id, replacement)  # checks off: Paddle is held
    finally:
        paddle_live.release()
        rotation.join(20)
    (failure,) = failures
    assert "changed while Paddle rotated" in failure.message
    assert stored_key(bot, credential_id) == replacement
    assert ("failed", "the key was changed meanwhile") in bot.sql(
        "SELECT outcome, detail FROM audit_events WHERE action = 'credential.rotate' AND credential_id = :i",
        i=credential_id,
    )
