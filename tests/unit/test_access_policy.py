"""AccessPolicy alone: its group-membership cache and how it names the workspace (moved from test_access.py)."""

from __future__ import annotations


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
