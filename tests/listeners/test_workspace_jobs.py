"""Background work per installation in OAuth mode (issue 22): the expiry reminders and the board's upkeep run once
per installed workspace with that workspace's own bot token, to its own channels in effect; a workspace with no
usable token is skipped and said once; Slack's 429s are waited out; two instances split a pass and no reminder
goes twice. The passes are the ones the background loop and ``reminders run`` call, run here on in-process bots'
services "at" chosen times. Both databases (the ``database`` fixture)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.credentials.audit import AuditLog
from bot.credentials.types import Workspace as Scope
from bot.credentials.workspace_settings_save import save_settings
from tests.kit import InProcessBot, Workspace, core_service, created_id, seed, view_text

OAUTH = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1111111111.2222222222", "SLACK_CLIENT_SECRET": "s" * 32}
NOW = datetime(2030, 6, 1, 9, 0, tzinfo=UTC)


def install(bot, token: str, team_id: str | None, *, enterprise_id: str | None = None, **extra) -> None:
    """Store an installation as Bolt's OAuth flow does (org-wide: ``team_id`` None)."""
    from slack_sdk.oauth.installation_store import Installation

    bot.services.installations.save(
        Installation(app_id="A0001", enterprise_id=enterprise_id, team_id=team_id, user_id="U0INSTALLER",
                     bot_token=token, bot_id="BBOT", bot_user_id="U0BOT",
                     is_enterprise_install=team_id is None, **extra)
    )  # fmt: skip


def expiring(bot, workspace: Workspace, name: str, expires: datetime) -> str:
    credential = seed(core_service(bot), workspace, name)
    bot.sql("UPDATE credentials SET key_expires_at = :t WHERE id = :i", t=stamp(bot, expires), i=credential.id)
    return credential.id


def stamp(bot, moment: datetime):
    """A timestamp as each database stores it (SQLAlchemy keeps SQLite's as naive UTC text)."""
    if bot.database_kind == "sqlite":
        return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def save(bot, workspace_id: str, **changes) -> None:
    sessions = bot.services.credentials.sessions
    save_settings(sessions, AuditLog(sessions), _scope(workspace_id), changes, "U0SETTER")  # read by the next pass


def _scope(workspace_id: str) -> Scope:
    return Scope(enterprise_id=workspace_id) if workspace_id.startswith("E") else Scope(team_id=workspace_id)


def sends_about(slack, credential_id: str, accepted: list[tuple] | None = None) -> list:
    """The reminders Slack accepted for a credential (a 429 answered call is not a send); ``accepted``: the
    reminders as ``reminders_accepted`` read them once, for a test that asks about many credentials."""
    return [c for c, text in (accepted if accepted is not None else reminders_accepted(slack)) if credential_id in text]


def reminders_accepted(slack) -> list[tuple]:
    """Every reminder Slack accepted, with its text: each post's text once, not once per credential asked about
    (200 credentials times every post was 2 CPU-seconds of JSON)."""
    posts = [(c, view_text(c.params)) for c in slack.calls_to("chat.postMessage") if c.status == 200]
    return [(c, text) for c, text in posts if "reminder_replace" in text]


def boards_in(slack, channel: str) -> list:
    return [
        c
        for c in slack.calls
        if c.method in ("chat.postMessage", "chat.update") and c.params.get("channel") == channel and c.status == 200
    ]


@pytest.fixture
def oauth(start_bot):
    return start_bot(**OAUTH, CREDBOT_BOARD_CHANNEL="")


