"""Single-workspace mode: an uninstall or a token revocation reaches the operator as one log line that says what
to do (the manifest subscribes to both events; in OAuth mode Bolt's own listeners forget the tokens)."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.kit import settled


def removal(workspace, kind: str) -> dict:
    event = {"type": kind, "event_ts": str(time.time())}
    if kind == "tokens_revoked":
        event["tokens"] = {"bot": ["U0BOT"]}
    return {
        "token": "legacy-verification-token",
        "team_id": workspace.team_id,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": workspace.team_id, "user_id": "U0BOT", "is_bot": True}],
    }


@pytest.mark.parametrize("kind", ["app_uninstalled", "tokens_revoked"])
def test_the_operator_is_told_the_token_no_longer_works(workspace, kind):
    reply = workspace.bot.sender.event(removal(workspace, kind))
    assert reply.status == 200, reply.text  # answered, so Slack does not retry it
    said = settled(workspace.bot.log, lambda log: f"({kind})" in log)
    line = next(line for line in said.splitlines() if f"({kind})" in line)
    assert "ERROR" in line and workspace.team_id in line and "SLACK_BOT_TOKEN no longer works" in line, line
