"""Kept so that tests written against the old harness still import: everything here now lives in tests.kit
(tests/fakes is tests/kit/fakes, tests/databases.py is tests/kit/databases.py). New tests import tests.kit."""

from tests.kit import (  # noqa: F401 - re-exported
    BOT_TOKEN, NOTIFY_CHANNELS, REPO, SIGNING_SECRET, BotProcess, FakePaddle, FakeSlack, FakeSocketMode, InProcessBot,
    Workspace, cli_env, core_service, created_id, free_port, make_key, make_legacy_key, run_cli, seed, test_key,
    view_text,
)
