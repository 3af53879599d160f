"""Fair use everywhere, across instances (security issue 21, finding 6): the wizard's final stage checks the key
with Paddle under the same bounded pool and per-person allowance as Test connection and Replace API key, and the
allowance and the one-check-per-credential rule live in the database, so every instance (and every worker on
one SQLite file) shares them."""

from __future__ import annotations

import os
import signal
import time
import uuid

from bot.slack.fair_use import CHECKS_PER_PERSON, PROVIDER_QUEUE, PROVIDER_WORKERS, already_running
from tests.kit import Workspace, core_service, seed, view_text
from tests.kit.processes import descendants

BUSY = "checks are queued up right now"
TOO_MANY = "Paddle checks in the last minute"


def at_key_stage(person: Workspace, name: str) -> dict:
    """Walk the wizard's first three stages; the stage-4 view as Slack holds it."""
    view = person.open_wizard()
    for block, value in (("name", name), ("entity_type", "bill"), ("destination", "paddle")):
        body = person.submit(view, {block: value}).json()
        assert body["response_action"] == "update", body
        view = {**body["view"], "id": view["id"], "hash": view["hash"]}
    return view


def key_error(reply) -> str:
    """The error the final stage's ack put under the key field ("" when it answered otherwise)."""
    body = reply.json() or {}
    return (body.get("errors") or {}).get("api_key", "") if body.get("response_action") == "errors" else ""


def test_forty_final_submissions_with_a_slow_paddle_leave_another_persons_wizard_opening_in_time(
    start_bot, slack, paddle_live
):
    bot = start_bot(PADDLE_TIMEOUT_SECONDS="8")  # Paddle's 5 s answers are answers, not timeouts
    team = "T" + uuid.uuid4().hex[:10].upper()
    people = [Workspace(bot, slack, team_id=team, user_id=f"U0FLOOD{i}") for i in range(8)]
    ready = [(people[i % 8], at_key_stage(people[i % 8], f"Flood {i}")) for i in range(40)]
    keys = [paddle_live.new_key("live") for _ in ready]
    paddle_live.mode, paddle_live.slow_seconds = "slow", 5

    replies = [person.submit(view, {"api_key": key}) for (person, view), key in zip(ready, keys, strict=True)]
    other = Workspace(bot, slack, team_id=team, user_id="U0OTHER")
    trigger = slack.issue_trigger("trg-" + uuid.uuid4().hex)  # good for 3 s, as Slack's
    sent = time.time()
    assert other.command("/create-credential", trigger_id=trigger).status == 200
    opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, timeout=40)
    assert opened.response["ok"], (opened.response, f"{opened.time - sent:.1f} s after the command")  # not expired
    assert opened.time - sent < 3.0, opened.time - sent

    # Every submission was answered in its modal: "Verifying…", or why not (the key stays typed in the field).
    assert all(r.status == 200 for r in replies)
    refused = [i for i, r in enumerate(replies) if key_error(r)]
    accepted = [i for i, r in enumerate(replies) if r.json().get("response_action") == "update"]
    assert sorted(refused + accepted) == list(range(40))
    assert all(BUSY in key_error(replies[i]) for i in refused), [key_error(replies[i]) for i in refused]
    assert 0 < len(accepted) <= PROVIDER_WORKERS + PROVIDER_QUEUE, len(accepted)

    paddle_live.mode = "ok"  # the queued checks answer at once; those already waiting answer within 5 s
    bot.wait_idle(timeout=60)
    for i in accepted:
        ready[i][0].view_containing(ready[i][1]["id"], "Credential created")
    names = {row[0] for row in bot.sql("SELECT name FROM credentials")}
    assert names == {f"Flood {i}" for i in accepted}  # nothing refused was saved, nothing accepted was lost
    assert bot.sql("SELECT count(*) FROM provider_checks WHERE running_until IS NOT NULL") == [(0,)]
    assert "Traceback" not in bot.log()


