"""How each setting's value is checked, and the names and hints its problems are worded with: pydantic
validators for bot.infra.settings's fields. Nothing here reads the environment (bot.infra.settings does, alone).
"""

import ipaddress
import os
import re
from pathlib import Path
from typing import Any
from collections.abc import Callable
from urllib.parse import urlsplit

from pydantic import BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from bot.credentials import catalog
from bot.credentials.slack_ids import CHANNEL_ID_PATTERN, PRINCIPAL_PATTERN
from bot.infra.encryption_keys import EncryptionKey, parse_encryption_keys
from bot.infra.secret import Secret


CLIENT_ID_PATTERN = re.compile(r"^\d+\.\d+$")  # Slack's "Client ID": two runs of digits around a dot
PLACEHOLDER_PATTERN = re.compile(r"\.\.\.|…|<[^<>]+>")  # "xoxb-...", "xoxb-…", "<your token>"
BARE_PREFIXES = ("xoxb-", "xapp-")  # what .env.example used to ship: a token prefix with nothing after it
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# Field name -> the variable it is read from. With each destination's base-URL setting (the catalog's, read at
# each load: settings.setting_names()) this is the one list of settings; the README table and .env.example follow
# it.
ENV_NAMES: dict[str, str] = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "slack_scopes": "SLACK_SCOPES",
    "slack_redirect_uri": "SLACK_REDIRECT_URI",
    "slack_api_url": "SLACK_API_URL",
    "data_dir": "CREDBOT_DATA_DIR",
    "database_url": "DATABASE_URL",
    "database_connect_timeout": "DATABASE_CONNECT_TIMEOUT_SECONDS",
    "encryption_keys": "CREDBOT_ENCRYPTION_KEYS",
    "kms_key_id": "CREDBOT_KMS_KEY_ID",
    "kms_retired_key_ids": "CREDBOT_KMS_RETIRED_KEY_IDS",
    "notify_channels": "CREDBOT_NOTIFY_CHANNELS",
    "board_channel": "CREDBOT_BOARD_CHANNEL",
    "org_wide_channels": "CREDBOT_ORG_WIDE_CHANNELS",
    "reminder_interval": "CREDBOT_REMINDER_INTERVAL_SECONDS",
    "unused_key_days": "CREDBOT_UNUSED_KEY_DAYS",
    "admins": "CREDBOT_ADMINS",
    "viewers": "CREDBOT_VIEWERS",
    "verify_keys": "CREDBOT_VERIFY_KEYS",
    "paddle_timeout": "PADDLE_TIMEOUT_SECONDS",
    "paddle_notification_secret": "PADDLE_NOTIFICATION_SECRET",
    "paddle_sandbox_notification_secret": "PADDLE_SANDBOX_NOTIFICATION_SECRET",
    "paddle_notification_tolerance": "PADDLE_NOTIFICATION_TOLERANCE_SECONDS",
    "provider_checks_per_minute": "CREDBOT_PROVIDER_CHECKS_PER_MINUTE",
    "api_reads_per_minute": "CREDBOT_API_READS_PER_MINUTE",
    "credbot_url": "CREDBOT_URL",
    "credbot_token": "CREDBOT_TOKEN",
    "trusted_proxies": "CREDBOT_TRUSTED_PROXIES",
    "log_level": "LOG_LEVEL",
    "log_format": "LOG_FORMAT",
    "host": "HOST",
    "port": "PORT",
    "http_workers": "CREDBOT_HTTP_WORKERS",
    "http_threads": "CREDBOT_HTTP_THREADS",
    "http_read_timeout": "CREDBOT_HTTP_READ_TIMEOUT_SECONDS",
    "metrics_port": "METRICS_PORT",
    "library_shortcuts": "CREDBOT_LIBRARY_SHORTCUTS",
}

# Where each secret comes from, said in every problem about it (a problem never says the value).
SECRET_HINTS: dict[str, str] = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "copy the Signing Secret from your app's Basic Information > App Credentials",
    "SLACK_APP_TOKEN": "create an app-level token with the connections:write scope (Basic Information > App-Level "
    "Tokens), or leave it unset to run in HTTP mode",
    "SLACK_CLIENT_SECRET": "copy the Client Secret from your app's Basic Information > App Credentials",
    "PADDLE_NOTIFICATION_SECRET": "copy the secret key of the live notification destination (Paddle > Developer "
    "tools > Notifications > the destination's Edit > Secret key)",
    "PADDLE_SANDBOX_NOTIFICATION_SECRET": "copy the secret key of the sandbox notification destination (sandbox "
    "dashboard > Developer tools > Notifications > the destination's Edit > Secret key)",
    "CREDBOT_ENCRYPTION_KEYS": "create one with `python -m bot keys generate`",
    "CREDBOT_TOKEN": "issue an access token on the bot's host with `credbot tokens issue` and give it to this "
    "integration",
    "DATABASE_URL": "set a SQLAlchemy URL such as postgresql+psycopg://user@host/db, or leave it unset for "
    "the embedded SQLite database",
}
SECRET_SETTINGS = tuple(SECRET_HINTS)  # each may also be read from the file named by NAME_FILE


