"""FairUse alone (security finding 6): this process's pool for provider checks, the places claims reserve on it, and
the answers; the limits themselves are claimed in a database (here a SQLite file; both databases and several
instances: tests/listeners/test_check_claims.py and tests/e2e/test_fair_use_everywhere.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

from bot.credentials.check_claims import CheckClaims, CheckLimits
from bot.credentials.models import Base, ProviderCheck
from bot.credentials.types import Workspace as Scope
from bot.slack.fair_use import RESERVATION_SECONDS, FairUse, already_running, busy, default_limits


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'claims.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def scope() -> Scope:
    return Scope("", "T1")


def running(engine) -> int:
    with engine.connect() as connection:
        rows = connection.execute(select(ProviderCheck.running_until)).all()
    return sum(1 for (until,) in rows if until is not None)


def test_the_pool_refuses_when_full_and_the_refusal_holds_nothing(engine):
    fair = FairUse(CheckClaims(engine, default_limits()), workers=1, queue=1)
    gate = threading.Event()
    try:
        for credential_id in ("a", "b"):
            assert fair.claim(scope(), "U1", credential_id, "paddle") is None
            assert fair.run(credential_id, gate.wait)
        assert fair.claim(scope(), "U2", "c", "paddle") == busy("paddle")  # refused before the database is asked
        assert running(engine) == 2
        assert fair.claim(scope(), "U1", "a", "paddle") == already_running("paddle")
    finally:
        gate.set()
        fair.close()
    assert running(engine) == 0  # each finished check released its claim


def test_a_place_whose_work_never_came_is_given_back_and_its_claim_released(engine):
    now = [0.0]
    fair = FairUse(CheckClaims(engine, default_limits()), workers=1, queue=0, clock=lambda: now[0])
    try:
        assert fair.claim(scope(), "U1", "a", "paddle") is None  # a listener that then failed: no run, no release
        assert fair.claim(scope(), "U2", "b", "paddle") == busy("paddle")
        now[0] = RESERVATION_SECONDS + 1
        assert fair.claim(scope(), "U2", "b", "paddle") is None
        assert running(engine) == 1  # a's claim was released with its place
        assert fair.run("b", lambda: None)
    finally:
        fair.close()


def test_run_without_a_place_says_so_and_releases_the_claim(engine):
    now = [0.0]
    fair = FairUse(CheckClaims(engine, default_limits()), workers=1, queue=0, clock=lambda: now[0])
    gate = threading.Event()
    try:
        assert fair.claim(scope(), "U1", "a", "paddle") is None
        now[0] = RESERVATION_SECONDS + 1  # a's place lapsed, and b took the pool meanwhile
        assert fair.claim(scope(), "U2", "b", "paddle") is None
        assert fair.run("b", gate.wait)
        assert not fair.run("a", lambda: None)
        assert fair.claim(scope(), "U1", "a", "paddle") == busy("paddle")  # not "already running": a was let go
    finally:
        gate.set()
        fair.close()


def test_a_database_that_does_not_answer_refuses_the_check_and_holds_no_place(tmp_path):
    broken = create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # no provider_checks table
    limits = CheckLimits(per_person=6, window=timedelta(seconds=60), in_flight=20, lease=timedelta(seconds=120))
    fair = FairUse(CheckClaims(broken, limits), workers=1, queue=0)
    try:
        assert "could not start the Paddle check" in fair.claim(scope(), "U1", "a", "paddle")
        # Neither the subject nor the pool's one place is held by the refusal: not "already running", not "busy".
        assert "could not start the Paddle check" in fair.claim(scope(), "U1", "a", "paddle")
        assert "could not start the Paddle check" in fair.claim(scope(), "U2", "b", "paddle")
    finally:
        fair.close()
        broken.dispose()
