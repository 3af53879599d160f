"""`credbot workspaces list|show` and `credentials purge` through the real CLI in a subprocess, on SQLite and
PostgreSQL: three installed workspaces (two plain, one org-wide) and one uninstalled that kept its settings, each
with where each setting in effect comes from; a single-workspace deployment; one line for every failure."""

from __future__ import annotations

import json

import pytest

from bot.credentials.audit import AuditLog
from bot.credentials.models import SlackInstallation
from bot.credentials.types import Workspace
from bot.credentials.workspace_settings_save import save_settings
from bot.infra.db import create_db_engine, session_factory, upgrade
from tests.kit import run_cli, test_key

ORG, PLAIN, OTHER, GONE = "E0ORG", "T0PLAIN", "T0OTHER", "T0GONE"
OAUTH = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1111111111.2222222222", "SLACK_CLIENT_SECRET": "s" * 32}
DEFAULTS = {"CREDBOT_NOTIFY_CHANNELS": "C0ENV", "CREDBOT_ADMINS": "U0ENVADMIN,S0ENVGROUP"}


def default(value) -> dict:
    return {"value": value, "source": "default", "saved_on": None}


def saved(value, scope: str) -> dict:
    return {"value": value, "source": "saved", "saved_on": scope}


@pytest.fixture
def deployment(database):
    """A migrated database with installations and saved settings; the CLI's settings for it."""
    url = database.new_url("workspaces")
    upgrade(url)
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        for enterprise, team, org_wide, name, token in (
            ("", PLAIN, False, "Plain Co", b"sealed"),
            ("", OTHER, False, "Other Co", b"sealed"),
            (ORG, "", True, "Org Inc", b"sealed"),
            ("", GONE, False, "Gone Co", None),  # uninstalled: the token removed, the row's facts kept
        ):
            session.add(
                SlackInstallation(
                    enterprise_id=enterprise,
                    team_id=team,
                    is_enterprise_install=org_wide,
                    team_name=name,
                    encrypted_bot_token=token,
                )
            )
    audit = AuditLog(sessions)
    save_settings(sessions, audit, Workspace(team_id=PLAIN), {"notify_channels": ["C0PLAIN"]}, "U0PLAINADMIN")
    save_settings(sessions, audit, Workspace(enterprise_id=ORG), {"reminder_days": 30, "viewers": ["S0V"]}, "U0ORG")
    save_settings(sessions, audit, Workspace(team_id=GONE), {"board_channel": None}, "U0GONEADMIN")
    yield {"DATABASE_URL": url, "CREDBOT_ENCRYPTION_KEYS": test_key("k1")} | DEFAULTS
    engine.dispose()


def one_line(result, status: int, *words: str) -> None:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(word in result.stderr for word in words), result.stderr


def test_list_json_names_each_workspace_installed_or_not_and_where_each_setting_comes_from(deployment, tmp_path):
    listed = run_cli(["workspaces", "list", "--json"], deployment | OAUTH, tmp_path)
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["workspace_id"], r["installed"], r["org_wide"], r["name"]) for r in rows] == [
        (GONE, False, False, "Gone Co"),
        (OTHER, True, False, "Other Co"),
        (PLAIN, True, False, "Plain Co"),
        (ORG, True, True, "Org Inc"),
    ]
    by_id = {row["workspace_id"]: row for row in rows}
    assert by_id[PLAIN] == {
        "workspace_id": PLAIN,
        "enterprise_id": None,
        "team_id": PLAIN,
        "org_wide": False,
        "name": "Plain Co",
        "installed": True,
        "settings": {
            "notify_channels": saved(["C0PLAIN"], PLAIN),
            "board_channel": default(None),
            "admins": default(["U0ENVADMIN", "S0ENVGROUP"]),
            "viewers": default(None),
            "reminder_days": default(7),
        },
    }
    assert by_id[OTHER]["settings"]["notify_channels"] == default(["C0ENV"])  # saved nothing: the environment's
    assert by_id[ORG]["settings"]["reminder_days"] == saved(30, ORG)
    assert by_id[ORG]["settings"]["viewers"] == saved(["S0V"], ORG)
    assert by_id[GONE]["settings"]["board_channel"] == saved(None, GONE)  # "no board", saved


