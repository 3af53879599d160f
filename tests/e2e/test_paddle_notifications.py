"""Paddle's notifications through the real server: POST /paddle/notifications, signed as Paddle signs them, from
the fake Paddle's fixtures (tests/kit/fakes/paddle_notifications.py); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, UTC

from tests.kit import (
    NOTIFICATION_SECRET,
    NOTIFY_CHANNELS,
    SANDBOX_NOTIFICATION_SECRET,
    cli_env,
    created_id,
    run_cli,
    view_text,
)
from tests.kit.fakes.paddle import record_id
from tests.kit.fakes.paddle_notifications import deliver, entity, notification, signature
from tests.kit.metrics import scrape, value

ALERT = "key_alert"


def destination(bot) -> str:
    return bot.url + "/paddle/notifications"


def alerts(slack, credential_id: str) -> list:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and ALERT in view_text(c.params)
    ]


def status_of(bot, credential_id: str) -> tuple:
    return bot.sql("SELECT key_status, key_exposed_at FROM credentials WHERE id = :i", i=credential_id)[0]


def events_about(bot, credential_id: str) -> list[tuple]:
    return bot.sql(
        "SELECT action, outcome FROM audit_events WHERE credential_id = :i AND actor = 'paddle' ORDER BY id",
        i=credential_id,
    )


def test_a_signed_revocation_marks_the_key_alerts_its_channels_and_shows_on_home_once(
    bot, slack, workspace, paddle_live
):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Billing", key)
    bot.wait_idle()
    status, answer, body = paddle_live.notify(destination(bot), NOTIFICATION_SECRET, "api_key.revoked", key)
    assert (status, answer["outcome"]) == (200, "applied")
    first = slack.wait_for("chat.postMessage", lambda c: ALERT in view_text(c.params))
    sent = [first] + [
        slack.wait_for("chat.postMessage", lambda c, ch=ch: c.params["channel"] == ch and ALERT in view_text(c.params))
        for ch in NOTIFY_CHANNELS
    ]
    assert {c.params["channel"] for c in sent} == set(NOTIFY_CHANNELS)
    text = view_text(first.params)
    assert "Paddle revoked the API key of" in text and credential_id in text and "reminder_replace" in text
    assert key not in text
    assert status_of(bot, credential_id)[0] == "revoked"
    assert "says the key is *revoked*" in view_text(workspace.open_home())
    # Paddle delivers the same notification again: recorded once, nothing more changes or is said.
    assert deliver(destination(bot), body, signature(body, NOTIFICATION_SECRET))[1]["outcome"] == "duplicate"
    bot.wait_idle()
    assert len(alerts(slack, credential_id)) == len(NOTIFY_CHANNELS)
    assert events_about(bot, credential_id) == [("credential.api_key.revoked", "applied")]
    # An api_key.updated that happened before the revocation, arriving after it, does not bring back "active".
    earlier = datetime.now(UTC) - timedelta(hours=1)
    status, answer, _ = paddle_live.notify(
        destination(bot), NOTIFICATION_SECRET, "api_key.updated", key, occurred_at=earlier
    )
    assert (status, answer["outcome"]) == (200, "older")
    assert status_of(bot, credential_id)[0] == "revoked"


def test_a_wrong_missing_or_stale_signature_is_401_and_changes_nothing(bot, slack, workspace, paddle_live):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Billing", key)
    bot.wait_idle()
    body = notification("api_key.revoked", entity("api_key.revoked", record_id(key)))
    for header in (
        signature(body, NOTIFICATION_SECRET + "x"),  # another secret
        signature(body + b" ", NOTIFICATION_SECRET),  # over another body
        signature(body, SANDBOX_NOTIFICATION_SECRET + "x"),
        None,  # none at all
        "",
        signature(body, NOTIFICATION_SECRET, int(time.time()) - 60),  # stale
        signature(body, NOTIFICATION_SECRET, int(time.time()) + 60),  # from the future
        "ts=1;h1=" + "0" * 64 + ";" + "x" * 5000,
    ):
        status, answer = deliver(destination(bot), body, header)
        assert (status, answer) == (401, {"error": "invalid signature"})
    bot.wait_idle()
    assert status_of(bot, credential_id)[0] == "active"
    assert events_about(bot, credential_id) == [] and alerts(slack, credential_id) == []
    assert bot.sql("SELECT count(*) FROM provider_notifications")[0][0] == 0
    # The notification itself was fine: signed right, it is accepted after all (its id was not spent).
    assert deliver(destination(bot), body, signature(body, NOTIFICATION_SECRET))[1]["outcome"] == "applied"
    assert NOTIFICATION_SECRET not in bot.log()


def test_two_h1_values_where_the_second_is_right_are_accepted(bot, workspace, paddle_live):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Billing", key)
    body = notification("api_key.revoked", entity("api_key.revoked", record_id(key)))
    header = signature(body, NOTIFICATION_SECRET, before=("0" * 64,))  # the old secret's, while Paddle rotates it
    assert deliver(destination(bot), body, header)[0] == 200
    assert status_of(bot, credential_id)[0] == "revoked"


def test_an_exposure_is_an_urgent_alert_with_its_source_and_link(bot, slack, workspace, paddle_live, tmp_path):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Billing", key)
    bot.wait_idle()
    status, answer, _ = paddle_live.notify(destination(bot), NOTIFICATION_SECRET, "api_key_exposure.created", key)
    assert (status, answer["outcome"]) == (200, "applied")
    alert = slack.wait_for(
        "chat.postMessage", lambda c: ALERT in view_text(c.params) and credential_id in view_text(c.params)
    )
    text = view_text(alert.params)
    assert "found exposed in public; Paddle revoked it" in text and "Source: *github*" in text
    assert "<https://github.com/octocat/Hello-World/blob/" in text and "reminder_replace" in text
    exposed_status, exposed_at = status_of(bot, credential_id)
    assert exposed_status == "revoked" and exposed_at is not None
    # Where people and scripts look: /list-credentials, Home, the CLI's table and JSON.
    listed = view_text(workspace.command("/list-credentials").json())
    assert "key *revoked*" in listed and "key found exposed" in listed
    assert "found the key exposed" in view_text(workspace.open_home())
    shown = run_cli(["credentials", "show", credential_id, "--json"], cli_env(bot), tmp_path)
    fields = json.loads(shown.stdout)
    assert fields["key_status"] == "revoked" and fields["key_exposed_at"].startswith("20")
    table = run_cli(["credentials", "list"], cli_env(bot), tmp_path).stdout.splitlines()
    assert table[0].split("\t")[-1] == "status" or table[0].rstrip().endswith("status")
    assert any(credential_id in line and line.rstrip().endswith("revoked (exposed)") for line in table)


def test_a_sandbox_signed_event_never_touches_a_live_credential(bot, slack, workspace, paddle_live):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Billing", key)
    status, answer, _ = paddle_live.notify(destination(bot), SANDBOX_NOTIFICATION_SECRET, "api_key.revoked", key)
    assert (status, answer["outcome"]) == (200, "not_held")
    bot.wait_idle()
    assert status_of(bot, credential_id)[0] == "active" and alerts(slack, credential_id) == []


def test_unknown_and_foreign_events_are_answered_200_and_counted(bot, paddle_live):
    body = notification("customer.created", {"id": "ctm_01hs0tqf76sxmp7ba5e4mw1sc8"})
    assert deliver(destination(bot), body, signature(body, NOTIFICATION_SECRET)) == (
        200,
        {"ok": True, "outcome": "unknown_type"},
    )
    unheld = paddle_live.new_key("live")  # a key Credbot does not hold
    assert (
        paddle_live.notify(destination(bot), NOTIFICATION_SECRET, "api_key.revoked", unheld)[1]["outcome"] == "not_held"
    )
    samples = scrape(bot.url + "/metrics")
    assert value(samples, "credbot_paddle_notifications_total", outcome="unknown_type") >= 1
    assert value(samples, "credbot_paddle_notifications_total", outcome="not_held") >= 1


def test_expiring_and_the_daily_reminder_remind_once(bot, slack, workspace, paddle_live, tmp_path):
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    paddle_live.key_expires_at = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Expiring", key)
    bot.wait_idle()
    status, _, _ = paddle_live.notify(
        destination(bot),
        NOTIFICATION_SECRET,
        "api_key.expiring",
        key,
        expires_at=expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    assert status == 200
    slack.wait_for(
        "chat.postMessage", lambda c: credential_id in view_text(c.params) and "expires in" in view_text(c.params)
    )
    result = run_cli(["reminders", "run"], cli_env(bot), tmp_path)
    assert result.returncode == 0, result.stderr
    assert credential_id not in result.stdout
    bot.wait_idle()
    reminded = [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and "expires in" in view_text(c.params)
    ]
    assert len(reminded) == len(NOTIFY_CHANNELS)


def test_in_socket_mode_the_endpoint_is_served_on_port(tmp_path, database, slack, paddle_live, paddle_sandbox):
    from tests.kit import Workspace, core_service, seed, settled
    from tests.kit.bots import socket_mode_bot

    with socket_mode_bot(tmp_path, slack, paddle_live, paddle_sandbox, **database.provision(tmp_path)) as (bot, _):
        key = paddle_live.new_key("live")
        credential_id = seed(core_service(bot), Workspace(bot, slack), "Over the socket", key=key).id

        def delivered():
            try:
                return paddle_live.notify(destination(bot), NOTIFICATION_SECRET, "api_key.revoked", key)
            except OSError:  # PORT is served once Slack is connected: a moment after the socket is up
                return None

        answered = settled(delivered, lambda answer: answer is not None, timeout=10)
        assert answered is not None and answered[:2] == (200, {"ok": True, "outcome": "applied"})
        slack.wait_for(
            "chat.postMessage", lambda c: credential_id in view_text(c.params) and ALERT in view_text(c.params)
        )
        assert status_of(bot, credential_id)[0] == "revoked"
        bad = deliver(destination(bot), answered[2], None)
        assert bad[0] == 401


def test_an_update_refreshes_the_expiry_and_permissions_shown(bot, workspace, paddle_live, tmp_path):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Billing", key)
    later = (datetime.now(UTC) + timedelta(days=200)).replace(microsecond=0)
    status, answer, _ = paddle_live.notify(
        destination(bot),
        NOTIFICATION_SECRET,
        "api_key.updated",
        key,
        expires_at=later.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        permissions=["transaction.read", "customer.read"],
    )
    assert (status, answer["outcome"]) == (200, "applied")
    fields = json.loads(run_cli(["credentials", "show", credential_id, "--json"], cli_env(bot), tmp_path).stdout)
    assert fields["key_status"] == "active" and fields["key_expires_at"] == later.isoformat()
    assert fields["key_permissions"] == ["transaction.read", "customer.read"]


def test_an_expired_key_is_alerted_once_with_the_daily_reminder(bot, slack, workspace, paddle_live, tmp_path):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Billing", key)
    bot.wait_idle()
    gone = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    status, _, _ = paddle_live.notify(
        destination(bot), NOTIFICATION_SECRET, "api_key.expired", key, expires_at=gone.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert status == 200
    slack.wait_for(
        "chat.postMessage", lambda c: credential_id in view_text(c.params) and "has expired" in view_text(c.params)
    )
    assert status_of(bot, credential_id)[0] == "expired"
    result = run_cli(["reminders", "run"], cli_env(bot), tmp_path)
    assert result.returncode == 0 and credential_id not in result.stdout, result.stderr
    bot.wait_idle()
    expired = [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and "has expired" in view_text(c.params)
    ]
    assert len(expired) == len(NOTIFY_CHANNELS)


def test_the_daily_reminder_first_then_expiring_remind_once(bot, slack, workspace, paddle_live, tmp_path):
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    paddle_live.key_expires_at = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Expiring", key)
    result = run_cli(["reminders", "run"], cli_env(bot), tmp_path)
    assert f"expires_soon\t{credential_id}" in result.stdout, result.stderr
    status, answer, _ = paddle_live.notify(
        destination(bot), NOTIFICATION_SECRET, "api_key.expiring", key, expires_at=paddle_live.key_expires_at
    )
    assert (status, answer["outcome"]) == (200, "applied")
    bot.wait_idle()
    reminded = [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and "expires in" in view_text(c.params)
    ]
    assert len(reminded) == len(NOTIFY_CHANNELS)
