"""Verification switched off, and many requests at once: concurrent wizards, two people racing for one name.

Moved from test_lifecycle.py: the listeners decide these, and the races are settled by the database, so they run
through ``app.dispatch`` from several threads (the server's threads do the same).
"""

from __future__ import annotations

import threading

from tests.kit import Workspace, core_service, make_key, make_legacy_key, scope, view_text


def test_verification_off_skips_paddle_and_refuses_legacy_keys(start_bot, slack, paddle_live):
    bot = start_bot(CREDBOT_VERIFY_KEYS="false")
    workspace = Workspace(bot, slack)
    before = len(paddle_live.requests)
    view, reply = workspace.run_wizard("Offline legacy", "paddle", make_legacy_key())
    assert "only be accepted when keys are verified" in reply.json()["errors"]["api_key"]
    view, _ = workspace.run_wizard("Offline new", "paddle", make_key("live", "offline"))
    assert "Credential created" in view_text(workspace.outcome(view["id"]))
    assert len(paddle_live.requests) == before


def test_concurrent_wizards_on_sqlite_all_succeed(bot, slack, paddle_live):
    workspace = Workspace(bot, slack)
    keys = [paddle_live.new_key("live") for _ in range(12)]
    views: list[str] = []
    errors: list[BaseException] = []

    def finish(number: int) -> None:
        creator = Workspace(
            bot, slack, team_id=workspace.team_id, user_id=f"U0PARALLEL{number}"
        )  # 6 checks a minute each
        try:
            view, reply = creator.run_wizard(f"Parallel {number}", "paddle", keys[number])
            assert reply.status == 200
            views.append(view["id"])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=finish, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for view_id in views:
        assert "Credential created" in view_text(workspace.outcome(view_id, timeout=30))
    assert len(core_service(bot).queries.list(scope(workspace), limit=50).items) == 12
    assert "database is locked" not in bot.log()


def test_two_users_racing_for_one_name_get_one_credential(bot, slack, paddle_live):
    alice = Workspace(bot, slack, user_id="U0ALICE")
    bob = Workspace(bot, slack, team_id=alice.team_id, user_id="U0BOB")
    ready = []
    for person in (alice, bob):
        view = person.open_wizard()
        for block, value in (("name", "Contested"), ("entity_type", "bill"), ("destination", "paddle")):
            view = {**person.submit(view, {block: value}).json()["view"], "id": view["id"]}
        ready.append((person, view, paddle_live.new_key("live")))
    barrier = threading.Barrier(2)
    acks: dict[str, dict] = {}

    def submit(person, view, key):
        barrier.wait()
        acks[person.user_id] = person.submit(view, {"api_key": key}).json()["view"]

    threads = [threading.Thread(target=submit, args=args) for args in ready]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def outcome(person, view) -> str:
        # The loser learns it either in the ack (the winner had committed already) or after verification.
        ack = acks[person.user_id]
        if ack["callback_id"] != "credential_wizard_verifying":
            return view_text(ack)
        return view_text(person.outcome(view["id"]))

    outcomes = [outcome(person, view) for person, view, _ in ready]
    assert sum("Credential created" in o for o in outcomes) == 1
    assert sum("already exists" in o for o in outcomes) == 1
    assert len(core_service(bot).queries.list(scope(alice)).items) == 1
