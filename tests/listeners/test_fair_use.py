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
    paddle_live.mode = "held"  # Paddle answers nothing until the test says (the bot gives up after 1.5 s)
    calls_before = len(paddle_live.requests)
    for click in range(40):  # 8 people, 5 clicks each, over 4 credentials
        assert viewers[click % 8].choose(f"test:{ids[click % 4]}").status == 200

    other = Workspace(bot, slack, team_id=workspace.team_id, user_id="U0OTHER")
    trigger = slack.issue_trigger("trg-" + uuid.uuid4().hex)  # good for 3 s, as Slack's
    assert other.command("/create-credential", trigger_id=trigger).status == 200
    opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, timeout=10)
    assert opened.response["ok"], opened.response  # not expired_trigger_id: the modal opened in time

    paddle_live.release()
    assert bot.settle()  # every click answered; the checks have finished and published
    answers = [view_text(c.json("view") or {}) for c in slack.calls_to("views.open")]
    refused = [text for text in answers if already_running("paddle") in text]
    started = [text for text in answers if "Testing `Flooded" in text]
    # Each click was refused as running or started a check (one Paddle request each). How many of each depends on
    # the machine's speed: the bot gives up on a held check after 1.5 s, and a click after that starts the next one
    # (one check per credential at a time is pinned by tests/listeners/test_check_claims.py).
    assert len(refused) + len(started) == 40 and refused
    assert len(paddle_live.requests) - calls_before == len(started)


def test_a_person_gets_a_few_checks_a_minute(bot, slack, workspace, paddle_live):
    service = core_service(bot)
    ids = [seed(service, workspace, f"Limited {i}").id for i in range(7)]
    for credential_id in ids:
        workspace.choose(f"test:{credential_id}")
    workspace.opened(lambda v: "Paddle checks in the last minute" in view_text(v))
    assert bot.settle()  # the checks started here have finished and published: nothing lands in the next test


def test_the_final_stage_spends_the_same_allowance_and_a_refusal_keeps_the_modal_and_saves_nothing(
    bot, slack, workspace, paddle_live
):
    from bot.slack.fair_use import CHECKS_PER_PERSON

    for number in range(CHECKS_PER_PERSON - 1):
        view, reply = workspace.run_wizard(f"Allowed {number}", "paddle", paddle_live.new_key("live"))
        assert reply.json()["response_action"] == "update"
        assert "Credential created" in view_text(workspace.outcome(view["id"]))
    credential_id = seed(core_service(bot), workspace, "Tested").id
    workspace.choose(f"test:{credential_id}")  # the sixth check of the minute
    assert bot.settle()
    before = len(paddle_live.requests)
    view, reply = workspace.run_wizard("One too many", "paddle", paddle_live.new_key("live"))
    body = reply.json()
    assert body["response_action"] == "errors" and "Paddle checks in the last minute" in body["errors"]["api_key"]
    assert bot.settle()
    assert len(paddle_live.requests) == before  # Paddle was not asked
    assert not bot.sql("SELECT 1 FROM credentials WHERE name = 'One too many'")
    assert not [c for c in slack.calls_to("views.update") if c.params.get("view_id") == view["id"]]  # left as typed
    other = Workspace(bot, slack, team_id=workspace.team_id, user_id="U0SOMEONEELSE")
    view, reply = other.run_wizard("One too many", "paddle", paddle_live.new_key("live"))  # another's allowance
    assert "Credential created" in view_text(other.outcome(view["id"]))


def test_with_key_checks_off_the_final_stage_asks_nothing_of_paddle_and_spends_no_allowance(
    start_bot, slack, paddle_live
):
    from bot.slack.fair_use import CHECKS_PER_PERSON
    from tests.kit import DOCUMENTED_KEYS

    bot = start_bot(CREDBOT_VERIFY_KEYS="false")
    workspace = Workspace(bot, slack)
    for number in range(CHECKS_PER_PERSON + 1):
        view, _ = workspace.run_wizard(f"Unchecked {number}", "paddle", DOCUMENTED_KEYS["live"])
        assert "Credential created" in view_text(workspace.outcome(view["id"]))
    assert bot.sql("SELECT count(*) FROM provider_checks") == [(0,)]


def test_the_allowance_is_the_setting(start_bot, slack, paddle_live):
    bot = start_bot(CREDBOT_PROVIDER_CHECKS_PER_MINUTE="2")
    workspace = Workspace(bot, slack)
    for number in range(2):
        view, _ = workspace.run_wizard(f"Set {number}", "paddle", paddle_live.new_key("live"))
        assert "Credential created" in view_text(workspace.outcome(view["id"]))
    _, reply = workspace.run_wizard("Set 2", "paddle", paddle_live.new_key("live"))
    assert "You have started 2 Paddle checks in the last minute" in reply.json()["errors"]["api_key"]
