"""Through the real server: settings a workspace saved (through the core on the test's own engine, or through the
Settings view of another server on the same database) govern its very next request on every instance (each request
reads them afresh: nothing to wait for), and its announcements go to its own channels, not the environment's."""

from __future__ import annotations

import uuid

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

    refusal = listing()  # the very next request: no reload to wait for
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


def test_a_change_saved_through_one_instances_settings_view_governs_the_next_request_on_another(
    database, start_bot, slack
):
    """Two servers on one database: an admin removed from "who may manage" on A is refused on B at once, and
    viewers narrowed on A refuse the next listing on B; then widened again on A, B lets them in at once."""
    shared = database.shared() | {"CREDBOT_ADMINS": "U0SETADMIN"}
    a, b = start_bot(**shared), start_bot(**shared)
    admin = Workspace(a, slack, user_id="U0SETADMIN")
    bob_on_b = Workspace(b, slack, team_id=admin.team_id, user_id="U0BOB")
    plain_on_b = Workspace(b, slack, team_id=admin.team_id, user_id="U0PLAIN")

    def may_create(person: Workspace) -> bool:
        """/create-credential: the wizard opens (True) or the refusal comes to the response URL (False)."""
        label = uuid.uuid4().hex[:8]
        reply = person.command("/create-credential", trigger_id=f"t-{label}", response_url=slack.response_url(label))
        assert reply.status == 200

        def answered() -> str:
            if any(c.params.get("trigger_id") == f"t-{label}" for c in slack.calls_to("views.open")):
                return "opened"
            refused = slack.calls_to(f"response_url:{label}")
            return "refused" if refused and "Only credential admins" in refused[0].params["text"] else ""

        return settled(answered, bool) == "opened"

    saved = admin.submit_settings(admin.open_settings(), admin_users=["U0SETADMIN", "U0BOB"])
    assert saved.status == 200 and not saved.text
    assert may_create(bob_on_b)  # B follows A's save on its very next request
    for _ in range(3):  # several rounds: never the old value, however soon the request follows the save
        removed = admin.submit_settings(admin.open_settings(), admin_users=["U0SETADMIN"])
        assert removed.status == 200 and not removed.text
        assert not may_create(bob_on_b)
        restored = admin.submit_settings(admin.open_settings(), admin_users=["U0SETADMIN", "U0BOB"])
        assert restored.status == 200 and not restored.text
        assert may_create(bob_on_b)
    narrowed = admin.submit_settings(admin.open_settings(), viewers_scope="chosen", viewer_users=["U0CAROL"])
    assert narrowed.status == 200 and not narrowed.text
    assert "Only credential viewers" in (plain_on_b.command("/list-credentials").text or "")
    widened = admin.submit_settings(admin.open_settings(), viewers_scope="everyone")
    assert widened.status == 200 and not widened.text
    assert "Only credential viewers" not in (plain_on_b.command("/list-credentials").text or "")
