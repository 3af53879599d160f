"""Credbot's Bolt app in this process: the app the server runs, driven by ``app.dispatch(BoltRequest(...))``.

As bolt-python's own tests/scenario_tests do: each request is signed with slack-sdk's ``SignatureVerifier``
and handed to ``App.dispatch``, which checks the signature, runs the middleware and the listener, and returns
the ack. Lazy work (views.update, announcements, App Home) runs on the services' executor against the fake
Slack Web API and the fake Paddle, exactly as in the server; only gunicorn and the HTTP door in front of Bolt
(size, signature before parsing, malformed bodies: bot.slack.server.http_door.CredbotWSGI) are left out, and the
end-to-end tests cover those.
"""

from __future__ import annotations

import logging
import threading
from email.message import Message
from pathlib import Path

from slack_bolt import App, BoltRequest

from tests.kit.bots import SIGNING_SECRET, BotBase
from tests.kit.fakes import FakePaddle, FakeSlack
from tests.kit.signing import Reply, SlackRequests


class DispatchSender(SlackRequests):
    """Hands signed Slack requests to a Bolt app's ``dispatch`` (no HTTP)."""

    def __init__(self, app: App, signing_secret: str) -> None:
        super().__init__(signing_secret)
        self.app = app

    def post(
        self,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        sign: bool = True,
    ) -> Reply:
        all_headers = self.headers_for(body, content_type, headers, timestamp, sign)
        request = BoltRequest(body=body.decode("utf-8"), headers={k.lower(): v for k, v in all_headers.items()})
        response = self.app.dispatch(request)
        return Reply(response.status, (response.body or "").encode(), _message(response.headers))


def _message(headers: dict) -> Message:
    message = Message()
    for name, values in (headers or {}).items():
        for value in values if isinstance(values, (list, tuple)) else [values]:
            message[name] = value
    return message


class _Lines(logging.Handler):
    """Keeps the log lines written while a bot runs (the in-process stand-in for a server's log file)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._guard = threading.Lock()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._guard:
            self.lines.append(line)


class InProcessBot(BotBase):
    """Credbot's Bolt app as ``serve`` builds it (bot.slack.services.build_services, bot.slack.app.build_app) on
    a database of its own, in this process. Same constructor and helpers as ``BotProcess``; ``sender`` dispatches.

    ``log()`` holds what this process logged at INFO and above while the bot ran (from any bot alive at the
    time: a superset, so an assertion that something is absent is stricter, not looser). Nothing runs in the
    background unless ``background=True`` (the daily expiry check of ``serve``).
    """

    running: list[InProcessBot] = []  # so that each test can wait out the work the previous one left behind

    def __init__(
        self,
        workdir: Path,
        slack: FakeSlack,
        paddle_live: FakePaddle | None,
        paddle_sandbox: FakePaddle | None,
        *,
        background: bool = False,
        app_class: type[App] = App,
        **overrides: str,
    ) -> None:
        super().__init__(workdir, slack, paddle_live, paddle_sandbox, **overrides)
        self.background = background
        self.app_class = app_class  # Bolt's App, or a subclass that records what is registered
        self.services = None
        self.app: App | None = None
        self.sender: DispatchSender | None = None
        self._lines = _Lines()

    def start(self) -> InProcessBot:
        from bot.infra.db import upgrade
        from bot.infra.settings import load_settings
        from bot.keys.local_keys import load_key_ring
        from bot.slack.app import build_app
        from bot.slack.services import build_services

        self.workdir.mkdir(parents=True, exist_ok=True)
        root = logging.getLogger()
        root.addHandler(self._lines)
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        settings = load_settings(self.env, purpose="serve")
        upgrade(settings.database_url)
        self.services = build_services(settings, load_key_ring(settings))
        if self.background:
            self.services.start_background()
        self.app = build_app(self.services, app_class=self.app_class)
        self.sender = DispatchSender(self.app, SIGNING_SECRET)
        InProcessBot.running.append(self)
        return self

    def settle(self, timeout: float = 20.0) -> bool:
        """Wait until the work this bot runs after its answers (views.update and views.publish, announcements,
        deferred audit writes, Paddle checks) is done: what one test set in motion then never lands in the next
        one's calls. False if it was not done within ``timeout``."""
        # The listener pool counts lazy listeners, the work acks hand off and deferred audit writes (handed its
        # submit when the services were built); the fair-use pool counts Test connection and Replace; the residue
        # pool the scrubs after replaces and deletes.
        services = self.services
        if services is None:
            return True
        pools = tuple(p for p in (services.executor, services.fair_use, services.scrubbing) if p is not None)
        # Work on one pool may hand work to the other: idle means both idle in one pass.
        return all(pool.wait_idle(timeout) for pool in pools) and all(pool.wait_idle(timeout) for pool in pools)

    @classmethod
    def settle_all(cls, timeout: float = 20.0) -> bool:
        """``settle`` every running in-process bot: nothing any of them set in motion is still under way."""
        return all([bot.settle(timeout) for bot in list(cls.running)])

    def stop(self) -> int:
        """Let the work under way finish (as SIGTERM does for the server), then release the database."""
        if self in InProcessBot.running:
            InProcessBot.running.remove(self)
        if self.services is not None:
            self.services.close()
            self.services = None
        logging.getLogger().removeHandler(self._lines)
        return 0

    def log(self) -> str:
        return "\n".join(self._lines.lines)
