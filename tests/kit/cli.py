"""Credbot's command line, run the way an operator runs it: ``python -m bot …`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.kit.bots import REPO, BotBase
from tests.kit.processes import run_python

# What the CLI needs of a bot's settings to reach the same database, keys and Slack.
CLI_SETTINGS = (
    "DATABASE_URL",
    "CREDBOT_ENCRYPTION_KEYS",
    "CREDBOT_DATA_DIR",
    "SLACK_BOT_TOKEN",
    "SLACK_API_URL",
    "CREDBOT_NOTIFY_CHANNELS",
)


def run_cli(args: list[str], env: dict[str, str], cwd: Path, *, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m bot <args>`` with only ``env`` (plus PATH, PYTHONPATH and HOME); never raises on exit status."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(cwd)}
    return run_python(["-m", "bot", *args], base | env, cwd, timeout=timeout)


def cli_env(bot: BotBase) -> dict[str, str]:
    """The settings a CLI run needs to work on ``bot``'s database, keys and Slack."""
    return {k: v for k, v in bot.env.items() if k in CLI_SETTINGS}
