"""The wizard against Paddle as Paddle is: its documented example keys, keys over its whole URL-safe alphabet,
shapes it may issue that we have not seen, answers that are not Paddle's, and a Paddle that trickles."""

from __future__ import annotations

import pytest

from tests.kit import DOCUMENTED_KEYS, Workspace, make_key, make_legacy_key, view_text
from tests.kit.fakes.paddle import SHAPES


def count_rows(bot, team_id: str) -> int:
    return bot.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=team_id)[0][0]


def sent_with(fake, key: str, since: int) -> list[str]:
    """The paths the fake was asked with exactly this key as the bearer, from request ``since`` on (the fakes
    keep every test's calls)."""
    return [r.path for r in fake.requests[since:] if r.headers.get("Authorization") == f"Bearer {key}"]


def block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


@pytest.mark.parametrize("marker, destination", [("live", "paddle"), ("sdbx", "paddle_sandbox")])
def test_paddles_documented_example_key_is_created_and_sent_to_paddle(
    workspace, paddle_live, paddle_sandbox, marker, destination
):
    key = DOCUMENTED_KEYS[marker]
    fake = paddle_live if marker == "live" else paddle_sandbox
    fake.valid_keys.add(key)
    before = len(fake.requests)
    view, _ = workspace.run_wizard(f"Documented {marker}", destination, key)
    assert "Credential created" in view_text(workspace.outcome(view["id"]))
    assert sent_with(fake, key, before) == ["/api-keys/apikey_01gtgztp8f4kek3yd4g1wrksa3"]


@pytest.mark.parametrize("shape", SHAPES)
def test_keys_with_underscores_and_hyphens_anywhere_in_the_secret_are_created(workspace, paddle_live, shape):
    key = paddle_live.new_key("live", f"shape-{shape}", shape)
    secret = key.rsplit("_apikey_", 1)[1][27:]
    assert shape == "random" or set(secret) & set("_-")
    before = len(paddle_live.requests)
    view, _ = workspace.run_wizard(f"Shape {shape}", "paddle", key)
    assert "Credential created" in view_text(workspace.outcome(view["id"]))
    assert len(sent_with(paddle_live, key, before)) == 1


UNFAMILIAR = {
    "another marker": "pdl_test_apikey_01gtgztp8f4kek3yd4g1wrksa3_q6TGTJyvoIz7LDtXT65bX7_AQO",
    "longer secret": "pdl_live_apikey_01gtgztp8f4kek3yd4g1wrksa3_q6TGTJyvoIz7LDtXT65bX7_AQO-x9_Zq",
    "shorter": make_key("live", "short")[:-3],
}


@pytest.mark.parametrize("shape", sorted(UNFAMILIAR))
def test_an_unfamiliar_shape_is_paddles_to_judge_when_keys_are_verified(bot, workspace, paddle_live, shape):
    key = UNFAMILIAR[shape]
    before = len(paddle_live.requests)
    view, _ = workspace.run_wizard(f"Unfamiliar {shape}", "paddle", key)
    outcome = workspace.outcome(view["id"])  # Paddle does not know it: the person gets Paddle's answer
    assert "Paddle says this key is invalid or has been revoked" in view_text(block(outcome, "problem"))
    assert "`invalid_token`" in view_text(block(outcome, "problem_code"))
    assert sent_with(paddle_live, key, before) and count_rows(bot, workspace.team_id) == 0

    paddle_live.valid_keys.add(key)  # Paddle accepts it: so does Credbot
    try:
        accepted, _ = workspace.run_wizard(f"Accepted {shape}", "paddle", key)
        assert "Credential created" in view_text(workspace.outcome(accepted["id"]))
    finally:
        paddle_live.valid_keys.discard(key)  # the fake outlives the test


def test_an_unfamiliar_shape_is_refused_offline_when_keys_are_not_verified(start_bot, slack, paddle_live):
    bot = start_bot(CREDBOT_VERIFY_KEYS="false")
    workspace = Workspace(bot, slack)
    before = len(paddle_live.requests)
    for key in UNFAMILIAR.values():
        view, reply = workspace.run_wizard("Unconfirmed", "paddle", key)
        assert reply.json()["response_action"] == "errors"
        assert "cannot be confirmed" in reply.json()["errors"]["api_key"] and key not in reply.text
    documented, _ = workspace.run_wizard("Documented", "paddle", DOCUMENTED_KEYS["live"])  # a known shape is fine
    assert "Credential created" in view_text(workspace.outcome(documented["id"]))
    assert paddle_live.requests[before:] == [] and count_rows(bot, workspace.team_id) == 1


@pytest.mark.parametrize("mode, kind", [("garbage", "with id"), ("garbage", "legacy"), ("wrong_record", "with id")])
def test_a_200_that_is_not_paddles_answer_is_not_verified_and_saves_nothing(bot, workspace, paddle_live, mode, kind):
    key = paddle_live.new_key("live") if kind == "with id" else make_legacy_key()
    paddle_live.valid_keys.add(key)
    paddle_live.mode = mode
    view, _ = workspace.run_wizard(f"Unexpected {mode} {kind}", "paddle", key)
    outcome = workspace.outcome(view["id"])
    assert outcome["callback_id"] == "credential_wizard:api_key"
    assert "Paddle answered unexpectedly" in view_text(outcome) and "Nothing was saved" in view_text(outcome)
    assert "`unexpected_answer`" in view_text(block(outcome, "problem_code"))
    assert count_rows(bot, workspace.team_id) == 0
    assert paddle_live.requests  # Paddle was asked: the outcome is its answer's, not an offline refusal


@pytest.mark.parametrize("kind", ["with id", "legacy"])
def test_a_trickling_paddle_ends_as_timed_out_within_the_setting_and_saves_nothing(bot, workspace, paddle_live, kind):
    key = paddle_live.new_key("live") if kind == "with id" else make_legacy_key()
    paddle_live.valid_keys.add(key)
    paddle_live.trickle_abandoned.clear()
    paddle_live.trickle_finished.clear()
    paddle_live.mode, paddle_live.trickle_seconds = "trickle", 0.5  # a byte every 0.5 s: minutes for the body
    view, _ = workspace.run_wizard(f"Trickled {kind}", "paddle", key)  # PADDLE_TIMEOUT_SECONDS is 1.5 here
    outcome = workspace.outcome(view["id"])
    assert "Paddle did not answer in time" in view_text(outcome) and "Nothing was saved" in view_text(outcome)
    assert count_rows(bot, workspace.team_id) == 0
    assert paddle_live.trickle_abandoned.wait(15)  # the bot closed the connection; it did not sit it out
    assert not paddle_live.trickle_finished.is_set()


def test_test_connection_says_what_to_do_with_the_code_apart(workspace, paddle_live):
    from tests.kit import created_id

    workspace.open_home()
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Revoked later", key)
    paddle_live.valid_keys.discard(key)  # revoked in Paddle since
    workspace.choose(f"test:{credential_id}")
    testing = workspace.opened(lambda v: "Testing" in view_text(v))
    result = workspace.view_containing(testing["id"], "Paddle says this key is invalid or has been revoked")
    assert "invalid_token" not in view_text(block(result, "info"))  # words to act on; the code is apart
    assert "`invalid_token`" in view_text(block(result, "problem_code"))