class ConfigError(Exception):
    """Start-up cannot go on; ``problems`` says every reason and its fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    def render(self) -> str:
        lines = ["Credbot cannot start; fix these settings (environment or .env):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def default_workers() -> int:
    """One gunicorn worker per core, at most two: Python runs one thread at a time per process, so a second
    worker is what lets a 2-core machine use both cores (the load benchmark: 31 -> 56 wizards/s). More would
    multiply database connections (each worker pools up to 2 x CREDBOT_HTTP_THREADS)."""
    return max(1, min(2, os.cpu_count() or 1))


# --- field validators: each turns the raw string into the field's type, or says what is wrong and how to fix it


def _problem(message: str) -> PydanticCustomError:
    """A problem worded for the operator; several lines are several problems. No template: values stay literal."""
    return PydanticCustomError("credbot_setting", message)


def _name(info: ValidationInfo) -> str:
    return ENV_NAMES[info.field_name or ""]


def _shown(url: str) -> str:
    """A URL as it may appear in a message: without a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":********@", 1)


def _refuse_placeholder(name: str, value: str, hint: str) -> None:
    if value in BARE_PREFIXES or PLACEHOLDER_PATTERN.search(value):
        raise _problem(
            f"{name} is still a placeholder (a bare 'xoxb-'/'xapp-', '...' or '<...>'), not a real value; {hint}"
        )


SLACK_SECRET_LENGTH = 32  # Slack's signing secrets are 32 hex characters


def secret(prefix: str | None, wrong_prefix_hint: str = "", *, shortest: int = 0) -> BeforeValidator:
    def check(value: str | None, info: ValidationInfo) -> Secret | None:
        if value is None:
            return None
        name = _name(info)
        _refuse_placeholder(name, value, SECRET_HINTS[name])
        if prefix and not value.startswith(prefix):
            raise _problem(f"{name} must start with '{prefix}'; {wrong_prefix_hint}")
        if len(value) < shortest:  # the message says neither the value nor its length
            raise _problem(
                f"{name} is shorter than {shortest} characters, so it is not Slack's (Slack's are "
                f"{shortest} hex characters); {SECRET_HINTS[name]}"
            )
        return Secret(value)

    return BeforeValidator(check)


def client_id(value: str | None, info: ValidationInfo) -> str | None:
    hint = "copy the Client ID from your app's Basic Information > App Credentials"
    if value is not None:
        _refuse_placeholder(_name(info), value, hint)
        if not CLIENT_ID_PATTERN.match(value):
            raise _problem(f"{_name(info)} must look like 1234567890.1234567890; {hint}")
    return value


