"""Provider checks claimed in the database (bot/credentials/check_claims.py), on SQLite and PostgreSQL, on a clock
the test turns: two engines stand for two instances on one database (two real servers:
tests/e2e/test_fair_use_everywhere.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.credentials.check_claims import CheckClaims, CheckLimits, Person, Refused
from bot.credentials.models import ProviderCheck
from bot.infra.db import create_db_engine

LIMITS = CheckLimits(per_person=3, window=timedelta(seconds=60), in_flight=4, lease=timedelta(seconds=120))
ALICE, BOB = Person("", "T1", "U0ALICE"), Person("", "T1", "U0BOB")


@pytest.fixture
def instances(bot):
    """Two claim stores on the bot's database, each with an engine of its own, sharing one turned clock."""
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    engines = [create_db_engine(bot.database_url) for _ in range(2)]
    yield now, [CheckClaims(engine, LIMITS, clock=lambda: now[0]) for engine in engines]
    for engine in engines:
        engine.dispose()


def rows(bot) -> int:
    return bot.sql("SELECT count(*) FROM provider_checks")[0][0]


def test_a_persons_allowance_is_one_across_instances_and_frees_with_the_window(bot, instances):
    now, (a, b) = instances
    granted = [a.claim(ALICE, "paddle", "c1"), b.claim(ALICE, "paddle", "c2")]
    now[0] += timedelta(seconds=20)
    granted.append(a.claim(ALICE, "paddle", "c3"))
    assert all(isinstance(g, str) for g in granted), granted
    for claim_id in granted:
        a.release(claim_id)  # finished checks still count in the window
    assert b.claim(ALICE, "paddle", "c4") == Refused("allowance", 40.0)  # the first leaves the window in 40 s
    assert isinstance(b.claim(BOB, "paddle", "c4"), str)  # Bob's allowance is his own
    assert isinstance(a.claim(ALICE, "sandbox-provider", "c5"), str)  # and each provider's is apart
    now[0] += timedelta(seconds=40, microseconds=1)
    assert isinstance(b.claim(ALICE, "paddle", "c6"), str)


def test_one_check_of_a_subject_at_a_time_until_released_or_its_lease_ends(bot, instances):
    now, (a, b) = instances
    first = a.claim(ALICE, "paddle", "cred")
    assert b.claim(BOB, "paddle", "cred") == Refused("running")
    a.release(first)
    second = b.claim(BOB, "paddle", "cred")
    assert isinstance(second, str)
    now[0] += LIMITS.lease - timedelta(microseconds=1)  # never released: its process died
    assert a.claim(ALICE, "paddle", "cred") == Refused("running")
    now[0] += timedelta(microseconds=1)
    assert isinstance(a.claim(ALICE, "paddle", "cred"), str)


def test_the_checks_in_flight_for_a_provider_have_a_ceiling_across_instances(bot, instances):
    now, (a, b) = instances
    people = [Person("", "T1", f"U{i}") for i in range(LIMITS.in_flight + 1)]
    held = [(a if i % 2 else b).claim(person, "paddle", f"c{i}") for i, person in enumerate(people[:-1])]
    assert all(isinstance(h, str) for h in held)
    assert a.claim(people[-1], "paddle", "last") == Refused("in_flight")
    b.release(held[0])
    assert isinstance(a.claim(people[-1], "paddle", "last"), str)


def test_rows_are_deleted_once_older_than_the_window_and_the_lease(bot, instances):
    now, (a, b) = instances
    for i in range(3):
        a.claim(Person("", "T1", f"U{i}"), "paddle", f"c{i}")  # one released, two left running (a crash)
    a.release(bot.sql("SELECT id FROM provider_checks ORDER BY subject")[0][0])
    now[0] += max(LIMITS.window, LIMITS.lease)
    b.claim(ALICE, "paddle", "late")
    assert rows(bot) == 4  # not yet older than the horizon
    now[0] += timedelta(seconds=1)
    b.claim(BOB, "paddle", "later")
    assert rows(bot) == 2  # the three old ones are gone; the table never outgrows a few minutes of checks


def test_claims_at_the_same_moment_on_two_instances_never_exceed_the_allowance(bot, instances):
    now, stores = instances
    barrier, results = threading.Barrier(8), []

    def claim(store: CheckClaims, n: int) -> None:
        barrier.wait()
        results.append(store.claim(ALICE, "paddle", f"race{n}"))

    threads = [threading.Thread(target=claim, args=(stores[n % 2], n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(r, str) for r in results) == LIMITS.per_person, results
    with stores[0].engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(ProviderCheck)).scalar_one()
    assert stored == LIMITS.per_person
