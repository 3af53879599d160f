"""Listener tests run Credbot's Bolt app in this process: each request is signed and handed to ``app.dispatch``
(tests.kit.InProcessBot) against the fake Slack Web API and the fake Paddle. No server, no subprocess."""

import pytest

from tests.kit import InProcessBot


@pytest.fixture(autouse=True)
def _clean_fakes(request, slack, paddle_live, paddle_sandbox):
    """As in tests/conftest.py, after the in-process bots have finished what earlier tests started (a tab redrawn
    after a test had moved on was counted by the next one)."""
    for running in list(InProcessBot.running):
        running.settle()
    slack.reset()
    for fake in (paddle_live, paddle_sandbox):
        fake.mode = "ok"
        fake.slow_seconds = 3
    yield


@pytest.fixture(scope="session")
def bot_class():
    """Bots a test starts itself (``start_bot``, a module's own configuration) run in-process too."""
    return InProcessBot


@pytest.fixture(scope="session")
def shared_bot(database, tmp_path_factory, slack, paddle_live, paddle_sandbox):
    """One in-process bot per database for the session (per xdist worker); ``bot`` empties its tables per test."""
    workdir = tmp_path_factory.mktemp("in-process-bot")
    bot = InProcessBot(workdir, slack, paddle_live, paddle_sandbox, **database.provision(workdir)).start()
    yield bot
    bot.stop()
    bot.close_database()