def scopes(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    scopes = (
        tuple(part.strip() for part in str(value).split(",") if part.strip())
        if isinstance(value, str)
        else tuple(value)
    )
    if not scopes or any(not re.fullmatch(r"[a-z][a-z0-9_.:-]*", scope) for scope in scopes):
        raise _problem(f"{_name(info)}: give comma-separated bot scopes such as commands,chat:write")
    return scopes


def optional_url(example: str) -> BeforeValidator:
    """An http(s) URL (https unless loopback), or None when unset."""

    def check(value: str | None, info: ValidationInfo) -> str | None:
        return None if not value else _checked_url(_name(info), value, example).rstrip("/")

    return BeforeValidator(check)


def http_url(default: str) -> BeforeValidator:
    def check(value: str | None, info: ValidationInfo) -> str:
        return _checked_url(_name(info), value or default, default)

    return BeforeValidator(check)


def _checked_url(name: str, value: str, default: str) -> str:
    """``value`` if it is an http(s) URL Credbot may send keys and tokens to; else the problem, named ``name``."""
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[::1": nothing of it is worth repeating
        raise _problem(f"{name} must be an http(s) URL such as {default}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _problem(f"{name} must be an http(s) URL such as {default}, got {_shown(value)!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname or ""):
        raise _problem(
            f"{name} must use https:// (keys and tokens are sent there); plain http is "
            f"accepted only for a loopback host, got {_shown(value)!r}"
        )
    return value


def base_urls(value: Any) -> dict[str, str]:
    """Each destination's base URL (by destination value) from its catalog-named setting, or its default;
    every bad one is a problem of its own."""
    if not isinstance(value, dict):
        return value  # the field's default, already a dict
    urls: dict[str, str] = {}
    problems: list[str] = []
    for entry in catalog.DESTINATIONS:
        try:
            url = _checked_url(
                entry.base_url_setting, value.get(entry.value) or entry.default_base_url, entry.default_base_url
            )
            urls[entry.value] = url.rstrip("/")
        except PydanticCustomError as problem:
            problems.append(problem.message())
    if problems:
        raise _problem("\n".join(problems))
    return urls


def _loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: where a test's fake server runs; nothing leaves the machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def whole(low: int, high: int) -> BeforeValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, int):  # a default
            return value
        try:
            number = int(value)
        except ValueError:
            raise _problem(f"{_name(info)} must be a whole number from {low} to {high}, got {value!r}") from None
        if not low <= number <= high:
            raise _problem(f"{_name(info)} must be from {low} to {high}, got {number}")
        return number

    return BeforeValidator(check)


def seconds(value: Any, info: ValidationInfo) -> float:
    try:
        seconds = float(value)
        if not 0.1 <= seconds <= 60:
            raise ValueError
    except ValueError:
        raise _problem(f"{_name(info)} must be a number of seconds from 0.1 to 60, got {value!r}") from None
    return seconds


def choice(options: tuple[str, ...], normalise: Callable[[str], str], wording: str) -> BeforeValidator:
    def check(value: str, info: ValidationInfo) -> str:
        value = normalise(value)
        if value not in options:
            raise _problem(f"{_name(info)} must be {wording}, got {value!r}")
        return value

    return BeforeValidator(check)


def switch(value: Any, info: ValidationInfo) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _problem(f"{_name(info)} must be true or false, got {value!r}")


def data_dir(value: Any, info: ValidationInfo) -> Path:
    try:
        return Path(value).expanduser().resolve()
    except (RuntimeError, ValueError, OSError):  # "~nobody/x", a NUL byte
        raise _problem(f"{_name(info)} must be a directory path such as /var/lib/credbot, got {value!r}") from None


def database_url(value: str | None, info: ValidationInfo) -> str:
    """The embedded SQLite file in the data dir when unset; ``postgres://`` spelled the way psycopg 3 needs."""
    if value is None:
        return f"sqlite:///{info.data.get('data_dir', Path('.credbot')) / 'credbot.db'}"
    _refuse_placeholder("DATABASE_URL", value, SECRET_HINTS["DATABASE_URL"])
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme in ("postgres", "postgresql"):
        # psycopg 3 is the driver we support; spare operators the dialect+driver spelling.
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if not scheme.startswith(("sqlite", "postgresql")):
        raise _problem(
            "DATABASE_URL must be a SQLAlchemy URL for SQLite (sqlite:///path/credbot.db) "
            "or PostgreSQL (postgresql+psycopg://user@host/db)"
        )
    return value


def encryption_keys(value: Any) -> tuple[EncryptionKey, ...]:
    if not isinstance(value, str):  # the default
        return value
    _refuse_placeholder("CREDBOT_ENCRYPTION_KEYS", value, SECRET_HINTS["CREDBOT_ENCRYPTION_KEYS"])
    keys, problems = parse_encryption_keys(value)
    if problems:
        raise _problem("\n".join(problems))
    return keys


KMS_KEY_ID = re.compile(r"(alias/[A-Za-z0-9/_-]{1,250}|[0-9a-fA-F-]{36}|mrk-[0-9a-f]{32}|arn:aws[a-z-]*:kms:[^\s]+)")


def kms_key_id(value: str | None, info: ValidationInfo) -> str | None:
    """An AWS KMS key id, key ARN, alias/NAME or alias ARN; unset: the local key ring."""
    if value is None or not value.strip():
        return None
    if not KMS_KEY_ID.fullmatch(value.strip()):
        raise _problem(f"{_name(info)} must be an AWS KMS key id, key ARN or alias/NAME, got {value.strip()!r}")
    return value.strip()


def kms_key_ids(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    """KMS key ids, key ARNs or aliases, comma-separated (the retired ones, still allowed to unwrap)."""
    if not isinstance(value, str):  # the default
        return value or ()
    return tuple(dict.fromkeys(str(kms_key_id(item, info)) for item in value.split(",") if item.strip()))


def channels(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    if not isinstance(value, str):  # the default
        return value
    items = [item.strip() for item in value.split(",") if item.strip()]
    wrong = [
        f"{_name(info)}: {item!r} is not a channel ID (like C0123ABCD; copy it from the channel's details, "
        "not its #name)"
        for item in items
        if not CHANNEL_ID_PATTERN.match(item)
    ]
    if wrong:
        raise _problem("\n".join(wrong))
    return tuple(dict.fromkeys(items))


def networks(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    """Addresses or CIDRs, comma-separated (CREDBOT_TRUSTED_PROXIES)."""
    if not isinstance(value, str):  # the default
        return value
    found, wrong = [], []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            wrong.append(f"{_name(info)}: {item[:50]!r} is not an address or a CIDR (like 10.0.0.0/8)")
    if wrong:
        raise _problem("\n".join(wrong))
    return tuple(dict.fromkeys(found))


def channel(value: str | None, info: ValidationInfo) -> str | None:
    if value is not None and not CHANNEL_ID_PATTERN.match(value):
        raise _problem(f"{_name(info)}: {value!r} is not a channel ID (like C0123ABCD)")
    return value


def principals(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    """Slack user and user-group ids, comma- or space-separated."""
    if not isinstance(value, str):  # the default
        return value or ()
    items = [item for item in re.split(r"[\s,]+", value) if item]
    wrong = [
        f"{_name(info)}: {item!r} is not a Slack user id (U… or W…) or user group id (S…); copy ids from a "
        "profile's ⋮ menu (Copy member ID) or the group's page"
        for item in items
        if not PRINCIPAL_PATTERN.match(item)
    ]
    if wrong:
        raise _problem("\n".join(wrong))
    return tuple(dict.fromkeys(items))


def trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
