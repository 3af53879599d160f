"""The workspace Settings view, set from Slack (issue 22): the Home tab's Settings button only for those allowed to
change settings (CREDBOT_ADMINS when set, else the workspace's Slack admins and owners and the installer), a modal
of Slack's own selects, checked on submit (the bot in each new channel, a stale view refused), saved and audited
with old and new values; a forged submission or a Slack Connect guest is refused and audited."""

from __future__ import annotations

import json

import pytest

from bot.credentials.types import Workspace as Team
from bot.credentials.workspace_settings import SettingDefaults, settings_in_effect
from bot.infra.db import create_db_engine, session_factory
from tests.kit import InProcessBot, Workspace, view_text
from tests.kit.connect import ConnectGuest
from tests.kit.workspace import settings_state

ENV_ADMINS = "U0SETADMIN S0SETTERS"


@pytest.fixture(scope="module")
def configured(bot_class, database, tmp_path_factory, slack, paddle_live, paddle_sandbox):
    """A bot whose CREDBOT_ADMINS (a person and a group) decide who may change settings."""
    workdir = tmp_path_factory.mktemp("settings-view")
    bot = bot_class(
        workdir,
        slack,
        paddle_live,
        paddle_sandbox,
        CREDBOT_ADMINS=ENV_ADMINS,
        CREDBOT_NOTIFY_CHANNELS="C0ENVNEWS",
        **database.provision(workdir),
    ).start()
    yield bot
    bot.stop()
    bot.close_database()


def in_effect(bot, team_id: str):
    engine = create_db_engine(bot.database_url)
    try:
        return settings_in_effect(session_factory(engine), Team(team_id=team_id), SettingDefaults())
    finally:
        engine.dispose()


def audited(bot, team_id: str, action: str) -> list[tuple]:
    return bot.sql(
        "SELECT actor, outcome, detail FROM audit_events WHERE team_id = :t AND action = :a ORDER BY id",
        t=team_id,
        a=action,
    )


def block_ids(view: dict) -> set[str]:
    return {block.get("block_id") for block in view.get("blocks") or []}


def element(view: dict, block_id: str) -> dict:
    return next(b["element"] for b in view["blocks"] if b.get("block_id") == block_id)


def test_an_admin_sees_the_button_and_saves_every_field_audited_with_old_and_new(configured, slack):
    admin = Workspace(configured, slack, user_id="U0SETADMIN")
    assert "settings" in block_ids(admin.open_home())
    view = admin.open_settings()
    channels = element(view, "notify_channels")
    assert channels["type"] == "multi_conversations_select"
    assert channels["filter"] == {"include": ["public", "private"], "exclude_bot_users": True}
    assert channels["initial_conversations"] == ["C0ENVNEWS"]
    assert element(view, "board_channel")["type"] == "conversations_select"
    assert element(view, "admin_users")["initial_users"] == ["U0SETADMIN"]
    assert element(view, "admin_groups")["initial_value"] == "S0SETTERS"
    assert element(view, "reminder_days") | {"action_id": ""} == {
        "type": "number_input", "action_id": "", "is_decimal_allowed": False,
        "min_value": "1", "max_value": "60", "initial_value": "7",
    }  # fmt: skip
    assert "(default)" in view_text(view) and "saved for" not in view_text(view)
    published = admin.publish_count()
    reply = admin.submit_settings(
        view,
        notify_channels=["C0NEWS1", "C0NEWS2"],
        board_channel="C0BOARD2",
        admin_users=["U0SETADMIN", "U0BOB"],
        admin_groups="S0TEAM, S0SETTERS",
        viewers_scope="chosen",
        viewer_users=["U0CAROL"],
        viewer_groups="S0AUDIT",
        reminder_days="14",
    )
    assert reply.status == 200 and not reply.text  # an empty answer: the modal closes
    admin.published(published)  # the Home tab drawn again
    now = in_effect(configured, admin.team_id)
    assert now.notify_channels == ("C0NEWS1", "C0NEWS2") and now.board_channel == "C0BOARD2"
    assert set(now.admins) == {"U0SETADMIN", "U0BOB", "S0TEAM", "S0SETTERS"}
    assert now.viewers == ("U0CAROL", "S0AUDIT") and now.reminder_days == 14
    rows = audited(configured, admin.team_id, "workspace_settings.changed")
    changes = {json.loads(detail)["setting"]: json.loads(detail) for _, _, detail in rows}
    assert set(changes) == {"notify_channels", "board_channel", "admins", "viewers", "reminder_days"}
    assert (changes["notify_channels"]["old"], changes["notify_channels"]["new"]) == (None, ["C0NEWS1", "C0NEWS2"])
    assert (changes["reminder_days"]["old"], changes["reminder_days"]["new"]) == (None, 14)
    assert {actor for actor, _, _ in rows} == {"U0SETADMIN"}
    again = admin.open_settings()
    assert f"saved for {admin.team_id}" in view_text(again)
    assert element(again, "reminder_days")["initial_value"] == "14"


