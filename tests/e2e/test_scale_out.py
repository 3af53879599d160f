"""Several instances on one database: no state in a process, races decided by the database, clean stops."""

from __future__ import annotations

import threading
import urllib.request

import pytest

from tests.kit import BotProcess, FakeSocketMode, Workspace, core_service, view_text


def scope(workspace):
    from bot.credentials.types import Workspace as Scope

    return Scope(workspace.enterprise_id or "", workspace.team_id)


def next_view(reply, view: dict) -> dict:
    body = reply.json()
    assert reply.status == 200 and body["response_action"] == "update", reply.text
    return {**body["view"], "id": view["id"], "hash": view.get("hash", "h")}


def test_a_wizard_hops_between_two_instances(database, start_bot, slack, paddle_live):
    shared = database.shared()
    a, b = start_bot(**shared), start_bot(**shared)
    on_a = Workspace(a, slack)
    on_b = Workspace(b, slack, team_id=on_a.team_id)

    view = on_a.open_wizard()  # opened through A
    view = next_view(on_b.submit(view, {"name": "Hopper"}), view)  # stage 1 on B
    view = next_view(on_a.submit(view, {"entity_type": "bill"}), view)  # stage 2 on A
    # Back on B brings stage 2 with A's answer kept, then stage 2 again on B.
    on_b.click("wizard_back", "back", view=view, block_id="wizard_nav")
    back = slack.wait_for("views.update", lambda c: c.params.get("view_id") == view["id"]).json("view")
    assert back["callback_id"] == "credential_wizard:entity_type"
    view = next_view(on_b.submit({**back, "id": view["id"]}, {"entity_type": "bill"}), view)
    view = next_view(on_a.submit(view, {"destination": "paddle"}), view)  # stage 3 on A
    key = paddle_live.new_key("live")
    on_b.submit(view, {"api_key": key})  # finished on B
    on_b.view_containing(view["id"], "Credential created")

    # Either instance lists it and either decrypts it.
    assert "Hopper" in view_text(on_a.command("/list-credentials").json())
    for bot in (a, b):
        core = core_service(bot)
        [item] = core.queries.list(scope(on_a)).items
        assert core.reveal(item.id, "test", scope(on_a)).reveal() == key


def test_same_name_at_the_same_moment_on_two_instances_creates_one(database, start_bot, slack, paddle_live):
    shared = database.shared()
    a, b = start_bot(**shared), start_bot(**shared)
    for attempt in range(3):  # several rounds: the race must be decided by the index every time
        alice = Workspace(a, slack, user_id="U0ALICE")
        bob = Workspace(b, slack, team_id=alice.team_id, user_id="U0BOB")
        ready = []
        for person in (alice, bob):
            view = person.open_wizard()
            for block, value in (("name", f"Contested {attempt}"), ("entity_type", "bill"), ("destination", "paddle")):
                view = next_view(person.submit(view, {block: value}), view)
            ready.append((person, view, paddle_live.new_key("live")))
        barrier = threading.Barrier(2)
        replies = {}

        def submit(person, view, key):
            barrier.wait()  # noqa: B023 (one barrier and one dict per attempt; the threads end within it)
            replies[person.user_id] = person.submit(view, {"api_key": key})  # noqa: B023 (as above)

        threads = [threading.Thread(target=submit, args=args) for args in ready]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes = []
        for person, view, _ in ready:
            reply = replies[person.user_id]
            assert reply.status == 200, reply.text  # never a 500
            ack = reply.json()["view"]
            outcomes.append(
                view_text(ack)
                if ack["callback_id"] != "credential_wizard_verifying"
                else view_text(person.outcome(view["id"]))
            )
        assert sum("Credential created" in o for o in outcomes) == 1
        assert sum("already exists" in o for o in outcomes) == 1
        rows = a.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=alice.team_id)
        assert rows == [(1,)]
    assert "Traceback" not in a.log() + b.log()


