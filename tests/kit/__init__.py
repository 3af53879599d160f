"""The kit the tests and the benchmarks share: fakes of Slack and Paddle, Slack's signed requests, Credbot run in
this process (``InProcessBot``, through ``app.dispatch``) or as a server (``BotProcess``), a Slack workspace to
drive either, seeding through the core, the command line and the test databases.

Only this package is shared: bench/ imports ``tests.kit`` and nothing else under tests/.
"""

from tests.kit.bots import (
    BOT_TOKEN,
    NOTIFICATION_SECRET,
    NOTIFY_CHANNELS,
    REPO,
    SANDBOX_NOTIFICATION_SECRET,
    SIGNING_SECRET,
    BotBase,
    BotProcess,
    free_port,
)
from tests.kit.cli import cli_env, run_cli
from tests.kit.databases import TestDatabase, clean, postgres_base_url, postgres_problem, test_key
from tests.kit.fakes import DOCUMENTED_KEYS, Call, FakePaddle, FakeSlack, FakeSocketMode, make_key, make_legacy_key
from tests.kit.in_process import DispatchSender, InProcessBot
from tests.kit.processes import run_python, start_python
from tests.kit.seeding import core_service, scope, seed
from tests.kit.signing import Reply, SlackRequests, SlackSender, command_body, sign
from tests.kit.waiting import settled
from tests.kit.workspace import Workspace, created_id, view_text

__all__ = [
    "BOT_TOKEN",
    "DOCUMENTED_KEYS",
    "NOTIFY_CHANNELS",
    "REPO",
    "SIGNING_SECRET",
    "NOTIFICATION_SECRET",
    "SANDBOX_NOTIFICATION_SECRET",
    "BotBase",
    "BotProcess",
    "Call",
    "DispatchSender",
    "FakePaddle",
    "FakeSlack",
    "FakeSocketMode",
    "InProcessBot",
    "Reply",
    "SlackRequests",
    "SlackSender",
    "TestDatabase",
    "Workspace",
    "clean",
    "cli_env",
    "command_body",
    "core_service",
    "created_id",
    "free_port",
    "make_key",
    "make_legacy_key",
    "postgres_base_url",
    "postgres_problem",
    "run_cli",
    "run_python",
    "scope",
    "seed",
    "settled",
    "sign",
    "start_python",
    "test_key",
    "view_text",
]
