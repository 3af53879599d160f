"""AccessPolicy alone: its group-membership cache and how it names the workspace (moved from test_access.py)."""

from __future__ import annotations

import pytest


def test_group_cache_expires_after_five_minutes():
    from bot.slack.access import AccessPolicy
    from bot.credentials.types import Workspace as Scope

    class Client:
        members = ["U1"]
        calls = 0

        def usergroups_users_list(self, **_):
            Client.calls += 1
            return {"ok": True, "users": list(Client.members)}

    now = [0.0]
    policy = AccessPolicy(["S1"], None, Client(), clock=lambda: now[0])
    here = Scope("", "T1")
    assert policy.may_manage(here, "U1")
    Client.members = []
    now[0] = 299
    assert policy.may_manage(here, "U1") and Client.calls == 1
    now[0] = 301
    assert not policy.may_manage(here, "U1") and Client.calls == 2
    assert policy.may_view(here, "U1")  # no viewers configured: everyone may list


def test_org_wide_installs_name_the_workspace_when_reading_groups():
    from bot.slack.access import AccessPolicy
    from bot.credentials.types import Workspace as Scope

    seen = []

    class Client:
        def usergroups_users_list(self, **arguments):
            seen.append(arguments)
            return {"ok": True, "users": ["U1"]}

    policy = AccessPolicy(["S1"], None, Client())
    assert policy.may_manage(Scope("E1", "T1"), "U1")
    assert seen == [{"usergroup": "S1", "team_id": "T1"}]
    assert not policy.may_manage(Scope("E1", "T1"), "")  # a payload without a user is never allowed


class People:
    """users.info as Slack answers it, from a table of people; counts the calls."""

    def __init__(self, **people: dict) -> None:
        self.people, self.calls = people, []

    def users_info(self, **arguments):
        self.calls.append(arguments)
        if arguments["user"] not in self.people:
            from slack_sdk.errors import SlackApiError

            raise SlackApiError("user_not_found", {"ok": False, "error": "user_not_found"})
        return {"ok": True, "user": {"id": arguments["user"], **self.people[arguments["user"]]}}


def grid(team: str, enterprise: str, *teams: str) -> dict:
    return {"team_id": team, "enterprise_user": {"enterprise_id": enterprise, "teams": [team, *teams]}}


def test_an_org_wide_install_takes_its_organisation_not_a_workspace_id_for_membership():
    from bot.credentials.types import Workspace as Scope
    from bot.slack.access import AccessPolicy
    from bot.slack.requester import Requester

    slack = People(U0EAST=grid("T0EAST", "E0HOST"), U0GRID=grid("T0PARTNER", "E0PARTNER"), U0SOLO={"team_id": "T0SOLO"})
    policy = AccessPolicy([], None, slack)
    here = Scope("E0HOST", "T0WEST")  # a command in a West channel, by someone of East: the same organisation
    assert policy.may("view", Requester("U0EAST", here, org_wide=True), token="xoxb-org")
    assert slack.calls == [{"user": "U0EAST", "token": "xoxb-org"}]  # the request's token, not the process's
    for guest in ("U0GRID", "U0SOLO", "U0NOBODY"):  # another Grid, a workspace of its own, users.info says nothing
        refused = policy.may("manage", Requester(guest, here, org_wide=True, own_team="T0HOST"))
        assert not refused and "another organisation" in refused.reason, guest
        assert "Credbot is for members of this workspace" in refused.message
    assert policy.may("view", Requester("U0EAST", here, org_wide=True)) and len(slack.calls) == 4  # kept


def test_a_workspace_install_takes_the_payloads_word_or_users_info():
    from bot.credentials.types import Workspace as Scope
    from bot.slack.access import AccessPolicy
    from bot.slack.requester import Requester

    slack = People(
        U0HOST={"team_id": "T0HOST"},
        U0MULTI=grid("T0OTHER", "E0HOST", "T0HOST"),
        U0GUEST={"team_id": "T0PARTNER"},
        U0STRANGER={"team_id": "T0HOST", "is_stranger": True},
    )
    policy = AccessPolicy([], None, slack)
    here = Scope("", "T0HOST")
    assert policy.may("view", Requester("U0HOST", here, own_team="T0HOST", ask_slack=False))
    assert not policy.may("view", Requester("U0GUEST", here, own_team="T0PARTNER", ask_slack=False))
    assert slack.calls == []  # an interaction names the person's workspace: no call
    assert policy.may("view", Requester("U0HOST", here))  # the Home tab: users.info
    assert policy.may("view", Requester("U0MULTI", here))  # a member of several workspaces of the organisation
    assert not policy.may("view", Requester("U0GUEST", here))
    assert not policy.may("view", Requester("U0STRANGER", here))
    assert not policy.may("view", Requester("", here, ask_slack=False))  # no user: never


