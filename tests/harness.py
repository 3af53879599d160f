"""Kept so that tests written against the old harness still import: everything here now lives in tests.kit."""

from tests.kit import (  # noqa: F401 - re-exported
    BOT_TOKEN, NOTIFY_CHANNELS, REPO, SIGNING_SECRET, BotProcess, InProcessBot, Workspace, cli_env, core_service,
    free_port, run_cli, seed, view_text,
)
