"""Key expiry reminders (claimed in the database, so sent once) and the board message kept current."""

from __future__ import annotations

import threading
import urllib.request
from datetime import datetime, timedelta, UTC

from prometheus_client.parser import text_string_to_metric_families

from tests.kit import Workspace, cli_env, created_id, run_cli, settled, view_text


def expiry_checks(bot) -> float:
    """credbot_expiry_checks_total on the instance's GET /metrics."""
    with urllib.request.urlopen(bot.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = [
        s for f in text_string_to_metric_families(text) for s in f.samples if s.name == "credbot_expiry_checks_total"
    ]
    return sum(s.value for s in samples)


def reminders(slack, credential_id: str) -> list:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and "reminder_replace" in view_text(c.params)
    ]


def stamp(bot, moment: datetime):
    """A timestamp as each database stores it (SQLAlchemy keeps SQLite's as naive UTC text)."""
    if bot.database_kind == "sqlite":
        return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def test_the_reminders_command_sends_what_is_due_and_prints_each(bot, slack, workspace, paddle_live, tmp_path):
    """``reminders run`` through the real CLI (the schedule itself is tests/listeners/test_reminders.py)."""
    expires = (datetime.now(UTC) + timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
    paddle_live.key_expires_at = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Expiring", key)
    bot.wait_idle()
    result = run_cli(
        ["reminders", "run", "--now", (expires + timedelta(seconds=1)).isoformat()], cli_env(bot), tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert f"expired\t{credential_id}" in result.stdout and "Traceback" not in result.stderr
    sent = reminders(slack, credential_id)
    assert [c.params["channel"] for c in sent] == ["CNOTIFYA", "CNOTIFYB"]
    assert "has expired" in view_text(sent[0].params) and all(key not in view_text(c.params) for c in sent)


def test_two_instances_send_each_reminder_once(start_bot, database, slack, paddle_live, tmp_path):
    shared = database.shared() | {"CREDBOT_REMINDER_INTERVAL_SECONDS": "1"}
    a = start_bot(**shared)
    workspace = Workspace(a, slack)
    soon = created_id(workspace, "Soon", paddle_live.new_key("live"))
    gone = created_id(workspace, "Gone", paddle_live.new_key("live"))
    now = datetime.now(UTC)
    for credential_id, expires in ((soon, now + timedelta(days=3)), (gone, now - timedelta(days=1))):
        a.sql("UPDATE credentials SET key_expires_at = :t WHERE id = :i", t=stamp(a, expires), i=credential_id)
    b = start_bot(**shared)
    # Both instances check every second; with several checks each, exactly one reminder per kind goes out.
    slack.wait_for(
        "chat.postMessage", lambda c: soon in view_text(c.params) and "reminder_replace" in view_text(c.params)
    )
    slack.wait_for(
        "chat.postMessage", lambda c: gone in view_text(c.params) and "reminder_replace" in view_text(c.params)
    )
    # The positive sign: each instance has finished two more checks (so one whole check began after the sends).
    before = [expiry_checks(a), expiry_checks(b)]
    checked = settled(
        lambda: [expiry_checks(a), expiry_checks(b)],
        lambda now: all(n >= was + 2 for n, was in zip(now, before, strict=True)),
        timeout=30,  # a hang guard: the checks run every second
    )
    assert all(n >= was + 2 for n, was in zip(checked, before, strict=True)), (before, checked)
    assert [c.params["channel"] for c in reminders(slack, soon)] == ["CNOTIFYA", "CNOTIFYB"]
    assert [c.params["channel"] for c in reminders(slack, gone)] == ["CNOTIFYA", "CNOTIFYB"]
    claims = a.sql("SELECT credential_id, kind FROM reminders ORDER BY kind")
    assert sorted(claims) == sorted([(soon, "expires_soon"), (gone, "expired")])
    assert "Traceback" not in a.log() + b.log()


def test_the_board_message_is_posted_once_and_edited_after_every_change(start_bot, database, slack, paddle_live):
    shared = database.shared() | {"CREDBOT_BOARD_CHANNEL": "CBOARD"}
    a, b = start_bot(**shared), start_bot(**shared)
    on_a, on_b = Workspace(a, slack), Workspace(b, slack)

    def board() -> str:
        a.wait_idle()
        b.wait_idle()
        calls = [
            c
            for c in slack.calls
            if c.method in ("chat.postMessage", "chat.update") and c.params.get("channel") == "CBOARD"
        ]
        return view_text(calls[-1].params)

    first = created_id(on_a, "Board first", paddle_live.new_key("live"))
    assert "`Board first`" in board()
    # Two creates at the same moment on two instances: one message, and its last edit shows both.
    threads = [
        threading.Thread(target=created_id, args=(w, n, paddle_live.new_key("live")))
        for w, n in ((on_a, "Board A"), (on_b, "Board B"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = board()
    assert "`Board first`" in text and "`Board A`" in text and "`Board B`" in text
    posts = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "CBOARD"]
    updates = [c for c in slack.calls_to("chat.update") if c.params.get("channel") == "CBOARD"]
    assert len(posts) == 1 and updates and {c.params["ts"] for c in updates} == {posts[0].response["ts"]}

    on_a.choose(f"rename:{first}")
    rename = on_a.opened(lambda v: v.get("callback_id") == "credential_rename")
    on_a.submit(rename, {"name": "Board renamed"})
    text = board()
    assert "`Board renamed`" in text and "`Board first`" not in text

    new_key = paddle_live.new_key("live")
    on_a.choose(f"replace:{first}")
    replace = on_a.opened(lambda v: v.get("callback_id") == "credential_replace")
    on_a.submit(replace, {"api_key": new_key})
    on_a.view_containing(replace["id"], "was replaced")
    assert "`Board renamed`" in board() and new_key not in board()

    on_a.choose(f"delete:{first}")
    confirm = on_a.opened(lambda v: v.get("callback_id") == "credential_delete")
    on_a.submit(confirm, {})
    on_a.view_containing(confirm["id"], "was deleted")
    text = board()
    assert "`Board renamed`" not in text and "`Board A`" in text and "3 in all" not in text and "2 in all" in text
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "CBOARD"]) == 1


def test_the_board_shows_only_the_credentials_of_its_channels_workspace(start_bot, database, slack, paddle_live):
    bot = start_bot(CREDBOT_BOARD_CHANNEL="CBOARDX")
    home, other = Workspace(bot, slack), Workspace(bot, slack)
    slack.channel_teams["CBOARDX"] = home.team_id

    def board() -> str:
        bot.wait_idle()
        calls = [
            c
            for c in slack.calls
            if c.method in ("chat.postMessage", "chat.update") and c.params.get("channel") == "CBOARDX"
        ]
        return view_text(calls[-1].params)

    created_id(other, "Elsewhere", paddle_live.new_key("live"))
    created_id(home, "At home", paddle_live.new_key("live"))
    text = board()
    assert "`At home`" in text and "Elsewhere" not in text
