"""Credbot as the tests and the benchmarks run it: the settings every test bot shares, and a bot in a subprocess.

``BotBase`` holds what a bot is whatever runs it (its settings, its workdir, its database); ``BotProcess`` runs
``python -m bot serve`` (gunicorn, or Socket Mode) in a subprocess; ``tests.kit.in_process.InProcessBot`` builds
the same Bolt app in this process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.kit.databases import database_url_of
from tests.kit.fakes import FakePaddle, FakeSlack, FakeSocketMode
from tests.kit.metrics import scrape, total
from tests.kit.processes import dump_stacks, start_python
from tests.kit.signing import SlackRequests, SlackSender
from tests.kit.waiting import settled

BOT_TOKEN = "xoxb-test-0000000000-abcdefghijklmnop"
SIGNING_SECRET = "7f3a9c1e5b2d4f60a8c1e3b5d7f9a2c4"  # shaped like Slack's: 32 hex characters
NOTIFY_CHANNELS = ("CNOTIFYA", "CNOTIFYB")
# The secret keys of the bot's Paddle notification destinations, shaped as Paddle's (pdl_ntfset_…).
NOTIFICATION_SECRET = "pdl_ntfset_01jfk0c8vx2m7gq3rz5n9yb4ta_live0Tx2Kq9Lw3Np8Rv5Sz1Yb6Hc4Jd7"
SANDBOX_NOTIFICATION_SECRET = "pdl_ntfset_01jfk0d2pq6w8ha4ks7m3xc5vb_sdbx4Fn8Gm2Ht6Jv9Kw3Lx7Py1Qz5"
REPO = Path(__file__).resolve().parents[2]
LIBRARY_SHORTCUTS = "true"  # every bot's CREDBOT_LIBRARY_SHORTCUTS: pytest's --library-shortcuts sets it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BotBase:
    """A bot's settings (as environment variables), its working directory and its database."""

    sender: SlackRequests

    def __init__(
        self,
        workdir: Path,
        slack: FakeSlack,
        paddle_live: FakePaddle | None,
        paddle_sandbox: FakePaddle | None,
        **overrides: str,
    ) -> None:
        self.workdir = workdir
        self.slack = slack
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            **({"PADDLE_API_URL": paddle_live.url} if paddle_live else {}),
            **({"PADDLE_SANDBOX_API_URL": paddle_sandbox.url} if paddle_sandbox else {}),
            "PADDLE_TIMEOUT_SECONDS": "1.5",
            "PADDLE_NOTIFICATION_SECRET": NOTIFICATION_SECRET,
            "PADDLE_SANDBOX_NOTIFICATION_SECRET": SANDBOX_NOTIFICATION_SECRET,
            "CREDBOT_DATA_DIR": str(workdir / "data"),
            "CREDBOT_NOTIFY_CHANNELS": ",".join(NOTIFY_CHANNELS),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            "CREDBOT_HTTP_WORKERS": "1",  # one process per test bot keeps the suite light
            "CREDBOT_HTTP_THREADS": "8",
            "PYTHONPATH": str(REPO),
            "CREDBOT_LIBRARY_SHORTCUTS": LIBRARY_SHORTCUTS,
        }
        self.env.update(overrides)
        self._engine = None
        self._closers: list = []

    @property
    def database_url(self) -> str:
        return database_url_of(self.env)

    @property
    def database_kind(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    @property
    def engine(self):
        """The tests' own engine on the bot's database (not the bot's), made on first use."""
        from sqlalchemy import create_engine

        if self._engine is None:
            self._engine = create_engine(self.database_url, pool_pre_ping=True)  # a test may cut connections
        return self._engine

    def sql(self, statement: str, **params: Any) -> list[tuple]:
        """Run one statement on the bot's database (SQLite or PostgreSQL); rows as tuples."""
        from sqlalchemy import text

        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []

    def on_close_database(self, closer) -> None:
        """Call ``closer`` when the test is done with this bot's database (helpers that keep an engine)."""
        self._closers.append(closer)

    def close_database(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        while self._closers:
            self._closers.pop()()
        self.__dict__.pop("_core_cache", None)


class BotProcess(BotBase):
    """``python -m bot serve`` in a subprocess, its log captured to a file."""

    command: tuple[str, ...] = ("-m", "bot", "serve")

    def __init__(
        self,
        workdir: Path,
        slack: FakeSlack,
        paddle_live: FakePaddle | None,
        paddle_sandbox: FakePaddle | None,
        **overrides: str,
    ) -> None:
        super().__init__(workdir, slack, paddle_live, paddle_sandbox, **overrides)
        self.log_path = workdir / f"bot-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.sender = SlackSender(self.url, SIGNING_SECRET)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> BotProcess:
        """Start the process, its output going to the log, without waiting for anything."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = start_python(list(self.command), self.env, self.workdir, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def start(self, timeout: float = 30.0) -> BotProcess:
        """Start the process and wait until it serves /healthz (in Socket Mode, only start it)."""
        self.launch()
        if self.env.get("SLACK_APP_TOKEN"):
            return self  # Socket Mode serves no HTTP; the caller waits for the websocket instead
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bot exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"bot did not become healthy:\n{self.log()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            stuck = dump_stacks(self.process.pid)
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"serve did not stop within {timeout:.0f} s of SIGTERM; processes {stuck} were still running "
                f"(their stacks, at the end of the log):\n{self.log()[-20000:]}"
            ) from None

    def wait_idle(self, timeout: float = 20.0) -> None:
        """Wait until the work the bot's answers handed off (announcements, Home and board refreshes, Paddle
        checks, audit writes) has finished in every worker: ``credbot_work_in_progress`` back at 0. The count rises
        before an answer is written, so whatever a test's requests set in motion is counted by the time it asks."""
        samples = settled(
            lambda: scrape(self.url + "/metrics"), lambda s: total(s, "credbot_work_in_progress") == 0, timeout=timeout
        )
        assert total(samples, "credbot_work_in_progress") == 0, "the bot's work after its answers never finished"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def serve_outcome(bot: BotProcess, timeout: float = 40.0) -> int | None:
    """Start serve: None when it served (/healthz answered), else its exit status (it refused to start)."""
    try:
        bot.start(timeout=timeout)
    except RuntimeError:
        return bot.process.returncode if bot.process is not None else None
    return None


@contextmanager
def socket_mode_bot(
    workdir: Path, slack: FakeSlack, paddle_live: FakePaddle, paddle_sandbox: FakePaddle, **settings: str
) -> Iterator[tuple[BotProcess, FakeSocketMode]]:
    """``serve`` in Socket Mode against a loopback Slack socket, connected to it (Socket Mode needs no signing
    secret); stopped when the block ends, its exit status 0 asserted. What it serves on PORT comes up a moment
    after the socket does: wait for it."""
    with FakeSocketMode() as socket_mode:
        slack.socket_url = socket_mode.url
        bot = BotProcess(
            workdir, slack, paddle_live, paddle_sandbox, SLACK_APP_TOKEN="xapp-1-A0001-test-token", **settings
        )
        bot.env.pop("SLACK_SIGNING_SECRET")
        bot.start()
        try:
            socket_mode.wait_connected(timeout=20)
            yield bot, socket_mode
        finally:
            assert bot.stop() == 0, bot.log()
