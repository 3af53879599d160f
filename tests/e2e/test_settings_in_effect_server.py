"""Through the real server: settings a workspace saved (here through the core, as the Settings view will, on the
test's own engine: another instance as far as the server is concerned) govern its next requests within the
settings book's reload, and its announcements go to its own channels, not the environment's."""

from __future__ import annotations

from bot.credentials.audit import AuditLog
from bot.credentials.types import Workspace as Scope
from bot.credentials.workspace_settings_save import save_settings
from bot.infra.db import create_db_engine, session_factory
from tests.kit import Workspace, created_id, settled, view_text


def test_saved_viewers_and_channels_govern_the_workspace_through_the_server(bot, slack, workspace, live_key):
    engine = create_db_engine(bot.database_url)
    sessions = session_factory(engine)
    try:
        changes = {"viewers": ["U0E2EVIEW"], "notify_channels": ["C0E2ENOTE"]}
        save_settings(sessions, AuditLog(sessions), Scope(team_id=workspace.team_id), changes, "U0SETTER")
    finally:
        engine.dispose()

    def listing() -> str:
        reply = workspace.command("/list-credentials")
        return reply.json().get("text", "") if reply.text else ""

    refusal = settled(listing, lambda text: "Only credential viewers" in text, timeout=10)
    assert "Only credential viewers can see credentials" in refusal and "<@U0E2EVIEW>" in refusal
    viewer = Workspace(bot, slack, team_id=workspace.team_id, user_id="U0E2EVIEW")
    assert "Only credential viewers" not in (viewer.command("/list-credentials").text or "")
    created_id(workspace, "Announced where it saved", live_key)  # no admins saved: everyone may still manage
    bot.wait_idle()
    posted = [
        c.params.get("channel")
        for c in slack.calls_to("chat.postMessage")
        if "Announced where it saved" in view_text(c.params) + c.params.get("text", "")
    ]
    assert posted == ["C0E2ENOTE"]
