"""Listener tests run Credbot's Bolt app in this process: each request is signed and handed to ``app.dispatch``
(tests.kit.InProcessBot) against the fake Slack Web API and the fake Paddle. No server, no subprocess."""

import pytest

from tests.kit import InProcessBot


@pytest.fixture(scope="session")
def bot_class():
    """Bots a test starts itself (``start_bot``, a module's own configuration) run in-process too."""
    return InProcessBot
