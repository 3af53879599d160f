"""Paddle's rotation of a key (bot/providers/paddle_rotation.py) against the fake Paddle, which answers as Paddle's API
reference documents ``POST /api-keys/{id}/rotations``: only a new key of the same record and environment is taken,
every refusal says what to do, a redirect is never followed, and the whole call is bounded."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from bot.credentials.types import Outcome
from bot.infra.secret import Secret
from bot.providers.paddle import PaddleVerifier
from bot.providers.paddle_rotation import PaddleRotator
from tests.kit.fakes.paddle import FakePaddle, record_id
from tests.unit.test_paddle_client import Recorder, serve


@pytest.fixture
def paddle():
    """A fake Paddle of this test's own (unit tests start no shared fake)."""
    with FakePaddle() as fake:
        yield fake


def rotator(fake, timeout: float = 3.0) -> PaddleRotator:
    return PaddleRotator({"paddle": fake.url, "paddle_sandbox": fake.url}, timeout=timeout)


def test_a_rotatable_key_gets_a_new_secret_of_the_same_record(paddle):
    paddle.key_rotatable = True
    old = paddle.new_key("live")
    rotation = rotator(paddle).rotate("paddle", Secret(old), record_id(old), 300)
    assert rotation.outcome is Outcome.ACCEPTED and rotation.new_key is not None
    new = rotation.new_key.reveal()
    assert new != old and record_id(new) == record_id(old) and new.startswith("pdl_live_apikey_")
    assert new not in repr(rotation)
    made = paddle.rotations.made[-1]
    assert made.entity["status"] == "pending" and made.entity["grace_period_seconds"] == 300
    assert made.entity["id"].startswith("apkrot_") and len(made.entity["id"]) == 33
    request = paddle.requests[-1]
    assert (request.method, request.path) == ("POST", f"/api-keys/{record_id(old)}/rotations")


def test_the_new_secret_activates_on_first_use_and_the_old_one_lasts_the_grace_period(paddle):
    paddle.key_rotatable = True
    old = paddle.new_key("live")
    for grace, old_still_works in ((0, False), (300, True)):
        key = paddle.new_key("live") if grace else old
        new = rotator(paddle).rotate("paddle", Secret(key), record_id(key), grace).new_key
        verifier = PaddleVerifier({"paddle": paddle.url}, timeout=3)
        assert verifier.check("paddle", Secret(key), record_id(key)).accepted  # not yet activated: both work
        assert verifier.check("paddle", new, record_id(key)).accepted  # the first use activates it
        assert verifier.check("paddle", Secret(key), record_id(key)).accepted is old_still_works
        assert paddle.rotations.made[-1].entity["status"] == "completed"


def test_a_key_that_is_not_rotatable_is_told_to_use_replace(paddle):
    old = paddle.new_key("live")
    rotation = rotator(paddle).rotate("paddle", Secret(old), record_id(old), 300)
    assert (rotation.outcome, rotation.reason, rotation.new_key) == (Outcome.REJECTED, "not_rotatable", None)
    assert "Replace API key" in rotation.message and "unchanged" in rotation.message
    assert all(made.old_key != old for made in paddle.rotations.made)


def test_a_key_rotates_only_itself_and_a_revoked_key_not_at_all(paddle):
    paddle.key_rotatable = True
    mine, other = paddle.new_key("live"), paddle.new_key("live")
    assert rotator(paddle).rotate("paddle", Secret(mine), record_id(other), 300).reason == "forbidden"
    paddle.valid_keys.discard(mine)
    refused = rotator(paddle).rotate("paddle", Secret(mine), record_id(mine), 300)
    assert (refused.outcome, refused.reason) == (Outcome.REJECTED, "invalid_token")
    assert "Replace API key" in refused.message


