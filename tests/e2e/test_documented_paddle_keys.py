"""Paddle's documented example keys, and keys with "_" and "-" anywhere in the secret, through the real server:
the wizard over HTTP takes them, and the fake Paddle receives each as the bearer of the key check."""

from __future__ import annotations

import pytest

from tests.kit import DOCUMENTED_KEYS, core_service, scope, view_text
from tests.kit.fakes.paddle import SHAPES


def created(workspace, name: str, destination: str, key: str) -> str:
    view, reply = workspace.run_wizard(name, destination, key)
    assert reply.json()["response_action"] == "update"  # past the offline check
    outcome = workspace.outcome(view["id"])
    assert "Credential created" in view_text(outcome), view_text(outcome)
    text = next(b for b in outcome["blocks"] if b.get("block_id") == "created")["text"]["text"]
    return text.split("ID `")[1].split("`")[0]


@pytest.mark.parametrize("marker, destination", [("live", "paddle"), ("sdbx", "paddle_sandbox")])
def test_paddles_documented_example_key_reaches_paddle_and_is_stored(
    bot, workspace, paddle_live, paddle_sandbox, marker, destination
):
    key = DOCUMENTED_KEYS[marker]
    fake = paddle_live if marker == "live" else paddle_sandbox
    fake.valid_keys.add(key)
    before = len(fake.requests)
    credential_id = created(workspace, f"Documented {marker}", destination, key)
    asked = [r for r in fake.requests[before:] if r.headers.get("Authorization") == f"Bearer {key}"]
    assert [r.path for r in asked] == ["/api-keys/apikey_01gtgztp8f4kek3yd4g1wrksa3"]
    assert core_service(bot).reveal(credential_id, "test", scope(workspace)).reveal() == key


@pytest.mark.parametrize("shape", SHAPES)
def test_keys_with_underscores_and_hyphens_anywhere_reach_paddle_and_are_stored(bot, workspace, paddle_live, shape):
    key = paddle_live.new_key("live", f"e2e-{shape}", shape)
    before = len(paddle_live.requests)
    credential_id = created(workspace, f"Shape {shape}", "paddle", key)
    assert any(r.headers.get("Authorization") == f"Bearer {key}" for r in paddle_live.requests[before:])
    assert core_service(bot).reveal(credential_id, "test", scope(workspace)).reveal() == key