def test_someone_of_another_organisation_named_by_user_id_passes():
    from bot.credentials.types import Workspace as Scope
    from bot.slack.access import AccessPolicy
    from bot.slack.requester import Requester

    policy = AccessPolicy(["U0ADMIN", "S0GROUP"], ["U0PARTNER"], People())
    here = Scope("", "T0HOST")
    assert policy.may("view", Requester("U0PARTNER", here, own_team="T0PARTNER", ask_slack=False))
    assert not policy.may("manage", Requester("U0PARTNER", here, own_team="T0PARTNER", ask_slack=False))
    assert policy.may("manage", Requester("U0ADMIN", here, own_team="T0PARTNER", ask_slack=False))


def test_the_payload_says_where_the_person_belongs_or_users_info_is_asked():
    from types import SimpleNamespace

    from bot.credentials.types import Workspace as Scope
    from bot.slack.requester import requester_of

    here, plain = Scope("", "T0HOST"), SimpleNamespace(is_enterprise_install=False)
    command = {"command": "/list-credentials", "user_id": "U1"}
    assert not requester_of(plain, command, here, "U1").ask_slack  # an unshared channel: the workspace's own
    assert requester_of(plain, command | {"is_ext_shared_channel": "true"}, here, "U1").ask_slack
    click = requester_of(plain, {"type": "block_actions", "user": {"id": "U1", "team_id": "T0PARTNER"}}, here, "U1")
    assert click.own_team == "T0PARTNER" and not click.ask_slack
    home = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1"}}
    assert requester_of(plain, home, here, "U1").ask_slack  # the Home tab says nothing of the person
    org = requester_of(SimpleNamespace(is_enterprise_install=True), command, here, "U1")
    assert org.org_wide and org.ask_slack  # a workspace id alone does not name its organisation


def test_each_workspace_is_governed_by_its_own_rules_and_unreadable_settings_refuse():
    from bot.credentials.types import Workspace as Scope
    from bot.slack.access import AccessPolicy
    from bot.slack.requester import Requester

    def rules(workspace):
        if workspace.team_id == "T0BROKEN":
            raise RuntimeError("database unreachable")
        return (("U0OWNADMIN",), None) if workspace.team_id == "T0SAVED" else (("U0ADMIN",), None)

    policy = AccessPolicy(["U0ADMIN"], None, People(), rules=rules)
    saved, plain, broken = Scope("", "T0SAVED"), Scope("", "T0PLAIN"), Scope("", "T0BROKEN")
    assert policy.may("manage", Requester("U0OWNADMIN", saved, ask_slack=False))
    refused = policy.may("manage", Requester("U0ADMIN", saved, ask_slack=False))
    assert not refused and "<@U0OWNADMIN>" in refused.message and "<@U0ADMIN>" not in refused.message
    assert policy.may("manage", Requester("U0ADMIN", plain, ask_slack=False))
    unreadable = policy.may("view", Requester("U0ADMIN", broken, ask_slack=False))
    assert not unreadable and "could not be read" in unreadable.reason


def test_the_settings_book_reads_each_time_keeps_within_a_request_and_refuses_when_it_cannot_read(tmp_path):
    """Nothing is kept between requests (a change saved elsewhere governs the next one); within one request's ack a
    workspace is read once; a read that fails raises, never the defaults."""
    from sqlalchemy import text

    from bot.credentials.audit import AuditLog
    from bot.credentials.types import Workspace as Scope
    from bot.credentials.workspace_settings import SettingDefaults
    from bot.credentials.workspace_settings_save import save_settings
    from bot.infra.db import create_db_engine, session_factory, upgrade
    from bot.slack.settings_book import SettingsBook, SettingsUnavailable, request_scope

    url = f"sqlite:///{tmp_path / 'book.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    book = SettingsBook(sessions, SettingDefaults(admins=("U0ADMIN",)))
    team = Scope("", "T0A")
    assert book.of(team).admins == ("U0ADMIN",)
    save_settings(sessions, AuditLog(sessions), team, {"admins": ["U0OTHER"]}, "U0SETTER")
    assert book.of(team).admins == ("U0OTHER",)  # the very next read, no refresh to wait for
    with request_scope():
        reads = book.reads
        assert book.of(team).admins == ("U0OTHER",) and book.of(team).admins == ("U0OTHER",)
        assert book.reads == reads + 1  # once per request
        save_settings(sessions, AuditLog(sessions), team, {"admins": ["U0THIRD"]}, "U0SETTER")
        book.forget(team)  # what the Settings view does after its save
        assert book.of(team).admins == ("U0THIRD",)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE workspace_settings"))
    with pytest.raises(SettingsUnavailable):
        book.of(team)
    engine.dispose()
