"""Every setting, parsed once into one typed object.

This is the only module that reads the environment. Problems are collected,
not raised one at a time, so an operator fixes them all in one go.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from bot.infra.secret import Secret

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PADDLE_API_URL = "https://api.paddle.com"
DEFAULT_PADDLE_SANDBOX_API_URL = "https://sandbox-api.paddle.com"

KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CHANNEL_ID_PATTERN = re.compile(r"^[CGD][A-Z0-9]{2,}$")
PRINCIPAL_PATTERN = re.compile(r"^[UWS][A-Z0-9]{2,}$")  # users (U…, W… on Enterprise Grid) and user groups (S…)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """Start-up cannot go on; ``problems`` says every reason and its fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    def render(self) -> str:
        lines = ["Credbot cannot start; fix these settings (environment or .env):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class EncryptionKey:
    key_id: str
    material: Secret  # the 32 raw bytes, base64 encoded; decoded only by the vault


@dataclass(frozen=True)
class Settings:
    slack_bot_token: Secret | None
    slack_signing_secret: Secret | None
    slack_app_token: Secret | None
    slack_api_url: str
    database_url: str
    database_is_default: bool
    data_dir: Path
    encryption_keys: tuple[EncryptionKey, ...]  # empty: use the embedded key file
    notify_channels: tuple[str, ...]
    board_channel: str | None  # one message there lists every credential, edited in place
    reminder_interval: int  # seconds between expiry checks (daily)
    admins: tuple[str, ...]  # who may create and change credentials; empty: everyone
    viewers: tuple[str, ...] | None  # who may list them; None: everyone in the workspace
    verify_keys: bool
    paddle_api_url: str
    paddle_sandbox_api_url: str
    paddle_timeout: float
    log_level: str
    log_format: str  # "text" or "json"
    host: str
    port: int
    http_workers: int
    http_threads: int
    metrics_port: int | None  # Socket Mode only: where GET /metrics is served (HTTP mode serves it on PORT)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def known_secrets(self) -> list[str]:
        """Values the log redactor must never let through."""
        values = [s.reveal() for s in (self.slack_bot_token, self.slack_signing_secret, self.slack_app_token) if s]
        values += [k.material.reveal() for k in self.encryption_keys]
        return values


def read_environment(cwd: Path | None = None) -> dict[str, str]:
    """The process environment over the values of ``.env`` in the working directory."""
    from dotenv import dotenv_values

    env_file = (cwd or Path.cwd()) / ".env"
    values: dict[str, str] = {}
    if env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def parse_encryption_keys(raw: str) -> tuple[tuple[EncryptionKey, ...], list[str]]:
    """Parse ``keyid:base64-32-bytes[,...]``; never echoes key material in a problem."""
    keys: list[EncryptionKey] = []
    problems: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not item:
            continue
        key_id, sep, material = item.partition(":")
        key_id = key_id.strip()
        where = f"CREDBOT_ENCRYPTION_KEYS entry {position}"
        if not sep:
            problems.append(f"{where} is not of the form keyid:base64key; generate one with `python -m bot keys generate`")
            continue
        if not KEY_ID_PATTERN.match(key_id):
            problems.append(f"{where}: key id must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit)")
            continue
        if key_id in seen:
            problems.append(f"{where}: key id '{key_id}' appears twice; every key needs its own id")
            continue
        try:
            decoded = base64.b64decode(material.strip().replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{where} (key id '{key_id}'): the key is not valid base64")
            continue
        if len(decoded) != 32:
            problems.append(f"{where} (key id '{key_id}'): the key must be 32 bytes (AES-256), got {len(decoded)}")
            continue
        seen.add(key_id)
        keys.append(EncryptionKey(key_id, Secret(base64.b64encode(decoded).decode())))
    if raw.strip() and not keys and not problems:
        problems.append("CREDBOT_ENCRYPTION_KEYS is set but holds no key")
    return tuple(keys), problems


def _url(env: Mapping[str, str], name: str, default: str, problems: list[str]) -> str:
    value = env.get(name, "").strip() or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{name} must be an http(s) URL such as {default}, got {value!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int, problems: list[str]) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
        return default
    if not low <= value <= high:
        problems.append(f"{name} must be from {low} to {high}, got {value}")
    return value


def _principals(env: Mapping[str, str], name: str, problems: list[str]) -> tuple[str, ...] | None:
    """A list of Slack user and user-group ids; None when the setting is empty."""
    items = [item for item in re.split(r"[\s,]+", env.get(name, "").strip()) if item]
    if not items:
        return None
    for item in items:
        if not PRINCIPAL_PATTERN.match(item):
            problems.append(f"{name}: {item!r} is not a Slack user id (U… or W…) or user group id (S…); "
                            "copy ids from a profile's ⋮ menu (Copy member ID) or the group's page")
    return tuple(dict.fromkeys(items))


def _secret(env: Mapping[str, str], name: str, prefix: str | None, problems: list[str], hint: str) -> Secret | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if prefix and not raw.startswith(prefix):
        problems.append(f"{name} must start with '{prefix}'; {hint}")
    return Secret(raw)


def default_workers() -> int:
    """One gunicorn worker per core, at most two: Python runs one thread at a time per process, so a second
    worker is what lets a 2-core machine use both cores (the load benchmark: 31 -> 56 wizards/s). More would
    multiply database connections (each worker pools up to 2 x CREDBOT_HTTP_THREADS)."""
    return max(1, min(2, os.cpu_count() or 1))


def _storage(env: Mapping[str, str], problems: list[str]) -> tuple[Path, str, bool, tuple[EncryptionKey, ...]]:
    """The data dir, the database URL (the embedded SQLite default when unset) and the encryption keys."""
    data_dir = Path(env.get("CREDBOT_DATA_DIR", "").strip() or "./.credbot").expanduser().resolve()
    database_url = env.get("DATABASE_URL", "").strip()
    database_is_default = not database_url
    if database_is_default:
        database_url = f"sqlite:///{data_dir / 'credbot.db'}"
    else:
        scheme = database_url.split("://", 1)[0] if "://" in database_url else ""
        if scheme in ("postgres", "postgresql"):
            # psycopg 3 is the driver we support; spare operators the dialect+driver spelling.
            database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
        elif not scheme.startswith(("sqlite", "postgresql")):
            problems.append("DATABASE_URL must be a SQLAlchemy URL for SQLite (sqlite:///path/credbot.db) "
                            "or PostgreSQL (postgresql+psycopg://user@host/db)")

    keys, key_problems = parse_encryption_keys(env.get("CREDBOT_ENCRYPTION_KEYS", ""))
    problems += key_problems
    if not keys and not key_problems and not database_is_default:
        problems.append("CREDBOT_ENCRYPTION_KEYS is not set: it is required when DATABASE_URL is set "
                        "(only the embedded SQLite default may keep a generated key file); "
                        "create one with `python -m bot keys generate`")
    return data_dir, database_url, database_is_default, keys


def _channels(env: Mapping[str, str], problems: list[str]) -> tuple[tuple[str, ...], str | None]:
    """Where announcements go, and the board channel."""
    channels: list[str] = []
    for raw in env.get("CREDBOT_NOTIFY_CHANNELS", "").split(","):
        channel = raw.strip()
        if not channel:
            continue
        if not CHANNEL_ID_PATTERN.match(channel):
            problems.append(f"CREDBOT_NOTIFY_CHANNELS: {channel!r} is not a channel ID (like C0123ABCD; "
                            "copy it from the channel's details, not its #name)")
        elif channel not in channels:
            channels.append(channel)

    board_channel = env.get("CREDBOT_BOARD_CHANNEL", "").strip() or None
    if board_channel and not CHANNEL_ID_PATTERN.match(board_channel):
        problems.append(f"CREDBOT_BOARD_CHANNEL: {board_channel!r} is not a channel ID (like C0123ABCD)")
    return tuple(channels), board_channel


def _operation(env: Mapping[str, str], problems: list[str]) -> tuple[bool, str, str, int | None, float]:
    """Key checks on or off, logging, the metrics port and the Paddle timeout."""
    verify_raw = env.get("CREDBOT_VERIFY_KEYS", "").strip().lower()
    verify_keys = True
    if verify_raw in _FALSE:
        verify_keys = False
    elif verify_raw and verify_raw not in _TRUE:
        problems.append(f"CREDBOT_VERIFY_KEYS must be true or false, got {verify_raw!r}")

    log_level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        problems.append(f"LOG_FORMAT must be text or json, got {log_format!r}")

    metrics_port = None
    if env.get("METRICS_PORT", "").strip():
        metrics_port = _int(env, "METRICS_PORT", 0, 1, 65535, problems)

    timeout_raw = env.get("PADDLE_TIMEOUT_SECONDS", "").strip()
    paddle_timeout = 8.0
    if timeout_raw:
        try:
            paddle_timeout = float(timeout_raw)
            if not 0.1 <= paddle_timeout <= 60:
                raise ValueError
        except ValueError:
            problems.append(f"PADDLE_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 60, got {timeout_raw!r}")
    return verify_keys, log_level, log_format, metrics_port, paddle_timeout


def _require_slack(bot_token: Secret | None, signing_secret: Secret | None, app_token: Secret | None,
                   problems: list[str]) -> None:
    """What ``serve`` needs from Slack: a bot token, and a signing secret unless it runs in Socket Mode."""
    if bot_token is None:
        problems.append("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) "
                        "from your app's OAuth & Permissions page")
    if app_token is None and signing_secret is None:
        problems.append("SLACK_SIGNING_SECRET is not set: HTTP mode needs it (Basic Information > App Credentials); "
                        "or set SLACK_APP_TOKEN to run in Socket Mode")


def load_settings(env: Mapping[str, str] | None = None, *, purpose: str = "serve") -> Settings:
    """Parse and check every setting.

    ``purpose`` is what the command needs: ``serve`` requires the Slack
    credentials; ``db`` and ``keys`` need only the database and keys.
    Raises :class:`ConfigError` naming every problem.
    """
    env = read_environment() if env is None else env
    problems: list[str] = []

    bot_token = _secret(env, "SLACK_BOT_TOKEN", "xoxb-", problems,
                        "use the Bot User OAuth Token from your app's OAuth & Permissions page")
    signing_secret = _secret(env, "SLACK_SIGNING_SECRET", None, problems, "")
    app_token = _secret(env, "SLACK_APP_TOKEN", "xapp-", problems,
                        "use an app-level token with the connections:write scope (Basic Information page)")
    if purpose == "serve":
        _require_slack(bot_token, signing_secret, app_token, problems)

    slack_api_url = _url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL, problems)
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"

    data_dir, database_url, database_is_default, keys = _storage(env, problems)

    channels, board_channel = _channels(env, problems)

    verify_keys, log_level, log_format, metrics_port, paddle_timeout = _operation(env, problems)

    settings = Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=app_token,
        slack_api_url=slack_api_url,
        database_url=database_url,
        database_is_default=database_is_default,
        data_dir=data_dir,
        encryption_keys=keys,
        notify_channels=channels,
        board_channel=board_channel,
        reminder_interval=_int(env, "CREDBOT_REMINDER_INTERVAL_SECONDS", 86_400, 1, 7 * 86_400, problems),
        admins=_principals(env, "CREDBOT_ADMINS", problems) or (),
        viewers=_principals(env, "CREDBOT_VIEWERS", problems),
        verify_keys=verify_keys,
        paddle_api_url=_url(env, "PADDLE_API_URL", DEFAULT_PADDLE_API_URL, problems).rstrip("/"),
        paddle_sandbox_api_url=_url(env, "PADDLE_SANDBOX_API_URL", DEFAULT_PADDLE_SANDBOX_API_URL, problems).rstrip("/"),
        paddle_timeout=paddle_timeout,
        log_level=log_level,
        log_format=log_format,
        host=env.get("HOST", "").strip() or "0.0.0.0",
        port=_int(env, "PORT", 3000, 1, 65535, problems),
        http_workers=_int(env, "CREDBOT_HTTP_WORKERS", default_workers(), 1, 64, problems),
        http_threads=_int(env, "CREDBOT_HTTP_THREADS", 16, 1, 256, problems),
        metrics_port=metrics_port,
    )
    if problems:
        raise ConfigError(problems)
    return settings