def test_a_group_member_of_credbot_admins_may_change_and_others_may_not(configured, slack):
    slack.usergroups["S0SETTERS"] = ["U0GROUPED"]
    member = Workspace(configured, slack, user_id="U0GROUPED")
    assert "settings" in block_ids(member.open_home())
    slack.user_roles["U0SLACKADMIN"] = {"is_admin"}  # CREDBOT_ADMINS is set: a Slack admin is not enough
    assert "settings" not in block_ids(Workspace(configured, slack, user_id="U0SLACKADMIN").open_home())


def test_a_non_admin_sees_no_button_and_a_forged_submission_is_refused_and_audited(configured, slack):
    admin = Workspace(configured, slack, user_id="U0SETADMIN")
    view = admin.open_settings()
    plain = Workspace(configured, slack, team_id=admin.team_id, user_id="U0PLAIN")
    assert "settings" not in block_ids(plain.open_home())
    reply = plain.submit_settings(view, reminder_days="30", notify_channels=["C0EVIL"])
    answer = reply.json()
    assert answer["response_action"] == "update"
    assert "Only those allowed to manage Credbot's settings" in view_text(answer["view"])
    assert in_effect(configured, admin.team_id).sources["reminder_days"].kind == "default"
    assert audited(configured, admin.team_id, "workspace_settings.changed") == []
    assert [(a, o) for a, o, _ in audited(configured, admin.team_id, "workspace_settings.change")] == [
        ("U0PLAIN", "denied")
    ]
    opened = len(slack.calls_to("views.open"))
    plain.home_button("home_settings", "open")  # the button itself, made up: a refusal, not the modal
    assert "Only those allowed" in view_text(plain.opened(after=opened))


def test_a_slack_connect_guest_is_refused_even_as_an_admin_of_their_own_workspace(bot, slack):
    host = Workspace(bot, slack, user_id="U0HOSTADMIN")
    slack.user_roles["U0HOSTADMIN"] = {"is_owner"}
    view = host.open_settings()
    guest = ConnectGuest(host)
    slack.user_roles[guest.user_id] = {"is_admin", "is_primary_owner"}
    values = {block: {f"{block}_input": state} for block, state in settings_state(view, reminder_days="3").items()}
    answer = guest.send(guest.view_submission(view, values)).json()
    assert answer["response_action"] == "update"
    assert "another organisation" in view_text(answer["view"]) or "members of this workspace" in view_text(
        answer["view"]
    )
    assert in_effect(bot, host.team_id).reminder_days == 7
    assert [(a, o) for a, o, _ in audited(bot, host.team_id, "workspace_settings.change")] == [
        (guest.user_id, "denied")
    ]


def test_a_channel_the_bot_is_not_in_is_refused_with_the_invite_line(configured, slack):
    admin = Workspace(configured, slack, user_id="U0SETADMIN")
    view = admin.open_settings()
    slack.channel_members["C0NOTJOINED"] = False
    reply = admin.submit_settings(view, notify_channels=["C0NEWS1", "C0NOTJOINED"], board_channel="C0NOTJOINED")
    answer = reply.json()
    assert answer["response_action"] == "errors"
    for field in ("notify_channels", "board_channel"):
        assert "C0NOTJOINED" in answer["errors"][field] and "/invite @Credbot" in answer["errors"][field]
    assert "C0NEWS1" not in answer["errors"]["notify_channels"]
    assert [c.params.get("channel") for c in slack.calls_to("conversations.info")].count("C0NOTJOINED") >= 1
    assert audited(configured, admin.team_id, "workspace_settings.changed") == []


