"""Every installed workspace a tenant of its own (issue 22), through the real server in OAuth mode on SQLite and
PostgreSQL: workspaces installed through the OAuth flow (two plain, one org-wide with a per-workspace override),
each with its own saved settings, set through the Home tab's Settings view where Slack lets a workspace's admin
do so (the org's own value through the core: no workspace's Settings view saves for the whole org). Each
workspace's announcements land only in its own channels, every Slack call for it carries its own token, and a
workspace that saved nothing is told in the environment's channels. Settings submitted by someone not allowed
are refused and audited, and a channel the bot is not in is refused with the `/invite` line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.credentials.audit import AuditLog
from bot.credentials.types import Workspace as Scope
from bot.credentials.workspace_settings_save import save_settings
from bot.infra.db import create_db_engine, session_factory
from tests.e2e.test_oauth import OAUTH, install
from tests.kit import NOTIFY_CHANNELS, Workspace, settled, view_text

ORG = "E0TENANTS"


@dataclass
class Tenant:
    person: Workspace  # a Slack admin of the workspace (may change its settings)
    token: str
    channels: set[str]  # where its announcements must go


def token(name: str) -> str:
    return f"xoxb-{name}-" + "7" * 20


@pytest.fixture
def tenants(start_bot, slack):
    """alpha and beta (plain, each saved its own channels), the org (org-wide: the org saved one channel, its
    team west saved its own over it, east inherits the org's) and gamma (plain, saved nothing)."""
    bot = start_bot(**OAUTH, CREDBOT_REMINDER_INTERVAL_SECONDS="1")  # the reminder and board passes run often
    for team in ("T0ALPHA", "T0BETA", "T0GAMMA"):
        install(bot, slack, team, token(team.lower()))
    install(bot, slack, "T0ORGHOME", token("org"), enterprise_id=ORG, org_wide=True)
    people = {
        "alpha": Workspace(bot, slack, team_id="T0ALPHA", user_id="U0ALPHADMIN"),
        "beta": Workspace(bot, slack, team_id="T0BETA", user_id="U0BETADMIN"),
        "gamma": Workspace(bot, slack, team_id="T0GAMMA", user_id="U0GAMMADMIN"),
        "west": Workspace(bot, slack, team_id="T0WEST", user_id="U0WESTADMIN", enterprise_id=ORG, org_wide=True),
        "east": Workspace(bot, slack, team_id="T0EAST", user_id="U0EASTADMIN", enterprise_id=ORG, org_wide=True),
    }
    for person in people.values():
        slack.user_roles[person.user_id] = {"is_admin"}  # Slack admins: CREDBOT_ADMINS is not set
    saved = {"alpha": ["C0ALPHA1", "C0ALPHA2"], "beta": ["C0BETA"], "west": ["C0WEST"]}
    for name, channels in saved.items():
        for channel in channels:
            slack.channel_teams[channel] = people[name].team_id
        reply = people[name].submit_settings(people[name].open_settings(), notify_channels=channels)
        assert reply.status == 200 and not reply.text, reply.text
    slack.channel_teams["C0ORGNOTE"] = "T0EAST"
    engine = create_db_engine(bot.database_url)
    try:
        sessions = session_factory(engine)
        save_settings(
            sessions, AuditLog(sessions), Scope(enterprise_id=ORG), {"notify_channels": ["C0ORGNOTE"]}, "U0ORG"
        )
    finally:
        engine.dispose()
    found = {
        "alpha": Tenant(people["alpha"], token("t0alpha"), {"C0ALPHA1", "C0ALPHA2"}),
        "beta": Tenant(people["beta"], token("t0beta"), {"C0BETA"}),
        "gamma": Tenant(people["gamma"], token("t0gamma"), set(NOTIFY_CHANNELS)),
        "west": Tenant(people["west"], token("org"), {"C0WEST"}),
        "east": Tenant(people["east"], token("org"), {"C0ORGNOTE"}),
    }
    return bot, found


def test_each_workspace_is_told_only_in_its_own_channels_with_its_own_token(tenants, slack, paddle_live):
    bot, found = tenants
    start = len(slack.calls)  # what the wizards and announcements call, after the installs and settings

    def since(method: str) -> list:
        return [c for c in slack.calls[start:] if c.method == method]

    for name, tenant in found.items():
        view, _ = tenant.person.run_wizard(f"Billing of {name}", "paddle", paddle_live.new_key("live"))
        announced = view_text(tenant.person.view_containing(view["id"], "Announced in"))
        assert all(f"<#{channel}>" in announced for channel in tenant.channels), (name, announced)
    bot.wait_idle()
    every = set().union(*(tenant.channels for tenant in found.values()))
    for name, tenant in found.items():
        posts = [
            c for c in since("chat.postMessage")
            if f"Billing of {name}" in view_text(c.params) + c.params.get("text", "")
        ]  # fmt: skip
        assert {c.params.get("channel") for c in posts} == tenant.channels, name
        assert {c.header("Authorization") for c in posts} == {f"Bearer {tenant.token}"}, name
    assert {c.params.get("channel") for c in since("chat.postMessage")} <= every
    tokens = {tenant.token for tenant in found.values()}
    used = {c.header("Authorization", "") for c in slack.calls[start:] if not c.method.startswith("response_url:")}
    assert used == {f"Bearer {t}" for t in tokens}  # no call without a token, none with another's
    for channel, owner in (("C0ALPHA1", "alpha"), ("C0BETA", "beta"), ("C0WEST", "west"), ("C0ORGNOTE", "east")):
        asked = {
            c.header("Authorization")
            for c in slack.calls_to("conversations.info")
            if c.params.get("channel") == channel
        }
        assert asked <= {f"Bearer {found[owner].token}"}, channel
    for method in ("views.open", "views.update"):  # each workspace's modals with its own token
        by_token = {c.header("Authorization") for c in since(method)}
        assert by_token == {f"Bearer {t}" for t in tokens}, method


def test_settings_from_someone_not_allowed_are_refused_and_audited_and_an_uninvited_channel_refused(tenants, slack):
    bot, found = tenants
    alpha = found["alpha"].person
    view = alpha.open_settings()
    plain = Workspace(bot, slack, team_id=alpha.team_id, user_id="U0ALPHAPLAIN")  # no Slack role, not the installer
    answer = plain.submit_settings(view, notify_channels=["C0EVIL"]).json()
    assert answer["response_action"] == "update"
    assert "Only those allowed to manage Credbot's settings" in view_text(answer["view"])
    rows = bot.sql(
        "SELECT actor, outcome FROM audit_events WHERE team_id = :t AND action = 'workspace_settings.change'",
        t=alpha.team_id,
    )
    assert rows == [("U0ALPHAPLAIN", "denied")]
    slack.channel_members["C0NOTINVITED"] = False
    west = found["west"]
    answer = west.person.submit_settings(west.person.open_settings(), notify_channels=["C0WEST", "C0NOTINVITED"]).json()
    assert answer["response_action"] == "errors"
    assert "C0NOTINVITED" in answer["errors"]["notify_channels"] and "/invite @" in answer["errors"]["notify_channels"]
    asked = [c for c in slack.calls_to("conversations.info") if c.params.get("channel") == "C0NOTINVITED"]
    assert asked and {c.header("Authorization") for c in asked} == {f"Bearer {west.token}"}
    changed = bot.sql(
        "SELECT detail FROM audit_events WHERE action = 'workspace_settings.changed' AND detail LIKE '%C0EVIL%'"
        " OR detail LIKE '%C0NOTINVITED%'"
    )
    assert changed == []  # neither was saved


def test_each_workspaces_board_and_reminders_go_to_its_own_channels_with_its_own_token(tenants, slack, paddle_live):
    """The background passes of the real server (its reminder loop, every second here), per installation."""
    bot, found = tenants
    boards = {"alpha": "C0ALPHABOARD", "beta": "C0BETABOARD"}
    for name, channel in boards.items():
        person = found[name].person
        slack.channel_teams[channel] = person.team_id
        reply = person.submit_settings(person.open_settings(), board_channel=channel)
        assert reply.status == 200 and not reply.text, reply.text
    ids = {}
    for name in ("alpha", "beta", "east"):
        view, _ = found[name].person.run_wizard(f"Due of {name}", "paddle", paddle_live.new_key("live"))
        found[name].person.view_containing(view["id"], "Announced in")
        [(ids[name],)] = bot.sql("SELECT id FROM credentials WHERE name = :n", n=f"Due of {name}")
    for name, channel in boards.items():  # drawn in the workspace's own board channel (posted, or updated if the
        # background pass drew it empty first), with its own token
        drawn = settled(
            lambda ch=channel, n=name: [
                c for c in slack.calls
                if c.method in ("chat.postMessage", "chat.update") and c.params.get("channel") == ch
                and f"Due of {n}" in view_text(c.params)
            ],
            bool,
            timeout=15,
        )  # fmt: skip
        assert drawn and {c.header("Authorization") for c in drawn} == {f"Bearer {found[name].token}"}, name
    due = datetime.now(UTC) + timedelta(days=3)  # within the 7-day lead: the next pass reminds
    stamp = due.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if bot.database_kind == "sqlite" else due
    bot.sql("UPDATE credentials SET key_expires_at = :t", t=stamp)
    for name in ("alpha", "beta", "east"):
        tenant = found[name]
        for channel in tenant.channels:
            reminded = slack.wait_for(
                "chat.postMessage",
                lambda c, ch=channel, i=ids[name]: (
                    c.params.get("channel") == ch
                    and i in c.params.get("text", "")
                    and "expires in" in c.params.get("text", "")
                ),
                timeout=20,
            )
            assert reminded.header("Authorization") == f"Bearer {tenant.token}", (name, channel)
    bot.wait_idle()
    reminders = [c for c in slack.calls_to("chat.postMessage") if "expires in" in c.params.get("text", "")]
    for name in ("alpha", "beta", "east"):  # each once, in its own channels only
        mine = [c for c in reminders if ids[name] in c.params.get("text", "")]
        assert sorted(c.params["channel"] for c in mine) == sorted(found[name].channels), name
