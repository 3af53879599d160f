"""Database round trips are counted per kind of exchange and per Slack request kind (credbot_db_round_trips)."""

from sqlalchemy import text

from bot.infra import metrics
from bot.infra.db import count_round_trips, create_db_engine, session_factory


def counted(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'rt.db'}")
    seen: list[str] = []
    count_round_trips(engine, seen.append)
    return engine, seen


def test_a_read_session_counts_its_begin_statements_and_rollback(tmp_path):
    engine, seen = counted(tmp_path)
    with session_factory(engine)() as session:
        session.execute(text("SELECT 1"))
        session.execute(text("SELECT 2"))
    assert seen == ["connect", "begin", "statement", "statement", "rollback"]
    engine.dispose()


def test_a_write_counts_its_commit(tmp_path):
    engine, seen = counted(tmp_path)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    assert seen[-3:] == ["begin", "statement", "commit"]
    engine.dispose()


def value(kind: str, request: str) -> float:
    return metrics.REGISTRY.get_sample_value("credbot_db_round_trips_total", {"kind": kind, "request": request}) or 0.0


def test_round_trips_are_labelled_with_the_request_being_answered_or_background():
    before = value("statement", "command:/list-credentials"), value("statement", metrics.BACKGROUND)
    metrics.begin_request()
    metrics.name_request({"command": "/list-credentials"})
    metrics.db_round_trip("statement")
    metrics.end_request()
    metrics.db_round_trip("statement")
    assert value("statement", "command:/list-credentials") == before[0] + 1
    assert value("statement", metrics.BACKGROUND) == before[1] + 1


def test_reads_in_autocommit_count_no_begin_or_rollback(tmp_path):
    engine, seen = counted(tmp_path)
    reads = session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
    with reads() as session:
        session.execute(text("SELECT 1"))
    assert [kind for kind in seen if kind != "connect"] == ["statement"]
    engine.dispose()
