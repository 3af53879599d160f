"""The nearest-name logic behind "X is not a setting; did you mean Y?" (bot.infra.setting_names)."""

from __future__ import annotations

import pytest

from bot.infra.setting_names import TOOLING_NAMES, check_names, nearest
from bot.infra.settings import known_names, setting_names

KNOWN = known_names()


@pytest.mark.parametrize(
    "typo, meant",
    [
        ("CREDBOT_NOTIFY_CHANNEL", "CREDBOT_NOTIFY_CHANNELS"),
        ("CREDBOT_ADMIN", "CREDBOT_ADMINS"),
        ("DATABSE_URL", "DATABASE_URL"),
        ("SLACK_BOT_TOKN", "SLACK_BOT_TOKEN"),
        ("slack_bot_token", "SLACK_BOT_TOKEN"),
        ("SLACK_BOT_TOKEN_FIEL", "SLACK_BOT_TOKEN_FILE"),
        ("CREDBOT_VIEWER", "CREDBOT_VIEWERS"),
    ],
)
def test_a_typo_names_the_setting_it_resembles(typo, meant):
    assert nearest(typo, KNOWN) == meant


def test_a_name_like_nothing_has_no_suggestion():
    assert nearest("WEBHOOK_SECRET_PATH", KNOWN) is None


def test_every_name_in_dot_env_that_is_not_a_setting_is_a_problem_and_known_ones_pass():
    problems, warnings = check_names(["CREDBOT_ADMIN", "PATH", *setting_names(), "DATABASE_URL_FILE"], [], KNOWN)
    assert problems == [
        "CREDBOT_ADMIN (in .env) is not a setting; did you mean CREDBOT_ADMINS?",
        "PATH (in .env) is not a setting; .env.example lists every setting",
    ]
    assert warnings == []


def test_in_the_environment_only_credbot_names_are_refused_and_only_near_misses_warned():
    environment = [
        "CREDBOT_ADMIN",
        "DATABSE_URL",
        "HOSTNAME",
        "HOME",
        "PWD",
        "SLACK_TOKEN",
        "PADDLE_API_KEY",
        "LOGNAME",
        "TERM",
        "LANG",
        "PORT",
        "HOST",
        *TOOLING_NAMES,
    ]
    problems, warnings = check_names([], environment, KNOWN)
    assert problems == ["CREDBOT_ADMIN (in the environment) is not a setting; did you mean CREDBOT_ADMINS?"]
    assert warnings == ["DATABSE_URL in the environment is not a setting and is ignored; did you mean DATABASE_URL?"]


def test_the_file_variants_are_known():
    assert {"SLACK_BOT_TOKEN_FILE", "CREDBOT_ENCRYPTION_KEYS_FILE", "DATABASE_URL_FILE"} <= KNOWN
    assert {"PADDLE_NOTIFICATION_SECRET_FILE", "PADDLE_SANDBOX_NOTIFICATION_SECRET_FILE"} <= KNOWN
    assert "PADDLE_NOTIFICATION_TOLERANCE_SECONDS_FILE" not in KNOWN
    assert "PORT_FILE" not in KNOWN  # only secrets may come from a file
