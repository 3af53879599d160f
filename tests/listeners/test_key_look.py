"""The daily look at every key, in-process (bot.slack.daily_look): each key's record read with the fake Paddle and
stored (last used, status, rotatable), a key Paddle now refuses alerted once, Paddle unreachable changing nothing,
each look claimed so that two instances never both look at a key the same day, the day's looks spread over rounds
and a few at a time, legacy keys checked the old way. The pass is the one the loop and ``credentials look`` run,
here on the in-process bot's services "at" chosen times; tests/e2e/test_daily_key_look.py runs the command through
the real server. Both databases (the ``database`` fixture)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.slack.daily_look import LOOK_WORKERS, run_look_pass
from tests.kit import core_service, seed, settled, view_text
from tests.kit.fakes.paddle import make_legacy_key

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def stored(bot, paddle_live, workspace, name: str, key: str | None = None, *, checked: bool = False) -> str:
    """A credential stored without a check (as before the look: nothing known of its record), or ``checked``."""
    key = key or paddle_live.new_key("live")
    paddle_live.valid_keys.add(key)
    return seed(core_service(bot, verify_keys=checked), workspace, name, key=key).id


def row(bot, credential_id: str) -> dict:
    columns = "key_status, key_last_used_at, key_rotatable, key_looked_at, last_verification, key_permissions"
    found = bot.sql(f"SELECT {columns} FROM credentials WHERE id = :i", i=credential_id)
    return dict(zip([c.strip() for c in columns.split(",")], found[0], strict=True))


def alerts(slack, credential_id: str) -> list:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and "key_alert" in view_text(c.params)
    ]


def test_the_look_stores_what_paddle_says_of_each_key(bot, paddle_live, workspace):
    paddle_live.key_rotatable = True
    credential_id = stored(bot, paddle_live, workspace, "Looked at")
    assert row(bot, credential_id)["key_looked_at"] is None
    looks = run_look_pass(bot.services, now=NOW)
    assert [(looked.credential.id, looked.outcome, looked.alert) for looked in looks] == [
        (credential_id, "accepted", None)
    ]
    found = row(bot, credential_id)
    assert found["key_status"] == "active" and found["key_rotatable"] in (True, 1)
    assert found["key_last_used_at"] is not None and found["key_looked_at"] is not None
    assert found["last_verification"] == "ok" and "customer.read" in (found["key_permissions"] or "")
    assert any(r.path.startswith("/api-keys/apikey_") for r in paddle_live.requests)


def test_a_key_is_looked_at_once_a_day_not_every_round(bot, paddle_live, workspace):
    credential_id = stored(bot, paddle_live, workspace, "Once a day")
    assert len(run_look_pass(bot.services, now=NOW)) == 1
    assert run_look_pass(bot.services, now=NOW + timedelta(hours=23)) == []  # the same day: done already
    assert [looked.credential.id for looked in run_look_pass(bot.services, now=NOW + DAY)] == [credential_id]


def test_a_key_paddle_now_refuses_is_alerted_once(bot, paddle_live, slack, workspace):
    key = paddle_live.new_key("live")
    credential_id = stored(bot, paddle_live, workspace, "Revoked quietly", key)
    run_look_pass(bot.services, now=NOW)
    paddle_live.valid_keys.discard(key)  # revoked at Paddle, and no notification came
    looks = run_look_pass(bot.services, now=NOW + DAY)
    assert [(looked.outcome, looked.alert) for looked in looks] == [("refused", "refused")]
    bot.settle()
    sent = alerts(slack, credential_id)
    assert [c.params["channel"] for c in sent] == ["CNOTIFYA", "CNOTIFYB"]
    assert "now refuses" in view_text(sent[0].params) and "reminder_replace" in view_text(sent[0].params)
    assert key not in view_text(sent[0].params)
    assert row(bot, credential_id)["last_verification"] == "rejected:invalid_token"
    # The next day it is still refused: nothing new to say.
    assert [(looked.outcome, looked.alert) for looked in run_look_pass(bot.services, now=NOW + 2 * DAY)] == [
        ("refused", None)
    ]
    bot.settle()
    assert len(alerts(slack, credential_id)) == 2
    audited = bot.sql("SELECT outcome FROM audit_events WHERE action = 'credential.look' AND credential_id = :i",
                      i=credential_id)  # fmt: skip
    assert audited == [("refused",)]


def test_a_record_newly_revoked_is_alerted_once_and_a_key_already_known_revoked_is_not(
    bot, paddle_live, slack, workspace
):
    credential_id = stored(bot, paddle_live, workspace, "Record revoked")
    known = stored(bot, paddle_live, workspace, "Known revoked")
    bot.sql("UPDATE credentials SET key_status = 'revoked' WHERE id = :i", i=known)  # a notification said so
    paddle_live.key_status = "revoked"
    looks = {looked.credential.id: looked for looked in run_look_pass(bot.services, now=NOW)}
    assert looks[credential_id].alert == "revoked" and looks[known].alert is None
    assert looks[credential_id].status_changed
    bot.settle()
    assert len(alerts(slack, credential_id)) == 2 and alerts(slack, known) == []
    assert "Paddle revoked the API key" in view_text(alerts(slack, credential_id)[0].params)
    assert run_look_pass(bot.services, now=NOW + DAY)[0].alert is None


def test_paddle_unreachable_changes_nothing_and_the_key_stays_due(bot, paddle_live, workspace):
    from bot.infra import metrics

    credential_id = stored(bot, paddle_live, workspace, "Paddle down")
    before = row(bot, credential_id)
    counted = metrics.KEY_LOOKS.labels("unavailable")._value.get()
    paddle_live.mode = "down"
    assert [looked.outcome for looked in run_look_pass(bot.services, now=NOW)] == ["unavailable"]
    assert row(bot, credential_id) == before
    assert metrics.KEY_LOOKS.labels("unavailable")._value.get() == counted + 1
    paddle_live.mode = "ok"
    assert [looked.outcome for looked in run_look_pass(bot.services, now=NOW + timedelta(minutes=15))] == ["accepted"]


def test_a_legacy_key_is_checked_the_old_way_and_its_last_use_stays_unknown(bot, paddle_live, workspace):
    key = make_legacy_key()
    credential_id = stored(bot, paddle_live, workspace, "Legacy", key, checked=True)  # only a check admits one
    paddle_live.reset()
    paddle_live.valid_keys.add(key)
    assert [looked.outcome for looked in run_look_pass(bot.services, now=NOW)] == ["accepted"]
    assert [r.path for r in paddle_live.requests] == ["/event-types"]
    found = row(bot, credential_id)
    assert found["last_verification"] == "ok" and found["key_looked_at"] is None and found["key_last_used_at"] is None
    assert "last use unknown" in view_text(workspace.open_home())


def test_two_instances_never_both_look_at_a_key(bot, paddle_live, workspace):
    from bot.slack.services import build_services

    paddle_live.reset()
    ids = {stored(bot, paddle_live, workspace, f"Shared {n}") for n in range(12)}
    other = build_services(bot.services.settings)  # a second instance on the same database
    try:
        found: dict[str, list] = {}
        start = threading.Barrier(2)

        def instance(name: str, services) -> None:
            start.wait()
            found[name] = run_look_pass(services, now=NOW)

        threads = [threading.Thread(target=instance, args=(n, s)) for n, s in (("one", bot.services), ("two", other))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    looked = [looked.credential.id for looks in found.values() for looked in looks]
    assert sorted(looked) == sorted(ids)  # every key once, whichever instance
    asked = [r for r in paddle_live.requests if r.path.startswith("/api-keys/")]
    assert len(asked) == len(ids)


def test_a_round_looks_at_its_share_of_the_keys_oldest_look_first(bot, paddle_live, workspace):
    ids = [stored(bot, paddle_live, workspace, f"Spread {n}") for n in range(8)]
    first = run_look_pass(bot.services, now=NOW, share=1 / 4)
    assert len(first) == 2
    second = run_look_pass(bot.services, now=NOW + timedelta(hours=6), share=1 / 4)
    assert len(second) == 2 and not {x.credential.id for x in first} & {x.credential.id for x in second}
    rest = run_look_pass(bot.services, now=NOW + timedelta(hours=12))
    assert len(rest) == 4
    # A day after the first round, its two keys are the first due again.
    again = run_look_pass(bot.services, now=NOW + DAY + timedelta(minutes=1), share=1 / 4)
    assert {x.credential.id for x in again} == {x.credential.id for x in first}
    assert set(ids) == {x.credential.id for x in first + second + rest}


def test_keys_are_looked_at_a_few_at_a_time(bot, paddle_live, workspace, monkeypatch):
    for n in range(LOOK_WORKERS * 3):
        stored(bot, paddle_live, workspace, f"Bounded {n}")
    verifier = bot.services.credentials.verifier
    guard, in_flight, most = threading.Lock(), [0], [0]
    full = threading.Event()
    check = verifier.check

    def counted(*args, **kwargs):
        with guard:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            if in_flight[0] == LOOK_WORKERS:
                full.set()
        full.wait(5)  # hold each look until the pool is full (or long enough to say it never fills)
        try:
            return check(*args, **kwargs)
        finally:
            with guard:
                in_flight[0] -= 1

    monkeypatch.setattr(verifier, "check", counted)
    assert len(run_look_pass(bot.services, now=NOW)) == LOOK_WORKERS * 3
    assert most[0] == LOOK_WORKERS


def test_an_unused_key_is_flagged_on_the_home_tab_and_in_the_list(bot, paddle_live, workspace):
    idle = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    paddle_live.key_last_used_at = idle
    stored(bot, paddle_live, workspace, "Idle key")
    run_look_pass(bot.services)
    home = view_text(workspace.open_home())
    assert "(per Paddle): not used for 30+ days" in home and ":zzz:" in home
    listed = workspace.command("/list-credentials")
    assert "not used for 30+ days (per Paddle)" in view_text(listed.json()["blocks"])


def test_a_status_change_redraws_the_open_home_tabs(bot, paddle_live, slack, workspace):
    key = paddle_live.new_key("live")
    stored(bot, paddle_live, workspace, "Redrawn", key)
    run_look_pass(bot.services, now=NOW)
    workspace.open_home()
    before = workspace.publish_count()
    paddle_live.valid_keys.discard(key)
    run_look_pass(bot.services, now=NOW + DAY)
    assert ":x: Paddle refused the key" in view_text(workspace.published(before))


def test_the_loop_looks_at_the_keys_in_rounds_in_the_background(bot, paddle_live, workspace):
    from bot.slack.daily_look import KeyLookLoop

    ids = {stored(bot, paddle_live, workspace, f"Background {n}") for n in range(4)}
    loop = KeyLookLoop(bot.services, interval=timedelta(seconds=8), rounds=4).start()  # a round every 2 s
    try:
        looked = settled(
            lambda: {r[0] for r in bot.sql("SELECT id FROM credentials WHERE last_verification = 'ok'")},
            lambda found: found == ids,
            timeout=30,
        )
    finally:
        loop.stop()
    assert looked == ids


def test_a_notification_redraws_the_open_home_tabs_of_the_workspace(bot, paddle_live, workspace):
    from bot.slack.server.paddle_door import PaddleDoor
    from tests.kit import NOTIFICATION_SECRET
    from tests.kit.fakes.paddle import record_id
    from tests.kit.fakes.paddle_notifications import entity, notification, signature
    from tests.listeners.test_paddle_door import call

    key = paddle_live.new_key("live")
    stored(bot, paddle_live, workspace, "Told by Paddle", key)
    workspace.open_home()
    before = workspace.publish_count()
    body = notification("api_key.revoked", entity("api_key.revoked", record_id(key)))
    assert call(PaddleDoor(bot.services), body, signature(body, NOTIFICATION_SECRET))[1]["outcome"] == "applied"
    assert "says the key is *revoked*" in view_text(workspace.published(before))
