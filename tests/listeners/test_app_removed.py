"""Single-workspace mode: an uninstall or a token revocation reaches the operator as one log line that says what
to do (the manifest subscribes to both events; in OAuth mode Bolt's own listeners forget the tokens)."""

from __future__ import annotations

import pytest

from tests.kit import settled


@pytest.mark.parametrize("kind", ["app_uninstalled", "tokens_revoked"])
def test_the_operator_is_told_the_token_no_longer_works(workspace, kind):
    event = {"type": kind, **({"tokens": {"bot": ["U0BOT"]}} if kind == "tokens_revoked" else {})}
    reply = workspace.send_event(event)
    assert reply.status == 200, reply.text  # answered, so Slack does not retry it
    said = settled(workspace.bot.log, lambda log: f"({kind})" in log)
    line = next(line for line in said.splitlines() if f"({kind})" in line)
    assert "ERROR" in line and workspace.team_id in line and "SLACK_BOT_TOKEN no longer works" in line, line