def test_sigterm_lets_an_in_flight_creation_finish(start_bot, slack, paddle_live):
    bot = start_bot()
    workspace = Workspace(bot, slack)
    paddle_live.mode, paddle_live.slow_seconds = "slow", 1.0  # the verification is under way when SIGTERM lands
    view, reply = workspace.run_wizard("Caught mid-flight", "paddle", paddle_live.new_key("live"))
    assert reply.json()["view"]["callback_id"] == "credential_wizard_verifying"
    assert bot.stop() == 0
    assert "Credential created" in view_text(workspace.outcome(view["id"], timeout=5))
    # Fully written: the row and its audit event, in one transaction.
    assert bot.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=workspace.team_id) == [(1,)]
    assert bot.sql(
        "SELECT count(*) FROM audit_events WHERE team_id = :t AND action = 'credential.create' AND outcome = 'created'",
        t=workspace.team_id,
    ) == [(1,)]


def test_sigkill_mid_creation_leaves_all_or_nothing(start_bot, slack, paddle_live):
    bot = start_bot()
    workspace = Workspace(bot, slack)
    paddle_live.mode, paddle_live.slow_seconds = "slow", 1.0
    view, _ = workspace.run_wizard("Killed mid-flight", "paddle", paddle_live.new_key("live"))
    bot.process.kill()  # no graceful stop at all
    bot.process.wait()
    credentials = bot.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=workspace.team_id)[0][0]
    created = bot.sql(
        "SELECT count(*) FROM audit_events WHERE team_id = :t AND outcome = 'created'", t=workspace.team_id
    )[0][0]
    assert credentials == created and credentials in (0, 1)


@pytest.mark.postgresql_only  # SQLite has no server connection to lose
def test_a_lost_database_connection_is_replaced_not_a_500(database, bot, workspace):
    assert workspace.command("/list-credentials").status == 200
    schema = bot.database_url.split("application_name=")[-1].split("&")[0]
    killed = bot.sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :a "
        "AND pid <> pg_backend_pid()",
        a=schema,
    )
    assert killed[0][0] >= 1
    for _ in range(5):
        assert workspace.command("/list-credentials").status == 200
    with urllib.request.urlopen(bot.url + "/healthz", timeout=5) as response:
        assert response.status == 200


def test_several_socket_mode_instances_share_one_wizard(database, tmp_path, slack, paddle_live, paddle_sandbox):
    shared = database.shared()
    bots = []
    with FakeSocketMode() as socket_mode:
        slack.socket_url = socket_mode.url
        try:
            for number in range(2):
                bot = BotProcess(
                    tmp_path / f"socket{number}",
                    slack,
                    paddle_live,
                    paddle_sandbox,
                    SLACK_APP_TOKEN="xapp-1-A0001-test-token",
                    **shared,
                )
                bot.env.pop("SLACK_SIGNING_SECRET")
                bots.append(bot.start())
                socket_mode.wait_connected(timeout=20, count=number + 1)
            workspace = Workspace(bots[0], slack, team_id="T0SOCKETS")
            socket_mode.send(
                {
                    "envelope_id": "cmd",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": {
                        "command": "/create-credential",
                        "text": "Via sockets",
                        "team_id": "T0SOCKETS",
                        "user_id": "U0ALICE",
                        "channel_id": "C1",
                        "trigger_id": "trg-sockets",
                        "response_url": slack.response_url("sockets"),
                        "api_app_id": "A0001",
                    },
                },
                connection=0,
            )
            socket_mode.wait_ack("cmd")
            opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == "trg-sockets")
            view = {**opened.json("view"), "id": opened.response["view"]["id"]}
            answers = (
                ("name", "Via sockets"),
                ("entity_type", "bill"),
                ("destination", "paddle"),
                ("api_key", paddle_live.new_key("live")),
            )
            for number, (block, value) in enumerate(answers):
                envelope_id = f"stage-{number}"
                socket_mode.send(
                    {
                        "envelope_id": envelope_id,
                        "type": "interactive",
                        "accepts_response_payload": True,
                        "payload": workspace.submission(view, {block: value}),
                    },
                    connection=(number + 1) % 2,
                )  # alternate between the two instances
                ack = socket_mode.wait_ack(envelope_id)
                assert ack["payload"]["response_action"] == "update", ack
                view = {**ack["payload"]["view"], "id": view["id"]}
            assert "Credential created" in view_text(workspace.outcome(view["id"]))
            assert bots[0].sql("SELECT name FROM credentials WHERE team_id = 'T0SOCKETS'") == [("Via sockets",)]
        finally:
            for bot in bots:
                assert bot.stop() == 0, bot.log()