def test_each_installed_workspace_gets_its_reminders_and_board_in_its_own_channels_with_its_own_token(oauth, slack):
    from bot.slack.broadcast.board_refresh import run_board_pass
    from bot.slack.reminders import run_expiry_pass

    plain, defaults = Workspace(oauth, slack), Workspace(oauth, slack)
    org = Workspace(oauth, slack, team_id="T0ORGTEAM1", enterprise_id="E0ORG1", org_wide=True)
    tokens = {"plain": "xoxb-plain-" + "1" * 20, "defaults": "xoxb-defaults-" + "2" * 20, "org": "xoxb-org-" + "3" * 20}
    install(oauth, tokens["plain"], plain.team_id)
    install(oauth, tokens["defaults"], defaults.team_id)
    install(oauth, tokens["org"], None, enterprise_id="E0ORG1")
    save(oauth, plain.team_id, notify_channels=["C0PLAINNOTE"], board_channel="C0PLAINBOARD")
    save(oauth, "E0ORG1", notify_channels=["C0ORGNOTE"], board_channel="C0ORGBOARD")  # the org's, for its teams
    slack.channel_teams.update(C0PLAINNOTE=plain.team_id, C0PLAINBOARD=plain.team_id, C0ORGBOARD="T0ORGTEAM1")
    ids = {
        "plain": expiring(oauth, plain, "Plain soon", NOW + timedelta(days=3)),
        "defaults": expiring(oauth, defaults, "Defaults gone", NOW - timedelta(days=1)),
        "org": expiring(oauth, org, "Org soon", NOW + timedelta(days=2)),
    }
    sent = run_expiry_pass(oauth.services, NOW)
    assert sorted(sent) == sorted(
        [(ids["plain"], "expires_soon"), (ids["defaults"], "expired"), (ids["org"], "expires_soon")]
    )
    where = {
        name: [(c.params["channel"], c.header("Authorization")) for c in sends_about(slack, i)]
        for name, i in ids.items()
    }
    assert where == {
        "plain": [("C0PLAINNOTE", f"Bearer {tokens['plain']}")],
        "defaults": [("CNOTIFYA", f"Bearer {tokens['defaults']}"), ("CNOTIFYB", f"Bearer {tokens['defaults']}")],
        "org": [("C0ORGNOTE", f"Bearer {tokens['org']}")],
    }  # fmt: skip
    assert run_expiry_pass(oauth.services, NOW + timedelta(hours=1)) == []  # each sent once

    assert run_board_pass(oauth.services) == 2  # the two workspaces with a board channel in effect
    plain_board, org_board = boards_in(slack, "C0PLAINBOARD"), boards_in(slack, "C0ORGBOARD")
    assert [c.header("Authorization") for c in plain_board] == [f"Bearer {tokens['plain']}"]
    assert [c.header("Authorization") for c in org_board] == [f"Bearer {tokens['org']}"]
    assert "`Plain soon`" in view_text(plain_board[0].params) and "Org soon" not in view_text(plain_board[0].params)
    assert "`Org soon`" in view_text(org_board[0].params) and "Plain soon" not in view_text(org_board[0].params)
    assert run_board_pass(oauth.services) == 0  # up to date: nothing drawn again
    # Every call of the passes carried one of the installations' tokens; none went without one.
    assert {c.header("Authorization") for c in slack.calls} <= {f"Bearer {t}" for t in tokens.values()}