@pytest.mark.parametrize(
    "body", [{}, {"grace_period_seconds": -1}, {"grace_period_seconds": 86401}, {"grace_period_seconds": "300"}]
)
def test_the_fake_answers_a_body_that_does_not_pass_validation_as_paddle_does(paddle, body):
    paddle.key_rotatable = True
    key = paddle.new_key("live")
    request = urllib.request.Request(
        f"{paddle.url}/api-keys/{record_id(key)}/rotations",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=3)
    error = json.loads(refused.value.read())["error"]
    assert refused.value.code == 400 and error["code"] == "invalid_field"
    assert error["errors"][0]["field"] == "grace_period_seconds"


def test_the_grace_period_is_checked_before_anything_is_sent(paddle):
    key, before = paddle.new_key("live"), len(paddle.requests)
    with pytest.raises(ValueError):
        rotator(paddle).rotate("paddle", Secret(key), record_id(key), 86401)
    assert len(paddle.requests) == before


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        ({"api_key_id": "apikey_01" + "x" * 24}, "another key's rotation"),
        ({"new_key": None}, "no new key"),
        ({"new_key": "pdl_sdbx_apikey_01" + "a" * 24 + "_" + "b" * 26}, "a key of the other environment"),
        ({"new_key": "pdl_live_apikey_01" + "c" * 24 + "_" + "b" * 26}, "a new secret of another record"),
        ({"new_key": "not a key"}, "not a key"),
    ],
)
def test_a_200_not_shaped_as_paddles_rotation_of_this_key_is_a_failure(paddle, answer, what):
    paddle.key_rotatable = True
    paddle.rotation_answer = answer
    key = paddle.new_key("live")
    rotation = rotator(paddle).rotate("paddle", Secret(key), record_id(key), 300)
    assert (rotation.outcome, rotation.reason, rotation.new_key) == (Outcome.UNAVAILABLE, "unexpected_answer", None), (
        what
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("down", "http_503"),
        ("error500", "http_500"),
        ("garbage", "unexpected_answer"),
        ("wrong_record", "unexpected_answer"),
        ("rate_limited", "rate_limited"),
    ],
)
def test_paddle_failing_is_unavailable_and_issues_no_key(paddle, mode, reason):
    paddle.key_rotatable = True
    paddle.mode = mode
    key = paddle.new_key("live")
    rotation = rotator(paddle).rotate("paddle", Secret(key), record_id(key), 300)
    assert (rotation.outcome, rotation.reason, rotation.new_key) == (Outcome.UNAVAILABLE, reason, None)
    assert "unchanged" in rotation.message


def test_a_slow_paddle_is_a_timeout_within_the_whole_calls_bound(paddle, closed_port):
    paddle.key_rotatable = True
    paddle.hold()
    key = paddle.new_key("live")
    started = time.monotonic()
    rotation = rotator(paddle, timeout=0.5).rotate("paddle", Secret(key), record_id(key), 300)
    assert (rotation.outcome, rotation.reason) == (Outcome.UNAVAILABLE, "timeout")
    assert time.monotonic() - started < 3
    gone = PaddleRotator({"paddle": f"http://127.0.0.1:{closed_port}"}, timeout=1).rotate(
        "paddle", Secret(key), record_id(key), 300
    )
    assert gone.reason == "unreachable"


def test_a_redirect_is_not_followed_and_the_key_stays_home():
    elsewhere = serve(type("Elsewhere", (Recorder,), {"seen": [], "status": 201}))
    target = f"http://127.0.0.1:{elsewhere.server_port}/elsewhere"
    origin = serve(type("Origin", (Recorder,), {"seen": [], "status": 307, "location": target}))
    origin.RequestHandlerClass.do_POST = origin.RequestHandlerClass.do_GET
    key = "pdl_live_apikey_01" + "a" * 24 + "_" + "b" * 26
    try:
        rotation = PaddleRotator({"paddle": f"http://127.0.0.1:{origin.server_port}"}, timeout=3).rotate(
            "paddle", Secret(key), "apikey_01" + "a" * 24, 300
        )
        assert rotation.outcome is Outcome.UNAVAILABLE and rotation.new_key is None
        assert origin.RequestHandlerClass.seen and elsewhere.RequestHandlerClass.seen == []
    finally:
        origin.shutdown()
        elsewhere.shutdown()
