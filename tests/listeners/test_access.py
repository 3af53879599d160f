"""Who may do what: CREDBOT_ADMINS manage, CREDBOT_VIEWERS list; checked on every step, fail closed."""

from __future__ import annotations

import pytest

from tests.kit import InProcessBot, Workspace, settled, view_text

ADMINS = "U0ADMIN, S0FINANCE"
VIEWERS = "U0VIEWER S0AUDIT"


@pytest.fixture(scope="module")
def guarded(bot_class, database, tmp_path_factory, slack, paddle_live, paddle_sandbox):
    """A bot with admins and viewers configured, shared by this module's tests (each in its own workspace)."""
    workdir = tmp_path_factory.mktemp("guarded")
    bot = bot_class(
        workdir,
        slack,
        paddle_live,
        paddle_sandbox,
        CREDBOT_ADMINS=ADMINS,
        CREDBOT_VIEWERS=VIEWERS,
        **database.provision(workdir),
    ).start()
    yield bot
    bot.stop()
    bot.close_database()


def person(bot, slack, user_id: str, team_id: str | None = None) -> Workspace:
    return Workspace(bot, slack, team_id=team_id, user_id=user_id)


def refused_command(workspace: Workspace, slack, command: str, name: str) -> dict:
    reply = workspace.command(command, response_url=workspace.slack.response_url(name), trigger_id=f"trg-{name}")
    assert reply.status == 200
    if reply.text:  # /list-credentials answers in the ack itself
        return reply.json()
    return slack.wait_for(f"response_url:{name}").params


def audit(bot, workspace: Workspace) -> list[tuple]:
    return bot.sql(
        "SELECT action, outcome, actor FROM audit_events WHERE team_id = :t ORDER BY id", t=workspace.team_id
    )


def test_a_non_admin_gets_a_short_answer_naming_who_to_ask_and_no_modal(guarded, slack):
    outsider = person(guarded, slack, "U0OUTSIDER")
    answer = refused_command(outsider, slack, "/create-credential", "refused-create")
    assert answer["response_type"] == "ephemeral"
    assert "Only credential admins can create or change credentials" in answer["text"]
    assert "<@U0ADMIN>" in answer["text"] and "<!subteam^S0FINANCE>" in answer["text"]
    assert InProcessBot.settle_all()
    assert slack.count("views.open") == 0
    assert audit(guarded, outsider) == [("credential.create", "denied", "U0OUTSIDER")]


def test_listed_admins_and_group_members_may_create(guarded, slack, paddle_live):
    slack.usergroups["S0FINANCE"] = ["U0FINANCE1"]
    admin = person(guarded, slack, "U0ADMIN")
    view, _ = admin.run_wizard("By an admin", "paddle", paddle_live.new_key("live"))
    assert "Credential created" in view_text(admin.outcome(view["id"]))
    member = person(guarded, slack, "U0FINANCE1", team_id=admin.team_id)
    view, _ = member.run_wizard("By a group member", "paddle", paddle_live.new_key("live"))
    assert "Credential created" in view_text(member.outcome(view["id"]))


def test_every_wizard_step_is_checked_not_only_the_command(guarded, slack, paddle_live):
    """A non-admin replaying an admin's modal (or forging one) is refused at each stage; nothing is stored."""
    admin = person(guarded, slack, "U0ADMIN")
    outsider = person(guarded, slack, "U0OUTSIDER", team_id=admin.team_id)
    view = admin.open_wizard()
    stages = []
    for block, value in (("name", "Stolen modal"), ("entity_type", "bill"), ("destination", "paddle")):
        stages.append((view, block, value))
        body = admin.submit(view, {block: value}).json()
        view = {**body["view"], "id": view["id"]}
    stages.append((view, "api_key", paddle_live.new_key("live")))
    calls_before = len(paddle_live.requests)
    for stage_view, block, value in stages:
        reply = outsider.submit(stage_view, {block: value})
        body = reply.json()
        assert reply.status == 200 and body["response_action"] == "update", reply.text
        assert "Only credential admins" in view_text(body["view"])
    outsider.click("wizard_back", "back", view=view, block_id="wizard_nav")
    back = slack.wait_for("views.update", lambda c: c.params.get("view_id") == view["id"]).json("view")
    assert "Only credential admins" in view_text(back)
    assert InProcessBot.settle_all()
    assert len(paddle_live.requests) == calls_before  # the key was never even checked
    assert guarded.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=admin.team_id) == [(0,)]
    denied = [row for row in audit(guarded, admin) if row[1] == "denied"]
    assert len(denied) == 5 and {row[2] for row in denied} == {"U0OUTSIDER"}


@pytest.mark.parametrize("failure", ["missing_scope", "down"])
def test_unreadable_group_membership_denies_and_is_not_cached(guarded, slack, failure):
    slack.usergroups["S0FINANCE"] = ["U0FINANCE2"]
    slack.usergroup_errors["S0FINANCE"] = failure
    member = person(guarded, slack, "U0FINANCE2")
    answer = refused_command(member, slack, "/create-credential", f"unreadable-{failure}")
    assert "Only credential admins" in answer["text"]
    assert guarded.sql("SELECT detail FROM audit_events WHERE team_id = :t", t=member.team_id) == [
        ("membership of S0FINANCE could not be read",)
    ]
    del slack.usergroup_errors["S0FINANCE"]  # Slack answers again: the next request is allowed
    assert member.open_wizard()["callback_id"] == "credential_wizard:name"


