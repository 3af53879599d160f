"""Each workspace's settings (bot/credentials/workspace_settings*.py), on SQLite and PostgreSQL, on the in-process
bot's database: a team's saved value wins over its org's, which wins over the environment's default; every change
is audited with its old and new value; several instances saving at once lose nothing; purge removes them."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import event

from bot.credentials.audit import AuditLog
from bot.credentials.purge import purge_workspace
from bot.credentials.types import Workspace
from bot.credentials.workspace_settings import MOST_IDS, SettingDefaults, SettingsInvalid, Source, settings_in_effect
from bot.credentials.workspace_settings_save import INHERIT, SettingsChanged, save_settings
from bot.infra.db import create_db_engine, session_factory

DEFAULTS = SettingDefaults(
    notify_channels=("C0DEFAULT",), board_channel="C0BOARD", admins=("U0ADMIN",), viewers=None, reminder_days=7
)
ORG, TEAM, SISTER, LONER = "E0ORG", "T0TEAM", "T0SISTER", "T0LONER"


@pytest.fixture
def sessions(bot):
    engine = create_db_engine(bot.database_url)
    yield session_factory(engine)
    engine.dispose()


def save(sessions, workspace: Workspace, actor: str = "U0ADMIN", expected=None, **changes):
    return save_settings(sessions, AuditLog(sessions), workspace, changes, actor, expected=expected)


def changes_audited(bot) -> list[tuple[str, str, str, dict]]:
    rows = bot.sql(
        "SELECT actor, enterprise_id, team_id, detail FROM audit_events "
        "WHERE action = 'workspace_settings.changed' ORDER BY id"
    )
    return [(actor, enterprise, team, json.loads(detail)) for actor, enterprise, team, detail in rows]


def test_a_workspace_that_saved_nothing_has_the_environment_defaults(sessions):
    found = settings_in_effect(sessions, Workspace(team_id=TEAM), DEFAULTS)
    assert (found.notify_channels, found.board_channel, found.admins, found.viewers, found.reminder_days) == (
        ("C0DEFAULT",),
        "C0BOARD",
        ("U0ADMIN",),
        None,
        7,
    )
    assert set(found.sources.values()) == {Source("default")} and found.versions == {}
    assert found.reminder_lead.days == 7


def test_the_team_wins_over_its_org_which_wins_over_the_default(sessions):
    save(sessions, Workspace(enterprise_id=ORG), notify_channels=["C0ORG"], reminder_days=14, viewers=["S0ORGVIEW"])
    save(sessions, Workspace(ORG, TEAM), notify_channels=["C0TEAM", "C0TEAM2"], board_channel=None)
    team = settings_in_effect(sessions, Workspace(ORG, TEAM), DEFAULTS)
    assert team.notify_channels == ("C0TEAM", "C0TEAM2") and team.sources["notify_channels"] == Source("saved", TEAM)
    assert team.board_channel is None and team.sources["board_channel"] == Source("saved", TEAM)  # "no board" saved
    assert team.reminder_days == 14 and team.sources["reminder_days"] == Source("saved", ORG)
    assert team.viewers == ("S0ORGVIEW",) and team.sources["viewers"] == Source("saved", ORG)
    assert team.admins == ("U0ADMIN",) and team.sources["admins"] == Source("default")
    sister = settings_in_effect(sessions, Workspace(ORG, SISTER), DEFAULTS)
    assert sister.notify_channels == ("C0ORG",) and sister.board_channel == "C0BOARD"
    org = settings_in_effect(sessions, Workspace(enterprise_id=ORG), DEFAULTS)  # an org-wide install's own view
    assert org.notify_channels == ("C0ORG",) and org.versions == {
        "notify_channels": 1,
        "reminder_days": 1,
        "viewers": 1,
    }
    loner = settings_in_effect(sessions, Workspace(team_id=LONER), DEFAULTS)
    assert set(loner.sources.values()) == {Source("default")}
    save(sessions, Workspace(ORG, TEAM), notify_channels=INHERIT)  # cleared: the org's applies again
    assert settings_in_effect(sessions, Workspace(ORG, TEAM), DEFAULTS).notify_channels == ("C0ORG",)


def test_reading_a_workspaces_settings_is_one_query_on_the_primary_key(bot, sessions):
    save(sessions, Workspace(enterprise_id=ORG), reminder_days=3)
    save(sessions, Workspace(ORG, TEAM), board_channel="C0TEAMBOARD")
    statements: list[str] = []
    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql))
    found = settings_in_effect(sessions, Workspace(ORG, TEAM), DEFAULTS)
    assert (found.reminder_days, found.board_channel) == (3, "C0TEAMBOARD")
    assert len(statements) == 1 and "workspace_settings" in statements[0], statements
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            plan = " ".join(
                str(row) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statements[0], (TEAM, ORG))
            )
        assert "USING INDEX sqlite_autoindex_workspace_settings_1" in plan, plan
    else:
        definitions = bot.sql(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'workspace_settings'"
        )
        assert any("UNIQUE" in d and "(scope_id, name)" in d for (d,) in definitions), definitions


def test_each_change_is_audited_with_who_and_the_old_and_new_value(bot, sessions):
    save(sessions, Workspace(ORG, TEAM), actor="U0FIRST", board_channel="C0ONE", reminder_days=10)
    save(sessions, Workspace(ORG, TEAM), actor="U0SECOND", board_channel="C0TWO", reminder_days=10)  # days: same
    save(sessions, Workspace(ORG, TEAM), actor="U0THIRD", board_channel=INHERIT)
    assert changes_audited(bot) == [
        ("U0FIRST", ORG, TEAM, {"setting": "board_channel", "old": None, "new": "C0ONE"}),
        ("U0FIRST", ORG, TEAM, {"setting": "reminder_days", "old": None, "new": 10}),
        ("U0SECOND", ORG, TEAM, {"setting": "board_channel", "old": "C0ONE", "new": "C0TWO"}),
        ("U0THIRD", ORG, TEAM, {"setting": "board_channel", "old": "C0TWO", "new": None}),
    ]


def test_the_largest_change_fits_one_audit_event_whole(bot, sessions):
    first = [f"U{index:019d}" for index in range(MOST_IDS)]
    second = [f"S{index:019d}" for index in range(MOST_IDS)]
    save(sessions, Workspace(team_id=TEAM), notify_channels=[f"C{index:019d}" for index in range(MOST_IDS)])
    save(sessions, Workspace(team_id=TEAM), admins=first)
    save(sessions, Workspace(team_id=TEAM), admins=second)
    assert changes_audited(bot)[-1][3] == {"setting": "admins", "old": first, "new": second}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"notify_channels": ["#general"]}, "'#general' is not a channel id"),
        ({"notify_channels": "C0ONE"}, "a list of ids"),
        ({"board_channel": "U0NOTACHANNEL"}, "is not a channel id"),
        ({"admins": ["C0CHANNEL"]}, "is not a user id"),
        ({"viewers": ["U" + "1" * 30]}, "is not a user or user group id"),
        ({"admins": [f"U{index:04d}" for index in range(MOST_IDS + 1)]}, f"at most {MOST_IDS}"),
        ({"reminder_days": 0}, "from 1 to 60"),
        ({"reminder_days": 61}, "from 1 to 60"),
        ({"reminder_days": True}, "from 1 to 60"),
        ({"reminder_days": "7"}, "from 1 to 60"),
        ({"colour": "blue"}, "'colour' is not a workspace setting"),
    ],
)
def test_a_value_not_shaped_as_slacks_is_refused_and_nothing_is_saved(bot, sessions, changes, words):
    with pytest.raises(SettingsInvalid) as refused:
        save(sessions, Workspace(team_id=TEAM), **({"board_channel": "C0FINE"} | changes))
    assert words in str(refused.value), refused.value
    assert bot.sql("SELECT count(*) FROM workspace_settings")[0][0] == 0 and changes_audited(bot) == []


def test_every_problem_is_named_at_once(sessions):
    with pytest.raises(SettingsInvalid) as refused:
        save(sessions, Workspace(team_id=TEAM), notify_channels=["x", "y"], reminder_days=99)
    assert len(refused.value.problems) == 3, refused.value.problems


def test_a_save_over_settings_changed_since_they_were_read_is_refused(bot, sessions):
    read = settings_in_effect(sessions, Workspace(team_id=TEAM), DEFAULTS)
    save(sessions, Workspace(team_id=TEAM), actor="U0OTHER", reminder_days=30)  # meanwhile, on another instance
    with pytest.raises(SettingsChanged) as stale:
        save(sessions, Workspace(team_id=TEAM), expected=read.versions, reminder_days=5, board_channel="C0MINE")
    assert stale.value.names == ["reminder_days"]
    assert settings_in_effect(sessions, Workspace(team_id=TEAM), DEFAULTS).reminder_days == 30
    fresh = settings_in_effect(sessions, Workspace(team_id=TEAM), DEFAULTS)
    assert save(sessions, Workspace(team_id=TEAM), expected=fresh.versions, reminder_days=5) == {"reminder_days": 2}


def concurrently(bot, saves) -> list[BaseException]:
    """Each save on an engine of its own (an instance each), all let go at once."""
    engines = [create_db_engine(bot.database_url) for _ in saves]
    barrier, failures = threading.Barrier(len(saves)), []

    def run(engine, one) -> None:
        try:
            barrier.wait(timeout=30)
            one(session_factory(engine))
        except BaseException as error:  # the test reports it
            failures.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(engines, saves, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    return failures


def test_instances_saving_different_settings_at_once_lose_none(bot):
    saves = [
        lambda s: save(s, Workspace(team_id=TEAM), notify_channels=["C0NOTIFY"]),
        lambda s: save(s, Workspace(team_id=TEAM), board_channel="C0BOARD2"),
        lambda s: save(s, Workspace(team_id=TEAM), admins=["S0ADMINS"]),
        lambda s: save(s, Workspace(team_id=TEAM), viewers=["U0VIEWER"]),
        lambda s: save(s, Workspace(team_id=TEAM), reminder_days=21),
    ]
    assert concurrently(bot, saves) == []
    engine = create_db_engine(bot.database_url)
    found = settings_in_effect(session_factory(engine), Workspace(team_id=TEAM), DEFAULTS)
    engine.dispose()
    assert (found.notify_channels, found.board_channel, found.admins, found.viewers, found.reminder_days) == (
        ("C0NOTIFY",),
        "C0BOARD2",
        ("S0ADMINS",),
        ("U0VIEWER",),
        21,
    )


def test_instances_saving_one_setting_at_once_each_see_the_last_as_old(bot):
    """Eight saves of one setting at the same moment: each lands once, and the audit trail chains them (every
    event's old value is the one before's new value), so no save overwrote another unseen."""
    saves = [
        lambda s, days=days: save(s, Workspace(team_id=TEAM), actor=f"U0SAVER{days}", reminder_days=days)
        for days in range(10, 18)
    ]
    assert concurrently(bot, saves) == []
    chain = [detail for *_, detail in changes_audited(bot)]
    assert [link["old"] for link in chain] == [None] + [link["new"] for link in chain[:-1]]
    assert sorted(link["new"] for link in chain) == list(range(10, 18))
    assert bot.sql("SELECT value, version FROM workspace_settings") == [(str(chain[-1]["new"]), 8)]


def test_purge_removes_a_teams_settings_and_an_orgs_with_its_teams(bot, sessions):
    save(sessions, Workspace(enterprise_id=ORG), reminder_days=3)
    save(sessions, Workspace(ORG, TEAM), board_channel="C0TEAMBOARD")
    save(sessions, Workspace(ORG, SISTER), admins=["U0SISTER"])
    save(sessions, Workspace(team_id=LONER), notify_channels=["C0LONER"], board_channel=None)
    assert purge_workspace(sessions, AuditLog(sessions), SISTER, "cli:ops") == (0, 1)
    assert settings_in_effect(sessions, Workspace(ORG, SISTER), DEFAULTS).admins == ("U0ADMIN",)
    assert purge_workspace(sessions, AuditLog(sessions), ORG, "cli:ops") == (0, 2)
    assert bot.sql("SELECT scope_id, name FROM workspace_settings ORDER BY name") == [
        (LONER, "board_channel"),
        (LONER, "notify_channels"),
    ]
    details = bot.sql("SELECT detail FROM audit_events WHERE action = 'credentials_purged' ORDER BY id")
    assert details == [("0 credential(s), 1 saved setting(s)",), ("0 credential(s), 2 saved setting(s)",)]


def test_a_key_pasted_into_an_id_field_is_named_by_its_place_never_repeated(bot, sessions):
    key = "pdl_live_apikey_01gtgztp8f4kek3yd4g1wrksa3_q6TGTJyvoIz7LDtXT65bX7_AQO"  # Paddle's documented example
    with pytest.raises(SettingsInvalid) as refused:
        save(sessions, Workspace(team_id=TEAM), admins=["U0FINE", key])
    assert key not in str(refused.value) and "apikey" not in str(refused.value)
    assert "admins: item 2 is not" in str(refused.value)
