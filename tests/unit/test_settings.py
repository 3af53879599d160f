"""Settings: every validator and its message, NAME_FILE, placeholders, no secret in any error, where values come
from (a mapping, the environment, .env), and the files that document them (README table, .env.example)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from bot.infra.secret import Secret
from bot.infra.settings import (
    setting_names,
    SECRET_SETTINGS,
    ConfigError,
    EncryptionKey,
    Settings,
    load_settings,
    read_environment,
)

ROOT = Path(__file__).resolve().parents[2]
KEY = "primary:" + base64.b64encode(b"k" * 32).decode()
SERVE = {"SLACK_BOT_TOKEN": "xoxb-1-valid", "SLACK_SIGNING_SECRET": "signing-secret-1-0123456789abcdef"}


def problems(env: dict[str, str], purpose: str = "serve") -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(env, purpose=purpose)
    return raised.value.problems


def only_problem(env: dict[str, str], purpose: str = "serve") -> str:
    found = problems(env, purpose)
    assert len(found) == 1, found
    return found[0]


# --- values and their types


def test_defaults_have_the_types_callers_use(tmp_path):
    settings = load_settings(SERVE | {"CREDBOT_DATA_DIR": str(tmp_path / "data")})
    assert settings.slack_bot_token == Secret("xoxb-1-valid") and settings.slack_bot_token.reveal() == "xoxb-1-valid"
    assert settings.slack_app_token is None and not settings.socket_mode
    assert settings.slack_client_id is None and settings.slack_client_secret is None
    assert settings.data_dir == tmp_path / "data" and settings.data_dir.is_absolute()
    assert settings.database_is_default and settings.database_url == f"sqlite:///{tmp_path / 'data' / 'credbot.db'}"
    assert settings.encryption_keys == () and settings.notify_channels == () and settings.board_channel is None
    assert settings.admins == () and settings.viewers is None and settings.verify_keys is True
    assert (settings.reminder_interval, settings.paddle_timeout, settings.port, settings.http_threads) == (
        86_400,
        8.0,
        3000,
        16,
    )
    assert (settings.log_level, settings.log_format, settings.host, settings.metrics_port) == (
        "INFO",
        "text",
        "0.0.0.0",
        None,
    )
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.base_url("paddle"), settings.base_url("paddle_sandbox")) == (
        "https://api.paddle.com",
        "https://sandbox-api.paddle.com",
    )


def test_the_default_data_dir_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({}, purpose="db").data_dir == (tmp_path / ".credbot").resolve()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_settings({"CREDBOT_DATA_DIR": "~/cb"}, purpose="db").data_dir == tmp_path / "home" / "cb"


def test_values_are_normalised(tmp_path):
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "  xoxb-1-valid  ",
            "SLACK_APP_TOKEN": "xapp-1-A0",
            "SLACK_CLIENT_ID": "1234567890.987654321",
            "SLACK_CLIENT_SECRET": "client-secret-1",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "DATABASE_URL": "postgres://u:pw-123456@h/db",
            "CREDBOT_ENCRYPTION_KEYS": f"{KEY}, older:{'B' * 43}=",
            "CREDBOT_NOTIFY_CHANNELS": " C1AAA, C2BBB ,C1AAA,",
            "CREDBOT_BOARD_CHANNEL": "G0BOARD",
            "CREDBOT_ADMINS": "U0AAA W0BBB,S0CCC U0AAA",
            "CREDBOT_VIEWERS": "S0DDD",
            "CREDBOT_VERIFY_KEYS": "No",
            "PADDLE_API_URL": "https://paddle.test/",
            "PADDLE_SANDBOX_API_URL": "https://sandbox.test//",
            "PADDLE_TIMEOUT_SECONDS": "2.5",
            "CREDBOT_PROVIDER_CHECKS_PER_MINUTE": "20",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "JSON",
            "HOST": "127.0.0.1",
            "PORT": "8080",
            "CREDBOT_HTTP_WORKERS": "3",
            "CREDBOT_HTTP_THREADS": "4",
            "METRICS_PORT": "9100",
            "CREDBOT_REMINDER_INTERVAL_SECONDS": "60",
            "CREDBOT_DATA_DIR": str(tmp_path),
        }
    )
    assert settings.slack_bot_token.reveal() == "xoxb-1-valid" and settings.socket_mode
    assert (
        settings.slack_client_id == "1234567890.987654321"
        and settings.slack_client_secret.reveal() == "client-secret-1"
    )
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.database_url == "postgresql+psycopg://u:pw-123456@h/db" and not settings.database_is_default
    assert [key.key_id for key in settings.encryption_keys] == ["primary", "older"]
    assert all(isinstance(key, EncryptionKey) and isinstance(key.material, Secret) for key in settings.encryption_keys)
    assert settings.notify_channels == ("C1AAA", "C2BBB") and settings.board_channel == "G0BOARD"
    assert settings.admins == ("U0AAA", "W0BBB", "S0CCC") and settings.viewers == ("S0DDD",)
    assert (
        settings.verify_keys is False and settings.paddle_timeout == 2.5 and settings.provider_checks_per_minute == 20
    )
    assert (settings.base_url("paddle"), settings.base_url("paddle_sandbox")) == (
        "https://paddle.test",
        "https://sandbox.test",
    )
    assert (settings.log_level, settings.log_format, settings.host) == ("DEBUG", "json", "127.0.0.1")
    assert (settings.port, settings.http_workers, settings.http_threads, settings.metrics_port) == (8080, 3, 4, 9100)
    assert settings.reminder_interval == 60


def test_empty_values_count_as_unset():
    settings = load_settings({name: " " for name in setting_names()} | SERVE)
    assert settings.port == 3000 and settings.viewers is None and settings.database_is_default


def test_settings_are_frozen():
    settings = load_settings(SERVE)
    with pytest.raises(ValueError):
        settings.port = 1  # type: ignore[misc]  # frozen: the assignment under test is refused


def test_known_secrets_hold_every_secret_and_repr_none():
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-bot-secret",
            "SLACK_APP_TOKEN": "xapp-app-secret",
            "SLACK_SIGNING_SECRET": "signing-secret-0123456789abcdefgh",
            "SLACK_CLIENT_SECRET": "client-secret",
            "DATABASE_URL": "postgresql://credbot:db-password@h/db",
            "CREDBOT_ENCRYPTION_KEYS": KEY,
        }
    )
    secrets = {
        "xoxb-bot-secret",
        "xapp-app-secret",
        "signing-secret-0123456789abcdefgh",
        "client-secret",
        "db-password",
        base64.b64encode(b"k" * 32).decode(),
    }
    assert set(settings.known_secrets()) == secrets
    assert not any(secret in repr(settings) for secret in secrets)


def test_known_secrets_skip_what_is_unset():
    assert load_settings(SERVE).known_secrets() == ["xoxb-1-valid", "signing-secret-1-0123456789abcdef"]


# --- every validator's message


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN must start with 'xoxb-'; use the Bot User OAuth Token"),
        ({"SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN must start with 'xapp-'; use an app-level token"),
        ({"SLACK_CLIENT_ID": "abc"}, "SLACK_CLIENT_ID must look like 1234567890.1234567890; copy the Client ID"),
        (
            {"SLACK_API_URL": "slack.com/api"},
            "SLACK_API_URL must be an http(s) URL such as https://slack.com/api/, got 'slack.com/api'",
        ),
        ({"SLACK_API_URL": "http://[::1"}, "SLACK_API_URL must be an http(s) URL such as https://slack.com/api/"),
        (
            {"PADDLE_API_URL": "ftp://paddle"},
            "PADDLE_API_URL must be an http(s) URL such as https://api.paddle.com, got 'ftp://paddle'",
        ),
        (
            {"PADDLE_API_URL": "http://paddle.example"},
            "PADDLE_API_URL must use https:// (keys and tokens are sent there)",
        ),
        ({"SLACK_API_URL": "http://10.0.0.5/api/"}, "SLACK_API_URL must use https://"),
        (
            {"PADDLE_SANDBOX_API_URL": "x"},
            "PADDLE_SANDBOX_API_URL must be an http(s) URL such as https://sandbox-api.paddle.com",
        ),
        (
            {"CREDBOT_DATA_DIR": "~nobody-at-all/x"},
            "CREDBOT_DATA_DIR must be a directory path such as /var/lib/credbot",
        ),
        (
            {"DATABASE_URL": "mysql://x", "CREDBOT_ENCRYPTION_KEYS": KEY},
            "DATABASE_URL must be a SQLAlchemy URL for SQLite",
        ),
        (
            {"DATABASE_URL": "sqlite:///x.db"},
            "CREDBOT_ENCRYPTION_KEYS is not set: it is required when DATABASE_URL is set",
        ),
        ({"CREDBOT_ENCRYPTION_KEYS": "nocolon"}, "CREDBOT_ENCRYPTION_KEYS entry 1 is not of the form keyid:base64key"),
        (
            {"CREDBOT_ENCRYPTION_KEYS": "bad id:" + "A" * 44},
            "CREDBOT_ENCRYPTION_KEYS entry 1: key id must be 1-64 letters",
        ),
        (
            {"CREDBOT_ENCRYPTION_KEYS": f"{KEY},{KEY}"},
            "CREDBOT_ENCRYPTION_KEYS entry 2: key id 'primary' appears twice",
        ),
        (
            {"CREDBOT_ENCRYPTION_KEYS": "k:not*base64"},
            "CREDBOT_ENCRYPTION_KEYS entry 1 (key id 'k'): the key is not valid base64",
        ),
        ({"CREDBOT_ENCRYPTION_KEYS": "k:c2hvcnQ="}, "(key id 'k'): the key must be 32 bytes (AES-256), got 5"),
        ({"CREDBOT_ENCRYPTION_KEYS": ", ,"}, "CREDBOT_ENCRYPTION_KEYS is set but holds no key"),
        (
            {"CREDBOT_NOTIFY_CHANNELS": "C1AAA,#finance"},
            "CREDBOT_NOTIFY_CHANNELS: '#finance' is not a channel ID (like C0123ABCD;",
        ),
        ({"CREDBOT_BOARD_CHANNEL": "board"}, "CREDBOT_BOARD_CHANNEL: 'board' is not a channel ID (like C0123ABCD)"),
        (
            {"CREDBOT_REMINDER_INTERVAL_SECONDS": "0"},
            "CREDBOT_REMINDER_INTERVAL_SECONDS must be from 1 to 604800, got 0",
        ),
        (
            {"CREDBOT_ADMINS": "U0GOOD,@alice"},
            "CREDBOT_ADMINS: '@alice' is not a Slack user id (U… or W…) or user group id (S…)",
        ),
        ({"CREDBOT_VIEWERS": "#finance"}, "CREDBOT_VIEWERS: '#finance' is not a Slack user id"),
        ({"CREDBOT_VERIFY_KEYS": "maybe"}, "CREDBOT_VERIFY_KEYS must be true or false, got 'maybe'"),
        ({"PADDLE_TIMEOUT_SECONDS": "0"}, "PADDLE_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 60, got '0'"),
        (
            {"PADDLE_TIMEOUT_SECONDS": "soon"},
            "PADDLE_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 60, got 'soon'",
        ),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be text or json, got 'xml'"),
        ({"PORT": "http"}, "PORT must be a whole number from 1 to 65535, got 'http'"),
        ({"PORT": "70000"}, "PORT must be from 1 to 65535, got 70000"),
        ({"CREDBOT_HTTP_WORKERS": "65"}, "CREDBOT_HTTP_WORKERS must be from 1 to 64, got 65"),
        ({"CREDBOT_HTTP_THREADS": "0"}, "CREDBOT_HTTP_THREADS must be from 1 to 256, got 0"),
        (
            {"CREDBOT_PROVIDER_CHECKS_PER_MINUTE": "0"},
            "CREDBOT_PROVIDER_CHECKS_PER_MINUTE must be from 1 to 10000, got 0",
        ),
        ({"METRICS_PORT": "-1"}, "METRICS_PORT must be from 1 to 65535, got -1"),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else None,
)
def test_each_malformed_setting_is_one_problem_with_its_fix(env, message):
    assert message in only_problem(SERVE | env)


def test_every_problem_is_reported_at_once():
    found = problems({"PORT": "0", "DATABASE_URL": "mysql://x", "LOG_LEVEL": "chatty", "CREDBOT_ADMINS": "a b"})
    # token, signing secret, port, database URL, keys (required with a DATABASE_URL), log level, two admins
    assert len(found) == 8
    with pytest.raises(ConfigError) as raised:
        load_settings({"PORT": "0"})
    assert raised.value.render().splitlines()[0] == "Credbot cannot start; fix these settings (environment or .env):"
    assert all(line.startswith("  - ") for line in raised.value.render().splitlines()[1:])


@pytest.mark.parametrize("secret", ["q", "7f3a9c1e5b2d4f60a8c1e3b5d7f9a2c", "short secret from a file"])
def test_a_signing_secret_shorter_than_slacks_32_characters_is_refused_without_repeating_it(secret):
    found = problems({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": secret})
    assert len(found) == 1 and found[0].startswith("SLACK_SIGNING_SECRET is shorter than 32 characters")
    assert secret not in found[0] and str(len(secret)) not in found[0].replace("32", "")


def test_a_signing_secret_of_32_characters_or_more_is_taken():
    for secret in ("7f3a9c1e5b2d4f60a8c1e3b5d7f9a2c4", "x" * 64):
        assert load_settings(SERVE | {"SLACK_SIGNING_SECRET": secret}).slack_signing_secret.reveal() == secret


@pytest.mark.parametrize(
    "env, missing",
    [
        ({}, ["SLACK_BOT_TOKEN is not set", "SLACK_SIGNING_SECRET is not set"]),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, ["SLACK_SIGNING_SECRET is not set: HTTP mode needs it"]),
        ({"SLACK_APP_TOKEN": "xapp-1"}, ["SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token"]),
    ],
)
def test_serve_needs_a_bot_token_and_a_signing_secret_unless_socket_mode(env, missing):
    found = problems(env)
    assert len(found) == len(missing) and all(m in f for m, f in zip(missing, found, strict=True))


@pytest.mark.parametrize("purpose", ["db", "keys"])
def test_other_commands_need_no_slack_settings(purpose):
    assert load_settings({}, purpose=purpose).slack_bot_token is None
    assert load_settings({"SLACK_APP_TOKEN": "xapp-1"}, purpose=purpose).socket_mode


# --- placeholders


@pytest.mark.parametrize(
    "name, value",
    [
        ("SLACK_BOT_TOKEN", "xoxb-"),
        ("SLACK_BOT_TOKEN", "xoxb-..."),
        ("SLACK_BOT_TOKEN", "xoxb-…"),
        ("SLACK_BOT_TOKEN", "<your bot token>"),
        ("SLACK_APP_TOKEN", "xapp-"),
        ("SLACK_APP_TOKEN", "xapp-1-..."),
        ("SLACK_SIGNING_SECRET", "..."),
        ("SLACK_CLIENT_SECRET", "<client secret>"),
        ("SLACK_CLIENT_ID", "123..."),
        ("DATABASE_URL", "postgresql://credbot:<password>@db/credbot"),
        ("CREDBOT_ENCRYPTION_KEYS", "primary:..."),
    ],
)
def test_placeholders_are_refused_naming_the_setting(name, value):
    env = SERVE | {"CREDBOT_ENCRYPTION_KEYS": KEY} | {name: value}
    problem = only_problem(env)
    assert problem.startswith(f"{name} is still a placeholder")
    assert value in ("...", "xoxb-", "xapp-", "xoxb-…") or value not in problem  # the message itself names these


# --- NAME_FILE


@pytest.mark.parametrize(
    "name, value",
    [
        ("SLACK_BOT_TOKEN", "xoxb-from-a-file"),
        ("SLACK_SIGNING_SECRET", "signing-from-a-file-0123456789abc"),
        ("SLACK_APP_TOKEN", "xapp-from-a-file"),
        ("SLACK_CLIENT_SECRET", "client-from-a-file"),
        ("PADDLE_NOTIFICATION_SECRET", "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"),
        ("PADDLE_SANDBOX_NOTIFICATION_SECRET", "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_sandboxFromAFile0123456"),
        ("CREDBOT_ENCRYPTION_KEYS", KEY),
        ("DATABASE_URL", "postgresql+psycopg://credbot:file-pw@db/credbot"),
        ("CREDBOT_TOKEN", "cbt_" + "f" * 43),
    ],
)
def test_each_secret_can_come_from_a_file(tmp_path, name, value):
    assert set(SECRET_SETTINGS) == {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_SECRET",
        "PADDLE_NOTIFICATION_SECRET",
        "PADDLE_SANDBOX_NOTIFICATION_SECRET",
        "CREDBOT_ENCRYPTION_KEYS",
        "DATABASE_URL",
        "CREDBOT_TOKEN",
    }
    (tmp_path / "secret").write_text(value + "\n")  # one trailing newline, as `echo` and editors leave it
    env = {
        k: v
        for k, v in (SERVE | {"CREDBOT_ENCRYPTION_KEYS": KEY, "DATABASE_URL": "sqlite:///x.db"}).items()
        if k != name
    }
    if name == "CREDBOT_TOKEN":  # it goes with the read API's address
        env["CREDBOT_URL"] = "https://credbot.example.com"
    from_file = load_settings(env | {f"{name}_FILE": str(tmp_path / "secret")})
    assert from_file == load_settings(env | {name: value})


def test_a_file_with_windows_line_ending_gives_the_same_value(tmp_path):
    (tmp_path / "token").write_bytes(b"xoxb-crlf\r\n")
    settings = load_settings({"SLACK_BOT_TOKEN_FILE": str(tmp_path / "token"), "SLACK_SIGNING_SECRET": "s" * 32})
    assert settings.slack_bot_token.reveal() == "xoxb-crlf"


def test_a_value_from_a_file_is_checked_like_any_other(tmp_path):
    (tmp_path / "token").write_text("xoxp-user-token-from-file\n")
    problem = only_problem({"SLACK_BOT_TOKEN_FILE": str(tmp_path / "token"), "SLACK_SIGNING_SECRET": "s" * 32})
    assert problem.startswith("SLACK_BOT_TOKEN must start with 'xoxb-'") and "xoxp-user" not in problem


def test_name_and_name_file_both_set_is_a_problem_naming_both(tmp_path):
    (tmp_path / "token").write_text("xoxb-file")
    problem = only_problem(SERVE | {"SLACK_BOT_TOKEN_FILE": str(tmp_path / "token")})
    assert "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set; keep one" in problem
    assert "xoxb-file" not in problem and "xoxb-1-valid" not in problem


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda path: None, "No such file or directory"),
        (lambda path: path.mkdir(), "Is a directory"),
        (lambda path: path.write_bytes(b"\xff\xfe-not-text"), "not readable UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_problem_naming_the_file(tmp_path, make, reason):
    path = tmp_path / "slack-signing-secret"
    make(path)
    problem = only_problem({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET_FILE": str(path)})
    assert problem == (
        f"SLACK_SIGNING_SECRET_FILE: cannot read {path} ({reason}); point it at a readable file "
        "that holds SLACK_SIGNING_SECRET"
    )  # and not also "SLACK_SIGNING_SECRET is not set"


def test_an_empty_file_is_a_problem_naming_the_file(tmp_path):
    (tmp_path / "keys").write_text("\n")
    problem = only_problem(
        {"DATABASE_URL": "sqlite:///x.db", "CREDBOT_ENCRYPTION_KEYS_FILE": str(tmp_path / "keys")}, purpose="keys"
    )
    assert problem.startswith(
        f"CREDBOT_ENCRYPTION_KEYS_FILE: {tmp_path / 'keys'} is empty; put CREDBOT_ENCRYPTION_KEYS in it"
    )


def test_file_problems_are_reported_with_the_others(tmp_path):
    found = problems({"SLACK_BOT_TOKEN_FILE": str(tmp_path / "missing"), "PORT": "x"})
    assert len(found) == 3 and any("SLACK_BOT_TOKEN_FILE" in p for p in found)


# --- no secret in any message (pydantic's hide_input_in_errors, and our own messages)


@pytest.mark.parametrize(
    "env, secret",
    [
        ({"SLACK_BOT_TOKEN": "xoxp-secret-user-token-42"}, "secret-user-token-42"),
        ({"SLACK_APP_TOKEN": "xoxb-secret-app-token-42"}, "secret-app-token-42"),
        ({"SLACK_BOT_TOKEN": "xoxb-secret-token-.../42"}, "secret-token"),
        ({"CREDBOT_ENCRYPTION_KEYS": "k:SECRETKEYMATERIAL*42"}, "SECRETKEYMATERIAL"),
        (
            {"CREDBOT_ENCRYPTION_KEYS": "k:" + base64.b64encode(b"s" * 31).decode()},
            base64.b64encode(b"s" * 31).decode(),
        ),
        ({"CREDBOT_ENCRYPTION_KEYS": base64.b64encode(b"s" * 32).decode()}, base64.b64encode(b"s" * 32).decode()),
        ({"DATABASE_URL": "mysql://credbot:db-pass-42@db/credbot", "CREDBOT_ENCRYPTION_KEYS": KEY}, "db-pass-42"),
        ({"SLACK_API_URL": "ftp://user:url-pass-42@slack.test/"}, "url-pass-42"),
        ({"PADDLE_API_URL": "htps://user:url-pass-42@paddle.test"}, "url-pass-42"),
        ({"SLACK_CLIENT_ID": "<client id>", "SLACK_CLIENT_SECRET": "<client-secret-42>"}, "client-secret-42"),
    ],
)
def test_no_error_repeats_a_secret(env, secret):
    with pytest.raises(ConfigError) as raised:
        load_settings(SERVE | env)
    assert raised.value.problems
    assert secret not in str(raised.value) and secret not in raised.value.render()
    assert secret not in repr(raised.value) and raised.value.__cause__ is None  # no pydantic error chained behind it


def test_pydantic_hides_inputs_in_its_own_errors():
    """A value that fails pydantic's own checks (not ours) is not repeated either."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as raised:
        Settings(HOST=["xoxb-secret-in-a-list"])
    assert "string_type" in str(raised.value) and "secret-in-a-list" not in str(raised.value)


