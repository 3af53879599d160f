"""What each ack asks of the database (credbot_db_round_trips_total, counted in-process). Every ack first reads
its workspace's settings in effect (one primary-key query, kept for the rest of the ack): a change saved on any
instance governs the very next request on every instance (issue 22; docs/decisions/workspace-settings.md). Then
stage 1 one query (the name), stages 2-3 nothing more, stage 4 its Paddle check's claim (one short transaction of
two statements: fair use holds across instances), /list-credentials one (its page, the capped count riding
along); on PostgreSQL without BEGIN, ROLLBACK or a ping where a transaction is not needed; and the final stage's
work after the ack, six statements on PostgreSQL (the settings read again there, once: the announcement goes
where they say after the save)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from bot.infra import metrics
from bot.infra.db import create_db_engine


def checkouts(made: dict[str, float], statements: int) -> bool:
    """Whether ``made`` is the round trips of ``statements`` statements that each check a pooled connection out:
    SQLAlchemy's pool_pre_ping pings before each that reuses a connection (a fresh one is not pinged)."""
    return (
        made.get("statement") == statements and set(made) <= {"statement", "ping"} and made.get("ping", 0) <= statements
    )


def round_trips(request: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if sample.name == "credbot_db_round_trips_total" and sample.labels.get("request") == request:
                found[sample.labels["kind"]] = sample.value
    return found


def made_by(request: str, action) -> dict[str, float]:
    before = round_trips(request)
    action()
    after = round_trips(request)
    return {
        kind: after[kind] - before.get(kind, 0.0)
        for kind in after
        if after[kind] - before.get(kind, 0.0) and kind != "connect"
    }  # the pool may be filling still


def test_stage_acks_touch_the_database_once_at_most(workspace, database, live_key):
    view = workspace.open_wizard()
    replies = {}

    def stage(field: str, value: str) -> None:
        nonlocal view
        reply = workspace.submit(view, {field: value}).json()
        assert reply["response_action"] == "update"
        replies[field] = reply
        view = {**reply["view"], "id": view["id"]}

    name = made_by("view_submission:credential_wizard:name", lambda: stage("name", "Counted trips"))
    assert name.get("statement") == 2  # the settings in effect, then the name
    if database.kind == "postgresql":
        assert checkouts(name, 2)  # no BEGIN / ROLLBACK around them, and at most the pool's ping before each
    for field, value in (("entity_type", "bill"), ("destination", "paddle")):
        made = made_by(f"view_submission:credential_wizard:{field}", lambda: stage(field, value))  # noqa: B023 (called at once)
        assert made.get("statement") == 1, made  # the settings in effect only
        if database.kind == "postgresql":
            assert checkouts(made, 1), made
    claimed = made_by("view_submission:credential_wizard:api_key", lambda: stage("api_key", live_key))
    # The settings in effect, then the check's claim (bot/credentials/check_claims.py): the lock (with the purge),
    # then the conditional insert.
    if database.kind == "sqlite":  # the settings' read opens and ends a (local, in-process) transaction there
        assert claimed.pop("begin") == 2 and claimed.pop("rollback") == 1 and claimed.pop("commit") == 1, claimed
        assert claimed == {"statement": 3}, claimed
    else:
        assert claimed.pop("begin") == 1 and claimed.pop("commit") == 1 and checkouts(claimed, 3), claimed
    workspace.outcome(view["id"])


@pytest.mark.postgresql_only
def test_the_final_stage_saves_in_one_statement_on_postgresql(bot, workspace, database, live_key):
    """After the ack: the name checked again, the credential and its event in one statement, the settings in effect
    (where to announce, read once after the save), the Paddle check's claim released, the list for the outcome,
    whether the person's tab needs redrawing; no BEGIN or COMMIT."""
    view = workspace.open_wizard()
    for field, value in (("name", "One statement"), ("entity_type", "bill"), ("destination", "paddle")):
        view = {**workspace.submit(view, {field: value}).json()["view"], "id": view["id"]}

    def finish() -> None:
        workspace.submit(view, {"api_key": live_key})
        workspace.view_containing(view["id"], "Announced in")
        assert bot.settle()

    made = made_by(metrics.BACKGROUND, finish)
    assert checkouts(made, 6), made


def test_listing_is_one_statement_with_its_count(workspace, database):
    made = made_by("command:/list-credentials", lambda: workspace.command("/list-credentials"))
    assert made.get("statement") == 2  # the settings in effect (who may view), then the page with its count
    if database.kind == "postgresql":
        assert checkouts(made, 2), made


@pytest.fixture
def pg_url(database, tmp_path):
    if database.kind != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    url = database.provision(tmp_path)["DATABASE_URL"]
    return url


def test_a_connection_the_server_ended_is_replaced_at_checkout(pg_url):
    engine = create_db_engine(pg_url, pool_size=1)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first}).scalar()
            conn.execute(text("SELECT pg_sleep(0.01)"))
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": first}).scalar():
                conn.execute(text("SELECT pg_sleep(0.01)"))
        with engine.connect() as conn:  # the ended connection is noticed and a new one taken: no error
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()


def test_a_pooled_connection_is_pinged_before_reuse_and_the_ping_counted(pg_url):
    from bot.infra import db

    engine = create_db_engine(pg_url, pool_size=1)
    seen: list[str] = []
    db.count_round_trips(engine, seen.append)
    try:
        for _ in range(2):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert seen.count("ping") == 1  # the second checkout, of a used connection (a fresh one is not pinged)
    finally:
        engine.dispose()
