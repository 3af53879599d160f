from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakePaddle, FakeSlack
from tests.harness import BotProcess, Workspace


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
    """Each test starts with fakes that behave normally (recorded calls are kept per test)."""
    slack.reset()
    for fake in (paddle_live, paddle_sandbox):
        fake.mode = "ok"
        fake.slow_seconds = 3
    yield


@pytest.fixture(scope="session")
def bot(tmp_path_factory, slack, paddle_live, paddle_sandbox):
    """One bot for the session; tests keep apart by using their own workspace (team id)."""
    process = BotProcess(tmp_path_factory.mktemp("bot"), slack, paddle_live, paddle_sandbox).start()
    yield process
    process.stop()


@pytest.fixture
def start_bot(tmp_path: Path, slack, paddle_live, paddle_sandbox):
    """Start a dedicated bot with settings of the test's own; stopped at the end."""
    started: list[BotProcess] = []

    def start(workdir: Path | None = None, **overrides: str) -> BotProcess:
        process = BotProcess(workdir or tmp_path / f"bot{len(started)}", slack, paddle_live, paddle_sandbox, **overrides)
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def workspace(bot, slack) -> Workspace:
    return Workspace(bot, slack)


@pytest.fixture
def live_key(paddle_live) -> str:
    return paddle_live.new_key("live")


@pytest.fixture
def sandbox_key(paddle_sandbox) -> str:
    return paddle_sandbox.new_key("sandbox")
