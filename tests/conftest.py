from __future__ import annotations

import gc
import os
import socket
from pathlib import Path

import pytest

from tests.kit import (
    BotProcess,
    InProcessBot,
    FakePaddle,
    FakeSlack,
    TestDatabase,
    Workspace,
    clean,
    postgres_base_url,
    postgres_problem,
)
from tests.kit.processes import ForkServer, forking

_postgres_checked: dict[str, str | None] = {}


def pytest_addoption(parser):
    parser.addoption(
        "--library-shortcuts",
        choices=("on", "off"),
        default="on",
        help="the bots' CREDBOT_LIBRARY_SHORTCUTS: on (the default) or off (.ci/run runs tests/listeners both ways)",
    )


def pytest_configure(config):
    from tests.kit import bots

    bots.LIBRARY_SHORTCUTS = "true" if config.getoption("library_shortcuts") == "on" else "false"
    config.addinivalue_line(
        "markers", "postgresql_only: the test means nothing on SQLite; only its PostgreSQL run is kept"
    )
    config.addinivalue_line(
        "markers", "one_database: the test does not depend on the database; only its SQLite run is kept"
    )
    if forking() and _starts_xdist_workers(config):
        ForkServer.share_with_workers()


def _starts_xdist_workers(config) -> bool:
    """Whether this is pytest-xdist's controller about to start workers (as xdist itself decides it)."""
    return (
        not hasattr(config, "workerinput")
        and not config.getoption("collectonly")
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
    )


def pytest_collection_modifyitems(config, items):
    """Drop the SQLite run of tests marked postgresql_only and the PostgreSQL run of those marked one_database
    (rather than reporting a skip on every run), and every PostgreSQL run when PostgreSQL cannot be reached outside
    CI (the terminal summary says so once)."""
    uses_postgres = any(_database_param(item) == "postgresql" for item in items)
    no_postgres = uses_postgres and _postgres_skip_reason() is not None
    kept = [
        item
        for item in items
        if not (item.get_closest_marker("postgresql_only") and _database_param(item) == "sqlite")
        and not (item.get_closest_marker("one_database") and _database_param(item) == "postgresql")
        and not (no_postgres and _database_param(item) == "postgresql")
    ]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def pytest_collection_finish(session):
    """What collection loaded (the modules of bot/, its libraries, the tests, their items) lives until the end:
    frozen, the garbage collector stops walking it on every full collection (a worker ran a dozen, 0.2 s each, and
    pytest runs two more at its end)."""
    gc.freeze()


def pytest_terminal_summary(terminalreporter):
    """The PostgreSQL note, once per run (not once per test); only when some test would have used it."""
    reports = (
        report for kind in ("passed", "failed", "skipped", "error") for report in terminalreporter.stats.get(kind, [])
    )
    ran_on_sqlite = any("sqlite" in getattr(report, "nodeid", "") for report in reports)  # workers collected, not us
    if ran_on_sqlite and _postgres_skip_reason():
        terminalreporter.write_line(f"PostgreSQL runs not collected: {_postgres_skip_reason()}", yellow=True)


def _database_param(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("database") if callspec else None


def _postgres_skip_reason() -> str | None:
    """Why the PostgreSQL runs are left out here (checked once per process), or None. In CI they are never left
    out: the database fixture fails them instead."""
    url = postgres_base_url()
    if url not in _postgres_checked:
        _postgres_checked[url] = postgres_problem(url)
    problem = _postgres_checked[url]
    if not problem or os.environ.get("CI") == "true":
        return None
    return (
        f"PostgreSQL at {url.split('@')[-1]} is not reachable ({problem}). Start it, or point "
        "TEST_DATABASE_URL at one (trust auth, an empty database) to run the PostgreSQL tests."
    )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """Each database-touching test runs once per kind of database."""
    if request.param == "postgresql":
        url = postgres_base_url()
        if url not in _postgres_checked:
            _postgres_checked[url] = postgres_problem(url)
        problem = _postgres_checked[url]
        if problem:
            message = (
                f"PostgreSQL at {url.split('@')[-1]} is not reachable ({problem}). Start it, or point "
                "TEST_DATABASE_URL at one (trust auth, an empty database) to run the PostgreSQL tests."
            )
            if os.environ.get("CI") == "true":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
    db = TestDatabase(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    db.drop_all()


@pytest.fixture(scope="session")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="session")
def paddle_live():
    with FakePaddle() as fake:
        yield fake


@pytest.fixture(scope="session")
def paddle_sandbox():
    with FakePaddle() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _clean_fakes(request, slack, paddle_live, paddle_sandbox):
    """Each test starts with fakes that behave normally (recorded calls are kept per test), after in-process bots
    have finished what earlier tests started (a tab redrawn after a test had moved on was counted by the next)."""
    for running in list(InProcessBot.running):
        running.settle()
    slack.reset()
    for fake in (paddle_live, paddle_sandbox):
        fake.mode = "ok"
        fake.slow_seconds = 3
        fake.reset_key_record()  # status, expiry, last use, not rotatable (a test that rotates says so)
        fake.rotation_answer = {}
    yield


@pytest.fixture(scope="session")
def bot_class():
    """What runs the bots of a test: a server in a subprocess here; tests/listeners/conftest.py runs them in-process."""
    return BotProcess


@pytest.fixture(scope="session")
def shared_bot(database, tmp_path_factory, slack, paddle_live, paddle_sandbox):
    """One bot per database for the session (per xdist worker); ``bot`` empties its tables per test."""
    workdir = tmp_path_factory.mktemp("bot")
    process = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **database.provision(workdir)).start()
    yield process
    process.stop()
    process.close_database()


@pytest.fixture
def bot(shared_bot):
    """One bot per database for the session, its tables emptied before each test."""
    clean(shared_bot)
    return shared_bot


@pytest.fixture
def start_bot(bot_class, database, tmp_path: Path, slack, paddle_live, paddle_sandbox):
    """Start a dedicated bot, on a fresh database of the current kind, with settings of the test's own."""
    started: list = []

    def start(workdir: Path | None = None, **overrides: str):
        workdir = workdir or tmp_path / f"bot{len(started)}"
        settings = database.provision(workdir) | overrides
        process = bot_class(workdir, slack, paddle_live, paddle_sandbox, **settings)
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()
        process.close_database()


@pytest.fixture
def closed_port():
    """A loopback port nothing answers on, for as long as the test runs: bound but never listening, so a connection
    is refused and no other test's server can take the port meanwhile (a port merely found free once could be)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def workspace(bot, slack) -> Workspace:
    return Workspace(bot, slack)


@pytest.fixture
def live_key(paddle_live) -> str:
    return paddle_live.new_key("live")


@pytest.fixture
def sandbox_key(paddle_sandbox) -> str:
    return paddle_sandbox.new_key("sandbox")