def test_group_membership_is_cached_per_workspace(guarded, slack):
    slack.usergroups["S0FINANCE"] = ["U0FINANCE3"]
    member = person(guarded, slack, "U0FINANCE3")
    member.open_wizard()
    member.open_wizard()
    asked = [c for c in slack.calls_to("usergroups.users.list") if c.params.get("usergroup") == "S0FINANCE"]
    assert len(asked) == 1
    slack.usergroups["S0FINANCE"] = []  # removed from the group: still cached (for up to 5 minutes)
    member.open_wizard()
    elsewhere = person(guarded, slack, "U0FINANCE3")  # another workspace asks Slack itself
    answer = refused_command(elsewhere, slack, "/create-credential", "elsewhere")
    assert "Only credential admins" in answer["text"]


def test_viewers_may_list_and_others_may_not(guarded, slack):
    slack.usergroups["S0AUDIT"] = ["U0AUDITOR"]
    viewer = person(guarded, slack, "U0VIEWER")
    for user in ("U0VIEWER", "U0AUDITOR", "U0ADMIN"):  # listed viewer, group member, admin
        body = person(guarded, slack, user, team_id=viewer.team_id).command("/list-credentials").json()
        assert "No credentials in this workspace yet" in view_text(body), user
    outsider = person(guarded, slack, "U0OUTSIDER", team_id=viewer.team_id)
    body = outsider.command("/list-credentials").json()
    assert body["response_type"] == "ephemeral" and "Only credential viewers can see credentials" in body["text"]
    assert "<@U0VIEWER>" in body["text"] and "blocks" not in body
    outsider.click("list_page_next", '{"q":"","p":20}', response_url=slack.response_url("peek"))
    assert "Only credential viewers" in slack.wait_for("response_url:peek").params["text"]
    # A listing is audited after its answer has gone (the refusals at once), so the last one may still be on its way.
    outcomes = settled(lambda: [row[1] for row in audit(guarded, viewer)], lambda seen: seen.count("listed") >= 3)
    assert outcomes.count("listed") == 3 and outcomes.count("denied") == 2


# --- Slack Connect: people of another organisation (security finding 12) --------------------------------------


def connect_click(workspace: Workspace, user_id: str, home_team: str, response_name: str):
    """A list-paging click by someone whose own workspace is ``home_team``, in a channel of ``workspace``."""
    payload = workspace._base() | {
        "type": "block_actions",
        "is_ext_shared_channel": True,
        "user": {"id": user_id, "username": "guest", "name": "guest", "team_id": home_team},
        "actions": [
            {
                "type": "button",
                "action_id": "list_page_next",
                "block_id": "b",
                "value": '{"q":"","p":20}',
                "action_ts": "1.0",
            }
        ],
        "container": {"type": "message", "message_ts": "1.0", "channel_id": "C0SHARED", "is_ephemeral": True},
        "channel": {"id": "C0SHARED", "name": "shared-with-partner"},
        "response_url": workspace.slack.response_url(response_name),
    }
    return workspace.bot.sender.interaction(payload)


def test_a_slack_connect_guest_may_not_list_even_when_everyone_may_view(bot, slack, workspace):
    slack.user_teams["U0GUEST"] = "T0PARTNER"
    guest = person(bot, slack, "U0GUEST", team_id=workspace.team_id)
    body = guest.command("/list-credentials", is_ext_shared_channel="true").json()
    assert "only to people of the workspace that owns them" in body["text"] and "blocks" not in body
    assert connect_click(workspace, "U0GUEST", "T0PARTNER", "guest-page").status == 200
    assert "only to people of the workspace" in slack.wait_for("response_url:guest-page").params["text"]
    denied = bot.sql(
        "SELECT outcome, detail FROM audit_events WHERE team_id = :t AND outcome = 'denied'", t=workspace.team_id
    )
    assert len(denied) == 2 and all("another organisation" in detail for _, detail in denied)


def test_a_member_in_a_shared_channel_still_may_list(bot, slack, workspace):
    slack.user_teams["U0MEMBER"] = workspace.team_id
    member = person(bot, slack, "U0MEMBER", team_id=workspace.team_id)
    body = member.command("/list-credentials", is_ext_shared_channel="true").json()
    assert "No credentials in this workspace yet" in view_text(body)


def test_an_unreadable_workspace_for_a_command_in_a_shared_channel_refuses(bot, slack, workspace):
    nobody = person(bot, slack, "U0NOBODY", team_id=workspace.team_id)
    del slack.user_teams["U0NOBODY"]  # users.info: user_not_found
    body = nobody.command("/list-credentials", is_ext_shared_channel="true").json()
    assert "only to people of the workspace that owns them" in body["text"] and "blocks" not in body


def test_a_guest_named_in_viewers_may_list(guarded, slack):
    host = person(guarded, slack, "U0VIEWER")
    slack.user_teams["U0VIEWER"] = "T0PARTNER"  # the listed viewer, from the partner organisation
    body = host.command("/list-credentials", is_ext_shared_channel="true").json()
    assert "No credentials in this workspace yet" in view_text(body)