def test_a_workspace_without_a_token_is_skipped_said_once_and_served_once_installed_again(oauth, slack):
    from bot.slack.reminders import run_expiry_pass

    kept, gone = Workspace(oauth, slack), Workspace(oauth, slack)
    install(oauth, "xoxb-kept-" + "4" * 20, kept.team_id)
    install(oauth, "xoxb-gone-" + "5" * 20, gone.team_id)
    oauth.services.installations.delete_bot(enterprise_id=None, team_id=gone.team_id)  # app_uninstalled
    never = Workspace(oauth, slack)  # credentials of a workspace never installed here
    kept_id = expiring(oauth, kept, "Kept soon", NOW + timedelta(days=1))
    gone_id = expiring(oauth, gone, "Gone soon", NOW + timedelta(days=1))
    never_id = expiring(oauth, never, "Never soon", NOW + timedelta(days=1))
    assert run_expiry_pass(oauth.services, NOW) == [(kept_id, "expires_soon")]
    assert run_expiry_pass(oauth.services, NOW + timedelta(hours=1)) == []
    said = [line for line in oauth.log().splitlines() if "skipping the background work of workspace" in line]
    assert len([line for line in said if gone.team_id in line]) == 1  # once, not on every pass
    assert len([line for line in said if never.team_id in line]) == 1
    assert not sends_about(slack, gone_id) and not sends_about(slack, never_id)
    claimed = oauth.sql("SELECT credential_id FROM reminders")
    assert claimed == [(kept_id,)]  # left due, not claimed: they go out once the workspace has a token

    install(oauth, "xoxb-back-" + "6" * 20, gone.team_id)  # installed again
    assert run_expiry_pass(oauth.services, NOW + timedelta(hours=2)) == [(gone_id, "expires_soon")]
    assert [c.header("Authorization") for c in sends_about(slack, gone_id)] == ["Bearer xoxb-back-" + "6" * 20] * 2


def test_a_rotating_token_near_its_expiry_is_refreshed_before_the_pass_sends(oauth, slack):
    from bot.slack.reminders import run_expiry_pass

    team = Workspace(oauth, slack)
    soon = datetime.now(UTC) + timedelta(minutes=10)  # inside the store's refresh window
    install(oauth, "xoxe.xoxb-old-" + "7" * 20, team.team_id, bot_refresh_token="xoxe-1-old",
            bot_token_expires_at=int(soon.timestamp()))  # fmt: skip
    slack.oauth_refreshes["xoxe-1-old"] = {
        "ok": True, "app_id": "A0001", "token_type": "bot", "access_token": "xoxe.xoxb-new-" + "8" * 20,
        "refresh_token": "xoxe-1-new", "expires_in": 43200, "scope": "commands,chat:write",
        "bot_user_id": "U0BOT", "team": {"id": team.team_id, "name": "Team"}, "enterprise": None,
        "is_enterprise_install": False,
    }  # fmt: skip
    credential_id = expiring(oauth, team, "Rotated soon", NOW + timedelta(days=1))
    assert run_expiry_pass(oauth.services, NOW) == [(credential_id, "expires_soon")]
    assert [c.params.get("grant_type") for c in slack.calls_to("oauth.v2.access")] == ["refresh_token"]
    assert {c.header("Authorization") for c in sends_about(slack, credential_id)} == {
        "Bearer xoxe.xoxb-new-" + "8" * 20
    }