# --- where values come from


def test_an_explicit_mapping_is_all_that_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SLACK_SIGNING_SECRET=from-dotenv\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    monkeypatch.setenv("PORT", "not-a-port")
    assert len(problems({})) == 2  # neither the token nor the signing secret was seen; nor the bad PORT
    assert load_settings({"SLACK_BOT_TOKEN": "xoxb-given", "SLACK_SIGNING_SECRET": "s" * 32}).port == 3000


def test_without_a_mapping_the_environment_wins_over_dot_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "signing").write_text("signing-from-file-0123456789abcdef\n")
    (tmp_path / ".env").write_text(
        "# a comment\nSLACK_BOT_TOKEN=xoxb-from-dotenv\nexport PORT='8081'\n"
        'LOG_LEVEL="debug"\nSLACK_SIGNING_SECRET_FILE=signing\nHOST=\n'
    )
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    settings = load_settings()
    assert settings.slack_bot_token.reveal() == "xoxb-from-dotenv" and settings.port == 8081
    assert settings.log_level == "WARNING" and settings.host == "0.0.0.0"
    assert (
        settings.slack_signing_secret.reveal() == "signing-from-file-0123456789abcdef"
    )  # a relative file: from the working dir


def test_read_environment_reads_dot_env_of_the_given_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDBOT_TEST_ONLY", "from-environment")
    (tmp_path / ".env").write_text("CREDBOT_TEST_ONLY=from-dotenv\nCREDBOT_DOTENV_ONLY=yes\nNO_VALUE\n")
    values = read_environment(tmp_path)
    assert values["CREDBOT_TEST_ONLY"] == "from-environment" and values["CREDBOT_DOTENV_ONLY"] == "yes"
    assert "NO_VALUE" not in values
    assert "CREDBOT_DOTENV_ONLY" not in read_environment(tmp_path / "nowhere")