def test_two_instances_share_one_allowance_and_one_check_per_credential(start_bot, database, slack, paddle_live):
    shared = database.shared()
    a, b = start_bot(**shared), start_bot(**shared)
    on_a = Workspace(a, slack, user_id="U0ALICE")
    on_b = Workspace(b, slack, team_id=on_a.team_id, user_id="U0ALICE")
    service = core_service(a)
    ids = [seed(service, on_a, f"Shared {i}").id for i in range(CHECKS_PER_PERSON + 2)]

    def test(person: Workspace, credential_id: str) -> str:
        before = len(slack.calls_to("views.open"))
        assert person.choose(f"test:{credential_id}").status == 200
        return view_text(person.opened(lambda v: v.get("callback_id") != "", after=before))

    # Alice's allowance is spent across both instances: 4 checks on A, 2 on B.
    for i, credential_id in enumerate(ids[:CHECKS_PER_PERSON]):
        assert TOO_MANY not in test(on_a if i < 4 else on_b, credential_id)
    a.wait_idle()
    b.wait_idle()
    assert TOO_MANY in test(on_b, ids[CHECKS_PER_PERSON])  # B had seen only 2 of them
    view = at_key_stage(on_a, "Shared create")
    reply = on_a.submit(view, {"api_key": paddle_live.new_key("live")})
    assert TOO_MANY in key_error(reply), reply.text  # the final stage uses the same allowance, on either instance
    assert not a.sql("SELECT 1 FROM credentials WHERE name = 'Shared create'")

    # One check per credential across instances: Bob's check on A is still waiting for Paddle when he asks B.
    bob_a = Workspace(a, slack, team_id=on_a.team_id, user_id="U0BOB")
    bob_b = Workspace(b, slack, team_id=on_a.team_id, user_id="U0BOB")
    paddle_live.mode, paddle_live.slow_seconds = "slow", 5
    assert "Testing" in test(bob_a, ids[-1])
    assert already_running("paddle") in test(bob_b, ids[-1])
    paddle_live.mode = "ok"
    a.wait_idle()
    b.wait_idle()
    assert already_running("paddle") not in test(bob_b, ids[-1])  # released once Paddle answered
    assert "Traceback" not in a.log() + b.log()


def test_a_check_claimed_by_an_instance_that_died_expires(start_bot, database, slack, paddle_live):
    shared = database.shared()
    a, b = start_bot(**shared), start_bot(**shared)
    on_a = Workspace(a, slack, user_id="U0CAROL")
    on_b = Workspace(b, slack, team_id=on_a.team_id, user_id="U0CAROL")
    credential_id = seed(core_service(a), on_a, "Orphaned").id
    paddle_live.mode, paddle_live.slow_seconds = "slow", 30
    before = len(slack.calls_to("views.open"))
    on_a.choose(f"test:{credential_id}")
    assert "Testing" in view_text(on_a.opened(after=before))
    for pid in [*reversed(descendants(a.process.pid)), a.process.pid]:  # every process of A, mid-check
        os.kill(pid, signal.SIGKILL)
    a.process.wait()
    paddle_live.mode = "ok"
    before = len(slack.calls_to("views.open"))
    on_b.choose(f"test:{credential_id}")
    assert already_running("paddle") in view_text(on_b.opened(after=before))
    # As if the claim's lifetime had passed: the row stays only until it expires, then the check runs again.
    b.sql("UPDATE provider_checks SET running_until = started_at")
    before = len(slack.calls_to("views.open"))
    on_b.choose(f"test:{credential_id}")
    assert "Testing" in view_text(on_b.opened(after=before))
    b.wait_idle()
    # A's lapsed row and B's, released; both deleted once older than the window and the lease (tests/listeners).
    assert sorted(b.sql("SELECT running_until IS NULL FROM provider_checks")) == [(False,), (True,)]