def test_malformed_ids_are_refused_on_their_fields(configured, slack):
    admin = Workspace(configured, slack, user_id="U0SETADMIN")
    view = admin.open_settings()
    answer = admin.submit_settings(
        view, admin_groups="S0OK, finance", notify_channels=["#general"], reminder_days="61"
    ).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"admin_groups", "notify_channels", "reminder_days"}
    assert "finance" in answer["errors"]["admin_groups"]


def test_a_stale_view_is_refused_and_saves_nothing(configured, slack):
    admin = Workspace(configured, slack, user_id="U0SETADMIN")
    first, second = admin.open_settings(), admin.open_settings()
    assert admin.submit_settings(first, reminder_days="10").status == 200
    answer = admin.submit_settings(second, reminder_days="20").json()
    assert answer["response_action"] == "update"
    assert "since you opened Settings" in view_text(answer["view"]) and "reminder days" in view_text(answer["view"])
    assert in_effect(configured, admin.team_id).reminder_days == 10
    assert len(audited(configured, admin.team_id, "workspace_settings.changed")) == 1


def test_without_credbot_admins_a_workspace_admin_may_change_and_a_member_may_not(bot, slack):
    owner = Workspace(bot, slack, user_id="U0WSADMIN")
    slack.user_roles["U0WSADMIN"] = {"is_admin"}
    assert "settings" in block_ids(owner.open_home())
    reply = owner.submit_settings(owner.open_settings(), reminder_days="21")
    assert reply.status == 200 and not reply.text
    assert in_effect(bot, owner.team_id).reminder_days == 21
    member = Workspace(bot, slack, team_id=owner.team_id, user_id="U0MEMBER")
    assert "settings" not in block_ids(member.open_home())
    assert InProcessBot.settle_all()


OAUTH = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1111111111.2222222222", "SLACK_CLIENT_SECRET": "s" * 32}


def test_in_oauth_mode_the_installer_may_change_and_the_installations_token_checks_the_channel(start_bot, slack):
    from slack_sdk.oauth.installation_store import Installation

    bot = start_bot(**OAUTH)
    installer = Workspace(bot, slack, user_id="U0INSTALLER")
    token = "xoxb-install-" + "7" * 20
    bot.services.installations.save(
        Installation(app_id="A0001", team_id=installer.team_id, user_id="U0INSTALLER", bot_token=token,
                     bot_id="BBOT", bot_user_id="U0BOT")
    )  # fmt: skip
    assert "settings" in block_ids(installer.open_home())
    assert "settings" not in block_ids(Workspace(bot, slack, team_id=installer.team_id, user_id="U0OTHER").open_home())
    slack.channel_members["C0OUTSIDE"] = False
    answer = installer.submit_settings(installer.open_settings(), board_channel="C0OUTSIDE").json()
    assert "/invite @Credbot" in answer["errors"]["board_channel"]
    asked = [c for c in slack.calls_to("conversations.info") if c.params.get("channel") == "C0OUTSIDE"]
    assert asked and {c.header("Authorization", "") for c in asked} == {f"Bearer {token}"}
    reply = installer.submit_settings(installer.open_settings(), board_channel="C0INSIDE")
    assert reply.status == 200 and not reply.text
    assert in_effect(bot, installer.team_id).board_channel == "C0INSIDE"


def test_a_saved_change_governs_this_instances_very_next_request(configured, slack):
    """Every request reads the settings in effect afresh: the saving instance's next request follows the save."""
    admin = Workspace(configured, slack, user_id="U0SETADMIN")
    member = Workspace(configured, slack, team_id=admin.team_id, user_id="U0PLAINMEMBER")
    assert ":no_entry:" not in member.command("/list-credentials").text  # everyone may view, by default
    reply = admin.submit_settings(admin.open_settings(), viewers_scope="chosen", viewer_users=["U0CAROL"])
    assert reply.status == 200 and not reply.text
    assert ":no_entry:" in member.command("/list-credentials").text  # no refresh to wait for