# --- the documentation of the settings


def readme_settings() -> list[str]:
    """The variables in the first column of the README's settings table."""
    section = (ROOT / "README.md").read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)]


def dot_env_example() -> dict[str, tuple[str, bool]]:
    """Each variable in .env.example: its value, and whether the line is commented out."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^(# )?([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            found[match.group(2)] = (match.group(3), bool(match.group(1)))
    return found


def test_the_readme_table_documents_every_setting():
    assert sorted(readme_settings()) == sorted(setting_names())


def test_dot_env_example_lists_every_documented_setting_with_a_comment():
    example = dot_env_example()
    assert sorted(example) == sorted(readme_settings())
    lines = (ROOT / ".env.example").read_text().splitlines()
    for name in example:
        index = next(i for i, line in enumerate(lines) if re.match(rf"^(# )?{name}=", line))
        assert lines[index - 1].startswith("# ") and "=" not in lines[index - 1].split()[1], name  # a comment above it


def test_dot_env_example_sets_nothing_but_leaves_required_ones_to_fill_in():
    example = dot_env_example()
    set_lines = {name: value for name, (value, commented) in example.items() if not commented}
    assert set_lines and all(value == "" for value in set_lines.values())  # required: shown empty
    assert "SLACK_BOT_TOKEN" in set_lines


def test_dot_env_example_copied_as_it_is_refuses_to_start_only_for_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    found = problems(read_environment())
    assert [problem.split(":")[0] for problem in found] == [
        "SLACK_BOT_TOKEN is not set",
        "SLACK_SIGNING_SECRET is not set",
    ]


def test_dot_env_example_defaults_are_the_real_defaults(tmp_path):
    """Uncommented, each optional line with a value gives the same settings as leaving it out."""
    optional = {name: value for name, (value, commented) in dot_env_example().items() if commented and value}
    assert optional, "optional settings are shown with their defaults"
    env = SERVE | {"CREDBOT_DATA_DIR": str(tmp_path)}
    uncommented = load_settings(env | {k: v for k, v in optional.items() if k != "CREDBOT_DATA_DIR"})
    assert uncommented == load_settings(env)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://api.paddle.com"]
)
def test_plain_http_is_accepted_only_for_loopback_hosts(url):
    assert load_settings(SERVE | {"PADDLE_API_URL": url}).base_url("paddle") == url


def test_retired_kms_keys_are_a_list_beside_the_configured_one():
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    settings = load_settings(
        {"CREDBOT_KMS_KEY_ID": key, "CREDBOT_KMS_RETIRED_KEY_IDS": f" alias/old , {key[::-1]},alias/old"}, purpose="db"
    )
    assert settings.kms_retired_key_ids == ("alias/old", key[::-1])
    assert load_settings({}, purpose="db").kms_retired_key_ids == ()
    assert "must be an AWS KMS key id" in only_problem(
        {"CREDBOT_KMS_KEY_ID": key, "CREDBOT_KMS_RETIRED_KEY_IDS": "alias/old,not a key"}, purpose="db"
    )
    assert "without CREDBOT_KMS_KEY_ID" in only_problem({"CREDBOT_KMS_RETIRED_KEY_IDS": "alias/old"}, purpose="db")


def test_the_same_notification_secret_for_live_and_sandbox_is_refused_without_saying_it():
    secret = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"
    env = SERVE | {"PADDLE_NOTIFICATION_SECRET": secret, "PADDLE_SANDBOX_NOTIFICATION_SECRET": secret}
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert "are the same" in str(refused.value) and secret not in str(refused.value)
    settings = load_settings(
        SERVE | {"PADDLE_NOTIFICATION_SECRET": secret, "PADDLE_NOTIFICATION_TOLERANCE_SECONDS": "9"}
    )
    assert settings.paddle_notification_secret.reveal() == secret and settings.paddle_notification_tolerance == 9
    assert settings.paddle_sandbox_notification_secret is None and secret in settings.known_secrets()
