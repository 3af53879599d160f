"""Fair use of Paddle checks (security finding 6): one check per credential at a time, a per-person rate, and a
pool of their own so that a flood of Test clicks never delays another person's wizard."""

from __future__ import annotations

import uuid

from bot.slack.fair_use import already_running
from tests.kit import Workspace, core_service, seed, view_text


def test_a_flood_of_test_clicks_with_a_slow_paddle_leaves_the_wizard_opening_in_time(
    bot, slack, workspace, paddle_live
):
    service = core_service(bot)
    ids = [seed(service, workspace, f"Flooded {i}").id for i in range(4)]
    viewers = [Workspace(bot, slack, team_id=workspace.team_id, user_id=f"U0VIEWER{i}") for i in range(8)]
    paddle_live.mode, paddle_live.slow_seconds = "slow", 2
    calls_before = len(paddle_live.requests)
    for click in range(40):  # 8 people, 5 clicks each, over 4 credentials
        assert viewers[click % 8].choose(f"test:{ids[click % 4]}").status == 200

    other = Workspace(bot, slack, team_id=workspace.team_id, user_id="U0OTHER")
    trigger = slack.issue_trigger("trg-" + uuid.uuid4().hex)  # good for 3 s, as Slack's
    assert other.command("/create-credential", trigger_id=trigger).status == 200
    opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, timeout=10)
    assert opened.response["ok"], opened.response  # not expired_trigger_id: the modal opened in time

    refusals = [c for c in slack.calls_to("views.open") if already_running("paddle") in view_text(c.json("view") or {})]
    assert len(refusals) >= 30
    assert bot.settle()  # the four checks have finished and published
    assert len(paddle_live.requests) - calls_before <= len(ids)  # one check (one request) per credential


def test_a_person_gets_a_few_checks_a_minute(bot, slack, workspace, paddle_live):
    service = core_service(bot)
    ids = [seed(service, workspace, f"Limited {i}").id for i in range(7)]
    for credential_id in ids:
        workspace.choose(f"test:{credential_id}")
    workspace.opened(lambda v: "Paddle checks in the last minute" in view_text(v))
    assert bot.settle()  # the checks started here have finished and published: nothing lands in the next test