def test_list_and_show_as_text(deployment, tmp_path):
    listed = run_cli(["workspaces", "list"], deployment | OAUTH, tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split("\t") == [
        "workspace",
        "name",
        "installed",
        "notify_channels",
        "board_channel",
        "admins",
        "viewers",
        "reminder_days",
    ]
    assert lines[3].split("\t") == [
        PLAIN,
        "Plain Co",
        "yes",
        "C0PLAIN (saved on T0PLAIN)",
        "- (default)",
        "U0ENVADMIN,S0ENVGROUP (default)",
        "everyone (default)",
        "7 (default)",
    ]
    assert lines[1].startswith(f"{GONE}\tGone Co\tno (uninstalled)\t") and lines[4].startswith(f"{ORG} (org-wide)\t")
    shown = run_cli(["workspaces", "show", ORG], deployment | OAUTH, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"workspace\t{ORG} (org-wide)",
        "name\tOrg Inc",
        "installed\tyes",
        "setting\tvalue\tfrom",
        "notify_channels\tC0ENV\tdefault",
        "board_channel\t-\tdefault",
        "admins\tU0ENVADMIN,S0ENVGROUP\tdefault",
        "viewers\tS0V\tsaved on E0ORG",
        "reminder_days\t30\tsaved on E0ORG",
    ]


def test_show_json_is_the_lists_entry(deployment, tmp_path):
    listed = {
        row["workspace_id"]: row
        for row in json.loads(run_cli(["workspaces", "list", "--json"], deployment | OAUTH, tmp_path).stdout)
    }
    for workspace_id in (PLAIN, ORG, GONE):
        shown = run_cli(["workspaces", "show", workspace_id, "--json"], deployment | OAUTH, tmp_path)
        assert shown.returncode == 0 and json.loads(shown.stdout) == listed[workspace_id], shown.stderr


def test_an_unknown_or_malformed_workspace_is_one_line(deployment, tmp_path):
    one_line(run_cli(["workspaces", "show", "T0NOBODY"], deployment | OAUTH, tmp_path), 1, "no workspace T0NOBODY")
    one_line(run_cli(["workspaces", "show", "general"], deployment | OAUTH, tmp_path), 2, "is not a workspace id")
    one_line(run_cli(["workspaces", "list", "--jsn"], deployment | OAUTH, tmp_path), 2, "--jsn")


def test_a_single_workspace_deployment_lists_what_saved_settings_with_no_installation(deployment, tmp_path):
    listed = run_cli(["workspaces", "list", "--json"], deployment | {"SLACK_BOT_TOKEN": "xoxb-" + "1" * 20}, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [(r["workspace_id"], r["installed"], r["name"]) for r in json.loads(listed.stdout)] == [
        (GONE, None, ""),
        (PLAIN, None, ""),
        (ORG, None, ""),
    ]


def test_a_fresh_single_workspace_deployment_knows_no_workspace(database, tmp_path):
    url = database.new_url("noworkspaces")
    upgrade(url)
    env = {"DATABASE_URL": url, "CREDBOT_ENCRYPTION_KEYS": test_key("k1"), "SLACK_BOT_TOKEN": "xoxb-" + "2" * 20}
    listed = run_cli(["workspaces", "list", "--json"], env, tmp_path)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    text = run_cli(["workspaces", "list"], env, tmp_path)
    assert text.returncode == 0 and text.stdout == "" and "no workspace is known yet" in text.stderr


def test_purge_removes_the_workspaces_saved_settings_with_its_credentials(deployment, tmp_path):
    env = deployment | OAUTH
    purged = run_cli(["credentials", "purge", "--workspace", GONE, "--yes"], env, tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert f"deleted 0 credential(s) of {GONE} and 1 saved setting(s) (audited)" in purged.stdout
    after = {
        row["workspace_id"]: row for row in json.loads(run_cli(["workspaces", "list", "--json"], env, tmp_path).stdout)
    }
    assert after[GONE]["settings"]["board_channel"] == default(None)  # its installation row stays: listed, default
    assert after[PLAIN]["settings"]["notify_channels"] == saved(["C0PLAIN"], PLAIN)  # others untouched
    trail = json.loads(run_cli(["audit", "--json"], env, tmp_path).stdout)
    assert [e["detail"] for e in trail if e["action"] == "credentials_purged"] == [
        "0 credential(s), 1 saved setting(s)"
    ]
    changed = [json.loads(e["detail"]) for e in trail if e["action"] == "workspace_settings.changed"]
    assert {"setting": "reminder_days", "old": None, "new": 30} in changed