def test_two_hundred_workspaces_two_instances_and_429s_every_due_reminder_exactly_once(start_bot, database, slack):
    """The issue's done-when, in process: two instances' services on one database run the pass at the same time
    against a fake Slack that answers a tenth of the calls 429 with Retry-After: 1."""
    from bot.slack.reminders import run_expiry_pass

    shared = database.shared() | OAUTH | {"CREDBOT_NOTIFY_CHANNELS": ""}
    a, b = start_bot(**shared), start_bot(**shared)
    service, sessions = core_service(a), a.services.credentials.sessions
    expected = {}
    for n in range(200):
        team = Workspace(a, slack, team_id=f"T{n:09d}", user_id=f"U{n:09d}")
        install(a, f"xoxb-{n:04d}-" + "9" * 20, team.team_id)
        save_settings(
            sessions, AuditLog(sessions), Scope(team_id=team.team_id), {"notify_channels": [f"C{n:09d}"]}, "U0SET"
        )
        expected[seed(service, team, f"Due {n}").id] = (f"C{n:09d}", f"Bearer xoxb-{n:04d}-" + "9" * 20)
    a.sql("UPDATE credentials SET key_expires_at = :t", t=stamp(a, NOW + timedelta(days=2)))
    slack.rate_limit_fraction, slack.rate_limit_retry_after = 0.1, 1
    start, results = threading.Barrier(2), {}

    def run(name, bot):
        start.wait()
        results[name] = run_expiry_pass(bot.services, NOW)

    threads = [threading.Thread(target=run, args=item) for item in (("a", a), ("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(results) == {"a", "b"}
    by_a, by_b = {i for i, _ in results["a"]}, {i for i, _ in results["b"]}
    assert not by_a & by_b and by_a | by_b == set(expected)  # split between them, none twice, none left out
    assert by_a and by_b
    assert slack.rate_limited > 0  # the 429s were there, and were waited out
    accepted = reminders_accepted(slack)
    sent = {
        i: [(c.params["channel"], c.header("Authorization")) for c in sends_about(slack, i, accepted)] for i in expected
    }
    assert sent == {i: [where] for i, where in expected.items()}  # each exactly once, in its channel, its token
    outcomes = a.sql("SELECT outcome FROM reminders")
    assert len(outcomes) == 200 and all(o.endswith(":ok") for (o,) in outcomes)


def test_a_workspace_another_instance_holds_is_left_to_it_and_a_dead_holders_claim_runs_out(oauth, slack):
    from bot.credentials.job_claims import JOB_LEASE, JobClaims
    from bot.slack.reminders import run_expiry_pass

    held, free = Workspace(oauth, slack), Workspace(oauth, slack)
    install(oauth, "xoxb-held-" + "a" * 20, held.team_id)
    install(oauth, "xoxb-free-" + "b" * 20, free.team_id)
    held_id = expiring(oauth, held, "Held soon", NOW + timedelta(days=1))
    free_id = expiring(oauth, free, "Free soon", NOW + timedelta(days=1))
    other = JobClaims(oauth.services.credentials.sessions)  # another instance, in the middle of its pass
    holder = other.claim("reminders", held.team_id)
    assert holder and other.claim("reminders", held.team_id) is None  # one holder at a time
    assert run_expiry_pass(oauth.services, NOW) == [(free_id, "expires_soon")]
    assert not sends_about(slack, held_id)
    assert oauth.sql("SELECT credential_id FROM reminders") == [(free_id,)]  # left to the holder, not claimed
    other.release("reminders", held.team_id, "not-the-holder")  # only the holder lets go
    assert run_expiry_pass(oauth.services, NOW) == []
    later = JobClaims(oauth.services.credentials.sessions, clock=lambda: datetime.now(UTC) + JOB_LEASE * 2)
    assert later.claim("reminders", held.team_id)  # the holder died: its lease ran out
    other.release("reminders", held.team_id, holder)  # the dead holder's late release frees nothing
    assert run_expiry_pass(oauth.services, NOW) == []
    assert oauth.sql("SELECT holder IS NOT NULL FROM workspace_jobs WHERE scope_id = :s", s=held.team_id) == [(True,)]


def test_the_fake_slack_answers_a_share_of_calls_429_with_retry_after_as_slack_documents(slack):
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token="xoxb-fake-" + "e" * 20, base_url=slack.api_url, retry_handlers=[])
    slack.rate_limit_fraction, slack.rate_limit_retry_after = 0.25, 3
    slack.rate_limited_methods = {"chat.postMessage"}
    refused = []
    for n in range(200):
        try:
            client.chat_postMessage(channel="C0FAKE", text=str(n))
        except SlackApiError as error:
            refused.append((error.response.status_code, error.response.headers.get("Retry-After")))
    client.conversations_info(channel="C0FAKE")  # not a limited method: never refused
    assert 20 < len(refused) < 80 and set(refused) == {(429, "3")} and slack.rate_limited == len(refused)
    assert [c.status for c in slack.calls_to("conversations.info")] == [200]


def test_a_change_in_oauth_mode_draws_its_workspaces_board_with_the_installations_token(oauth, slack, live_key):
    """The board's channel owner is asked with the request's client: the process's own has no token here."""
    team = Workspace(oauth, slack)
    token = "xoxb-board-" + "f" * 20
    install(oauth, token, team.team_id)
    save(oauth, team.team_id, board_channel="C0OWNBOARD")
    slack.channel_teams["C0OWNBOARD"] = team.team_id
    created_id(team, "Drawn on its board", live_key)
    assert InProcessBot.settle_all()
    drawn = boards_in(slack, "C0OWNBOARD")
    assert drawn and "`Drawn on its board`" in view_text(drawn[-1].params)
    asked = [c for c in slack.calls_to("conversations.info") if c.params.get("channel") == "C0OWNBOARD"]
    assert asked and {c.header("Authorization") for c in asked} == {f"Bearer {token}"}


def test_the_background_loop_runs_the_pass_per_installation(start_bot, slack):
    bot = start_bot(**OAUTH, background=True, CREDBOT_REMINDER_INTERVAL_SECONDS="1", CREDBOT_BOARD_CHANNEL="")
    team = Workspace(bot, slack)
    token = "xoxb-loop-" + "0" * 20
    install(bot, token, team.team_id)
    credential_id = expiring(bot, team, "Loop soon", datetime.now(UTC) + timedelta(days=2))
    sent = slack.wait_for("chat.postMessage", lambda c: c.status == 200 and credential_id in view_text(c.params))
    assert sent.header("Authorization") == f"Bearer {token}"


def test_a_team_of_an_org_wide_install_with_its_own_board_channel_gets_its_own_board(oauth, slack):
    from bot.slack.broadcast.board_refresh import run_board_pass

    first = Workspace(oauth, slack, team_id="T0ORGFIRST", enterprise_id="E0ORG2", org_wide=True)
    second = Workspace(oauth, slack, team_id="T0ORGSECOND", enterprise_id="E0ORG2", org_wide=True)
    token = "xoxb-org2-" + "1" * 20
    install(oauth, token, None, enterprise_id="E0ORG2")
    save(oauth, "E0ORG2", board_channel="C0ORG2BOARD")
    sessions = oauth.services.credentials.sessions
    save_settings(
        sessions, AuditLog(sessions), Scope("E0ORG2", "T0ORGSECOND"), {"board_channel": "C0SECONDBOARD"}, "U0S"
    )
    slack.channel_teams.update(C0ORG2BOARD="T0ORGFIRST", C0SECONDBOARD="T0ORGSECOND")
    expiring(oauth, first, "First's own", NOW + timedelta(days=30))
    expiring(oauth, second, "Second's own", NOW + timedelta(days=30))
    assert run_board_pass(oauth.services) == 2
    org_board, second_board = boards_in(slack, "C0ORG2BOARD"), boards_in(slack, "C0SECONDBOARD")
    assert "`First's own`" in view_text(org_board[0].params) and "Second's own" not in view_text(org_board[0].params)
    assert "`Second's own`" in view_text(second_board[0].params) and "First" not in view_text(second_board[0].params)
    assert {c.header("Authorization") for c in org_board + second_board} == {f"Bearer {token}"}


def test_in_oauth_mode_a_saved_admin_group_is_looked_up_with_the_installations_token(oauth, slack):
    """User-group lookups run only inside requests; each asks with its request's installation token."""
    team = Workspace(oauth, slack, user_id="U0GROUPED")
    token = "xoxb-groups-" + "2" * 20
    install(oauth, token, team.team_id)
    save(oauth, team.team_id, admins=["S0ADMINGRP"])
    slack.usergroups["S0ADMINGRP"] = ["U0GROUPED"]
    opened = slack.count("views.open")
    team.command("/create-credential", trigger_id="t-grouped")
    assert slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == "t-grouped")
    assert slack.count("views.open") == opened + 1
    asked = slack.calls_to("usergroups.users.list")
    assert asked and {c.header("Authorization") for c in asked} == {f"Bearer {token}"}
