"""Listener tests run Credbot's Bolt app in this process: each request is signed and handed to ``app.dispatch``
(tests.kit.InProcessBot) against the fake Slack Web API and the fake Paddle. No server, no subprocess."""

import pytest

from tests.kit import InProcessBot


@pytest.fixture(scope="session")
def bot_class():
    """Bots a test starts itself (``start_bot``, a module's own configuration) run in-process too."""
    return InProcessBot


@pytest.fixture(scope="session")
def shared_bot(database, tmp_path_factory, slack, paddle_live, paddle_sandbox):
    """The listener tests' own session bot, in-process. It must be a fixture of this folder: a session fixture
    of the root would be shared with the end-to-end tests on the same xdist worker, whichever asked first."""
    workdir = tmp_path_factory.mktemp("in-process-bot")
    bot = InProcessBot(workdir, slack, paddle_live, paddle_sandbox, **database.provision(workdir)).start()
    yield bot
    bot.stop()
    bot.close_database()
