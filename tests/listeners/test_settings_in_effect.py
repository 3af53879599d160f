"""A workspace's saved settings govern it (issue 22): its announcements, its board, who may manage, when its
reminders are due. Saved here through the core on the test's own engine (another instance's, as far as the bot
is concerned); the bot reads the settings for each request, so the very next one follows the change. A
workspace that saved nothing behaves as before: every other test of this folder is that proof."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.credentials.audit import AuditLog
from bot.credentials.types import Workspace as Scope
from bot.credentials.workspace_settings_save import save_settings
from bot.infra.db import create_db_engine, session_factory
from tests.kit import InProcessBot, Workspace, created_id, settled, view_text


@pytest.fixture
def save(bot):
    """Save settings for a team as another instance would (its own engine); nothing to wait for."""
    engine = create_db_engine(bot.database_url)
    sessions = session_factory(engine)

    def saving(team_id: str, **changes) -> None:
        save_settings(sessions, AuditLog(sessions), Scope(team_id=team_id), changes, "U0SETTER")

    yield saving
    engine.dispose()


def posts(slack, channel: str, words: str) -> list:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.params.get("channel") == channel and words in view_text(c.params) + c.params.get("text", "")
    ]


def test_saved_notification_channels_get_the_announcements_and_the_environments_do_not(
    bot, slack, workspace, save, live_key
):
    save(workspace.team_id, notify_channels=["C0OWNNOTE"])
    view, _ = workspace.run_wizard("Told in its own channel", "paddle", live_key)
    assert "Announced in <#C0OWNNOTE>" in view_text(workspace.view_containing(view["id"], "Announced in"))
    assert InProcessBot.settle_all()
    assert posts(slack, "C0OWNNOTE", "Told in its own channel")
    assert not posts(slack, "CNOTIFYA", "Told in its own channel") and not posts(slack, "CNOTIFYB", "Told in its own")
    elsewhere = Workspace(bot, slack)  # saved nothing: the environment's channels, as before
    created_id(elsewhere, "Told in the defaults", live_key)
    assert InProcessBot.settle_all()
    assert posts(slack, "CNOTIFYA", "Told in the defaults") and not posts(slack, "C0OWNNOTE", "Told in the defaults")


def test_saved_admins_govern_the_next_request_and_a_change_applies_at_once(bot, slack, workspace, save):
    save(workspace.team_id, admins=["U0BOSS"])
    reply = workspace.command("/create-credential", response_url=slack.response_url("not-boss"), trigger_id="t-1")
    assert reply.status == 200
    refusal = slack.wait_for("response_url:not-boss").params["text"]
    assert "Only credential admins can create or change credentials" in refusal and "<@U0BOSS>" in refusal
    boss = Workspace(bot, slack, team_id=workspace.team_id, user_id="U0BOSS")
    opened = slack.count("views.open")
    boss.command("/create-credential", trigger_id="t-boss")
    assert settled(lambda: slack.count("views.open"), lambda n: n > opened) > opened
    save(workspace.team_id, admins=[workspace.user_id])  # the change governs the very next request
    opened = slack.count("views.open")
    workspace.command("/create-credential", trigger_id="t-2")
    assert settled(lambda: slack.count("views.open"), lambda n: n > opened) > opened
    denied = bot.sql(
        "SELECT actor FROM audit_events WHERE team_id = :t AND outcome = 'denied' ORDER BY id", t=workspace.team_id
    )
    assert denied == [(workspace.user_id,)]


def test_a_saved_reminder_lead_makes_a_reminder_due_earlier(bot, slack, workspace, save, paddle_live):
    from bot.slack.reminders import run_expiry_check

    expires = (datetime.now(UTC) + timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
    paddle_live.key_expires_at = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    credential_id = created_id(workspace, "Reminded a month ahead", paddle_live.new_key("live"))
    assert InProcessBot.settle_all()
    save(workspace.team_id, reminder_days=30, notify_channels=["C0OWNNOTE"])
    early = run_expiry_check(bot.services, bot.services.slack, expires - timedelta(days=29))
    assert (credential_id, "expires_soon") in early
    sent = [c for c in slack.calls_to("chat.postMessage") if credential_id in view_text(c.params)]
    assert [c.params["channel"] for c in sent if "reminder_replace" in view_text(c.params)] == ["C0OWNNOTE"]


def test_a_saved_board_channel_moves_the_board(bot, slack, workspace, save, live_key):
    save(workspace.team_id, board_channel="C0OWNBOARD")
    created_id(workspace, "On its own board", live_key)
    assert InProcessBot.settle_all()
    assert posts(slack, "C0OWNBOARD", "On its own board")
