"""Key expiry reminders, in-process: the expiry read from Paddle, a reminder 7 days before and one on expiry,
each sent once (claimed in the database), and the reminder's button opening Replace.

The check is the one ``reminders run`` and the daily loop call (bot.slack.reminders.run_expiry_check), run here
on the in-process bot's services "at" chosen times; tests/e2e/test_expiry_and_board.py runs the command itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

from tests.kit import InProcessBot, created_id, view_text


def reminders(slack, credential_id: str) -> list:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if credential_id in view_text(c.params) and "reminder_replace" in view_text(c.params)
    ]


def test_expiry_is_read_from_paddle_and_reminders_go_out_7_days_before_and_on_expiry(
    bot, slack, workspace, paddle_live
):
    from bot.slack.reminders import run_expiry_check

    # The key expires at midnight UTC some 100 days from now; the checks below run "at" times around it.
    expires = (datetime.now(UTC) + timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
    paddle_live.key_expires_at = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Expiring", key)
    assert any(r.path == f"/api-keys/apikey_{key.split('_')[3]}" for r in paddle_live.requests)
    assert bot.sql("SELECT key_status FROM credentials WHERE id = :i", i=credential_id) == [("active",)]
    assert InProcessBot.settle_all()

    def run(offset: timedelta) -> str:
        """What ``reminders run --now <expiry + offset>`` prints: one "kind<TAB>credential id" line per reminder."""
        sent = run_expiry_check(bot.services, bot.services.slack, expires + offset)
        return "".join(f"{kind}\t{sent_id}\n" for sent_id, kind in sent)

    assert credential_id not in run(-timedelta(days=7, minutes=1))  # 7 days and a minute before: nothing yet
    assert f"expires_soon\t{credential_id}" in run(-timedelta(days=6, hours=15))
    assert credential_id not in run(-timedelta(days=5, hours=15))  # the next day: already sent
    assert f"expired\t{credential_id}" in run(timedelta(seconds=1))
    assert credential_id not in run(timedelta(days=3))
    sent = reminders(slack, credential_id)
    assert [c.params["channel"] for c in sent] == ["CNOTIFYA", "CNOTIFYB", "CNOTIFYA", "CNOTIFYB"]
    assert "expires in 6 days" in view_text(sent[0].params) and "has expired" in view_text(sent[2].params)
    assert all(key not in view_text(c.params) for c in sent)

    # The reminder's button opens Replace for that credential.
    workspace.click("reminder_replace", credential_id)
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_replace")
    assert credential_id in modal["private_metadata"]
