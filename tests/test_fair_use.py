"""Fair use of Paddle checks (security finding 6): one check per credential at a time, a per-person rate, and a
pool of their own so that a flood of Test clicks never delays another person's wizard."""

from __future__ import annotations

import threading
import time
import uuid

from bot.credentials.types import Workspace as Scope
from bot.slack.fair_use import ALREADY_RUNNING, FairUse
from tests.harness import Workspace, core_service, seed, view_text


def settle(slack, quiet: float = 1.0, timeout: float = 20.0) -> None:
    """Wait until the bot has made no Slack call for ``quiet`` seconds: the checks started here have finished
    and published, so nothing of this test lands in the next one's window."""
    deadline = time.monotonic() + timeout
    count = len(slack.calls)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        if len(slack.calls) == count:
            return
        count = len(slack.calls)


def test_a_flood_of_test_clicks_with_a_slow_paddle_leaves_the_wizard_opening_in_time(bot, slack, workspace,
                                                                                    paddle_live):
    service = core_service(bot)
    ids = [seed(service, workspace, f"Flooded {i}").id for i in range(4)]
    viewers = [Workspace(bot, slack, team_id=workspace.team_id, user_id=f"U0VIEWER{i}") for i in range(8)]
    paddle_live.mode, paddle_live.slow_seconds = "slow", 2
    calls_before = len(paddle_live.requests)
    for click in range(40):  # 8 people, 5 clicks each, over 4 credentials
        assert viewers[click % 8].choose(f"test:{ids[click % 4]}").status == 200

    other = Workspace(bot, slack, team_id=workspace.team_id, user_id="U0OTHER")
    trigger = "trg-" + uuid.uuid4().hex
    sent = time.time()
    assert other.command("/create-credential", trigger_id=trigger).status == 200
    opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, timeout=10)
    assert opened.time - sent < 3.0, f"the wizard opened after {opened.time - sent:.1f} s"

    refusals = [c for c in slack.calls_to("views.open") if ALREADY_RUNNING in view_text(c.json("view") or {})]
    assert len(refusals) >= 30
    time.sleep(4.5)  # the four checks finish
    settle(slack)
    assert len(paddle_live.requests) - calls_before <= 2 * len(ids)  # one check (two calls) per credential


def test_a_person_gets_a_few_checks_a_minute(bot, slack, workspace, paddle_live):
    service = core_service(bot)
    ids = [seed(service, workspace, f"Limited {i}").id for i in range(7)]
    for credential_id in ids:
        workspace.choose(f"test:{credential_id}")
    workspace.opened(lambda v: "Paddle checks in the last minute" in view_text(v))
    settle(slack)


def scope() -> Scope:
    return Scope("", "T1")


def test_claims_expire_with_the_window_and_release_frees_the_credential():
    now = [0.0]
    fair = FairUse(lambda: now[0], per_person=2, window=60)
    try:
        assert fair.claim(scope(), "U1", "c1") is None
        assert fair.claim(scope(), "U2", "c1") == ALREADY_RUNNING
        fair.release("c1")
        assert fair.claim(scope(), "U1", "c1") is None
        fair.release("c1")
        assert "wait 60 s" in fair.claim(scope(), "U1", "c2")
        now[0] = 60.5
        assert fair.claim(scope(), "U1", "c2") is None
        assert fair.claim(Scope("", "T2"), "U1", "c3") is None  # another workspace's U1 is another person
    finally:
        fair.close()


def test_a_claim_never_released_frees_its_credential_after_its_expiry():
    now = [0.0]
    fair = FairUse(lambda: now[0])
    try:
        assert fair.claim(scope(), "U1", "c1") is None
        now[0] = 121
        assert fair.claim(scope(), "U2", "c1") is None
    finally:
        fair.close()


def test_the_pool_refuses_when_full_and_releases_the_claim():
    fair = FairUse(workers=1, queue=1)
    gate = threading.Event()
    try:
        for credential_id in ("a", "b"):
            assert fair.claim(scope(), "U1", credential_id) is None
            assert fair.run(credential_id, gate.wait)
        assert fair.claim(scope(), "U1", "c") is None
        assert not fair.run("c", gate.wait)
        assert fair.claim(scope(), "U2", "c") is None  # refused work does not hold its credential
    finally:
        gate.set()
        fair.close()
