"""Every setting, parsed once into one typed object (pydantic-settings).

This is the only module that reads the environment. :func:`load_settings` gathers the raw values (the process
environment over ``.env``, or a mapping it is given), reads ``NAME_FILE`` for each secret, and validates them
all at once: pydantic collects every field's problem, the checks that span settings add theirs, and the
operator gets one :class:`ConfigError` that lists them all. No message repeats a secret's value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, SettingsConfigDict

from bot.infra.secret import Secret
from bot.infra.setting_names import check_names

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# The manifest's bot scopes (a test keeps them equal): what an OAuth install asks for unless SLACK_SCOPES says.
DEFAULT_SLACK_SCOPES = ("commands", "chat:write", "usergroups:read", "channels:read", "groups:read", "users:read")
DEFAULT_PADDLE_API_URL = "https://api.paddle.com"
DEFAULT_PADDLE_SANDBOX_API_URL = "https://sandbox-api.paddle.com"

KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CHANNEL_ID_PATTERN = re.compile(r"^[CGD][A-Z0-9]{2,}$")
PRINCIPAL_PATTERN = re.compile(r"^[UWS][A-Z0-9]{2,}$")  # users (U…, W… on Enterprise Grid) and user groups (S…)
CLIENT_ID_PATTERN = re.compile(r"^\d+\.\d+$")  # Slack's "Client ID": two runs of digits around a dot
PLACEHOLDER_PATTERN = re.compile(r"\.\.\.|…|<[^<>]+>")  # "xoxb-...", "xoxb-…", "<your token>"
BARE_PREFIXES = ("xoxb-", "xapp-")  # what .env.example used to ship: a token prefix with nothing after it
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# Field name -> the variable it is read from: the one list of settings (the README table and .env.example follow it).
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
    "notify_channels": "CREDBOT_NOTIFY_CHANNELS",
    "board_channel": "CREDBOT_BOARD_CHANNEL",
    "org_wide_channels": "CREDBOT_ORG_WIDE_CHANNELS",
    "reminder_interval": "CREDBOT_REMINDER_INTERVAL_SECONDS",
    "admins": "CREDBOT_ADMINS",
    "viewers": "CREDBOT_VIEWERS",
    "verify_keys": "CREDBOT_VERIFY_KEYS",
    "paddle_api_url": "PADDLE_API_URL",
    "paddle_sandbox_api_url": "PADDLE_SANDBOX_API_URL",
    "paddle_timeout": "PADDLE_TIMEOUT_SECONDS",
    "log_level": "LOG_LEVEL",
    "log_format": "LOG_FORMAT",
    "host": "HOST",
    "port": "PORT",
    "http_workers": "CREDBOT_HTTP_WORKERS",
    "http_threads": "CREDBOT_HTTP_THREADS",
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
    "CREDBOT_ENCRYPTION_KEYS": "create one with `python -m bot keys generate`",
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


@dataclass(frozen=True)
class EncryptionKey:
    key_id: str
    material: Secret  # the 32 raw bytes, base64 encoded; decoded only by the vault


def default_workers() -> int:
    """One gunicorn worker per core, at most two: Python runs one thread at a time per process, so a second
    worker is what lets a 2-core machine use both cores (the load benchmark: 31 -> 56 wizards/s). More would
    multiply database connections (each worker pools up to 2 x CREDBOT_HTTP_THREADS)."""
    return max(1, min(2, os.cpu_count() or 1))


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
            problems.append(
                f"{where} is not of the form keyid:base64key; generate one with `python -m bot keys generate`"
            )
            continue
        if not KEY_ID_PATTERN.match(key_id):
            problems.append(
                f"{where}: key id must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit)"
            )
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


def _secret(prefix: str | None, wrong_prefix_hint: str = "") -> BeforeValidator:
    def check(value: str | None, info: ValidationInfo) -> Secret | None:
        if value is None:
            return None
        name = _name(info)
        _refuse_placeholder(name, value, SECRET_HINTS[name])
        if prefix and not value.startswith(prefix):
            raise _problem(f"{name} must start with '{prefix}'; {wrong_prefix_hint}")
        return Secret(value)

    return BeforeValidator(check)


def _client_id(value: str | None, info: ValidationInfo) -> str | None:
    hint = "copy the Client ID from your app's Basic Information > App Credentials"
    if value is not None:
        _refuse_placeholder(_name(info), value, hint)
        if not CLIENT_ID_PATTERN.match(value):
            raise _problem(f"{_name(info)} must look like 1234567890.1234567890; {hint}")
    return value


def _scopes(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    scopes = (
        tuple(part.strip() for part in str(value).split(",") if part.strip())
        if isinstance(value, str)
        else tuple(value)
    )
    if not scopes or any(not re.fullmatch(r"[a-z][a-z0-9_.:-]*", scope) for scope in scopes):
        raise _problem(f"{_name(info)}: give comma-separated bot scopes such as commands,chat:write")
    return scopes


def _http_url(default: str) -> BeforeValidator:
    def check(value: str | None, info: ValidationInfo) -> str:
        value = value or default
        try:
            parts = urlsplit(value)
        except ValueError:  # "http://[::1": nothing of it is worth repeating
            raise _problem(f"{_name(info)} must be an http(s) URL such as {default}") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _problem(f"{_name(info)} must be an http(s) URL such as {default}, got {_shown(value)!r}")
        if parts.scheme == "http" and not _loopback(parts.hostname or ""):
            raise _problem(
                f"{_name(info)} must use https:// (keys and tokens are sent there); plain http is "
                f"accepted only for a loopback host, got {_shown(value)!r}"
            )
        return value

    return BeforeValidator(check)


def _loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: where a test's fake server runs; nothing leaves the machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _whole(low: int, high: int) -> BeforeValidator:
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


def _seconds(value: Any, info: ValidationInfo) -> float:
    try:
        seconds = float(value)
        if not 0.1 <= seconds <= 60:
            raise ValueError
    except ValueError:
        raise _problem(f"{_name(info)} must be a number of seconds from 0.1 to 60, got {value!r}") from None
    return seconds


def _choice(options: tuple[str, ...], normalise: Callable[[str], str], wording: str) -> BeforeValidator:
    def check(value: str, info: ValidationInfo) -> str:
        value = normalise(value)
        if value not in options:
            raise _problem(f"{_name(info)} must be {wording}, got {value!r}")
        return value

    return BeforeValidator(check)


def _switch(value: Any, info: ValidationInfo) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _problem(f"{_name(info)} must be true or false, got {value!r}")


def _data_dir(value: Any, info: ValidationInfo) -> Path:
    try:
        return Path(value).expanduser().resolve()
    except (RuntimeError, ValueError, OSError):  # "~nobody/x", a NUL byte
        raise _problem(f"{_name(info)} must be a directory path such as /var/lib/credbot, got {value!r}") from None


def _database_url(value: str | None, info: ValidationInfo) -> str:
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


def _encryption_keys(value: Any) -> tuple[EncryptionKey, ...]:
    if not isinstance(value, str):  # the default
        return value
    _refuse_placeholder("CREDBOT_ENCRYPTION_KEYS", value, SECRET_HINTS["CREDBOT_ENCRYPTION_KEYS"])
    keys, problems = parse_encryption_keys(value)
    if problems:
        raise _problem("\n".join(problems))
    return keys


KMS_KEY_ID = re.compile(r"(alias/[A-Za-z0-9/_-]{1,250}|[0-9a-fA-F-]{36}|mrk-[0-9a-f]{32}|arn:aws[a-z-]*:kms:[^\s]+)")


def _kms_key_id(value: str | None, info: ValidationInfo) -> str | None:
    """An AWS KMS key id, key ARN, alias/NAME or alias ARN; unset: the local key ring."""
    if value is None or not value.strip():
        return None
    if not KMS_KEY_ID.fullmatch(value.strip()):
        raise _problem(f"{_name(info)} must be an AWS KMS key id, key ARN or alias/NAME, got {value.strip()!r}")
    return value.strip()


def _channels(value: Any, info: ValidationInfo) -> tuple[str, ...]:
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


def _channel(value: str | None, info: ValidationInfo) -> str | None:
    if value is not None and not CHANNEL_ID_PATTERN.match(value):
        raise _problem(f"{_name(info)}: {value!r} is not a channel ID (like C0123ABCD)")
    return value


def _principals(value: Any, info: ValidationInfo) -> tuple[str, ...]:
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


def _trailing_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _no_trailing_slash(url: str) -> str:
    return url.rstrip("/")


class Settings(BaseSettings):
    """Every setting, typed. Build it with :func:`load_settings`, which gathers the raw values and reports
    every problem at once; the class alone reads nothing from the environment."""

    model_config = SettingsConfigDict(
        alias_generator=lambda field: ENV_NAMES.get(field, field),
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,  # a rejected value (a token, a key) never appears in an error
        arbitrary_types_allowed=True,  # Secret, EncryptionKey
    )

    slack_bot_token: Annotated[
        Secret | None, _secret("xoxb-", "use the Bot User OAuth Token from your app's OAuth & Permissions page")
    ] = None
    slack_signing_secret: Annotated[Secret | None, _secret(None)] = None
    slack_app_token: Annotated[
        Secret | None,
        _secret("xapp-", "use an app-level token with the connections:write scope (Basic Information page)"),
    ] = None
    slack_client_id: Annotated[str | None, BeforeValidator(_client_id)] = None  # for the OAuth flow
    slack_client_secret: Annotated[Secret | None, _secret(None)] = None
    # OAuth mode: the bot scopes asked for at install (the manifest's), and the redirect URL when not the app's
    # only one.
    slack_scopes: Annotated[tuple[str, ...], BeforeValidator(_scopes)] = DEFAULT_SLACK_SCOPES
    slack_redirect_uri: str | None = None
    slack_api_url: Annotated[str, _http_url(DEFAULT_SLACK_API_URL), AfterValidator(_trailing_slash)] = (
        DEFAULT_SLACK_API_URL
    )
    data_dir: Annotated[Path, BeforeValidator(_data_dir)] = Path("./.credbot")  # before database_url, which uses it
    database_url: Annotated[str, BeforeValidator(_database_url)] = Field(None, repr=False)  # type: ignore[assignment]
    database_is_default: bool = False  # set from the raw values: DATABASE_URL unset
    # PostgreSQL: how long connecting may take (a server that accepts and never answers would hang every command)
    database_connect_timeout: Annotated[int, _whole(1, 300)] = 5
    encryption_keys: Annotated[tuple[EncryptionKey, ...], BeforeValidator(_encryption_keys)] = ()  # empty: key file
    kms_key_id: Annotated[str | None, BeforeValidator(_kms_key_id)] = None  # set: data keys wrapped by AWS KMS
    notify_channels: Annotated[tuple[str, ...], BeforeValidator(_channels)] = ()
    board_channel: Annotated[str | None, BeforeValidator(_channel)] = None  # one message lists every credential
    reminder_interval: Annotated[int, _whole(1, 7 * 86_400)] = 86_400  # seconds between expiry checks (daily)
    admins: Annotated[tuple[str, ...], BeforeValidator(_principals)] = ()  # who may create and change; empty: everyone
    viewers: Annotated[tuple[str, ...] | None, BeforeValidator(_principals), AfterValidator(lambda v: v or None)] = None
    verify_keys: Annotated[bool, BeforeValidator(_switch)] = True
    # Announcements and the board show every workspace's credentials, not only those of the channel's workspace.
    org_wide_channels: Annotated[bool, BeforeValidator(_switch)] = False
    paddle_api_url: Annotated[str, _http_url(DEFAULT_PADDLE_API_URL), AfterValidator(_no_trailing_slash)] = (
        DEFAULT_PADDLE_API_URL
    )
    paddle_sandbox_api_url: Annotated[
        str, _http_url(DEFAULT_PADDLE_SANDBOX_API_URL), AfterValidator(_no_trailing_slash)
    ] = DEFAULT_PADDLE_SANDBOX_API_URL
    paddle_timeout: Annotated[float, BeforeValidator(_seconds)] = 8.0
    log_level: Annotated[str, _choice(LOG_LEVELS, str.upper, "one of " + ", ".join(LOG_LEVELS))] = "INFO"
    log_format: Annotated[str, _choice(LOG_FORMATS, str.lower, "text or json")] = "text"  # "text" or "json"
    host: str = "0.0.0.0"
    port: Annotated[int, _whole(1, 65535)] = 3000
    http_workers: Annotated[int, _whole(1, 64)] = Field(default_factory=default_workers)
    http_threads: Annotated[int, _whole(1, 256)] = 16
    metrics_port: Annotated[int | None, _whole(1, 65535)] = None  # Socket Mode only (HTTP mode serves it on PORT)
    # The measured shortcuts around slack-sdk, Bolt and SQLAlchemy (docs/decisions/library-internals.md); false runs
    # the supported way of each, e.g. after an upgrade that a tripwire test flags.
    library_shortcuts: Annotated[bool, BeforeValidator(_switch)] = True
    # Names in the process environment that look like a mistyped setting; whoever configures logging says them.
    name_warnings: tuple[str, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):  # type: ignore[override]
        """Only what load_settings passes in: it has already read the environment and .env (read_environment),
        so a mapping given by a test is all there is."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _derived(cls, data: Any) -> Any:
        return {**data, "database_is_default": "DATABASE_URL" not in data}

    @property
    def oauth_mode(self) -> bool:
        """Installed into many workspaces through Slack's OAuth flow, one bot token per installation."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def known_secrets(self) -> list[str]:
        """Values the log redactor must never let through."""
        secrets = (self.slack_bot_token, self.slack_signing_secret, self.slack_app_token, self.slack_client_secret)
        values = [s.reveal() for s in secrets if s]
        values += [k.material.reveal() for k in self.encryption_keys]
        database_password = urlsplit(self.database_url).password
        if database_password:
            values.append(database_password)
        return values


# --- gathering the raw values, and the checks that span settings


def read_environment(cwd: Path | None = None) -> dict[str, str]:
    """The process environment over the values of ``.env`` in the working directory."""
    dotenv, environment = read_sources(cwd)
    return dotenv | environment


def read_sources(cwd: Path | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(the values of ``.env`` in the working directory, the process environment), read by pydantic-settings'
    own sources (python-dotenv's quoting rules)."""
    dotenv = DotEnvSettingsSource(Settings, env_file=(cwd or Path.cwd()) / ".env")
    return (
        {k: v for k, v in dotenv.env_vars.items() if v is not None},
        {k: v for k, v in EnvSettingsSource(Settings).env_vars.items() if v is not None},
    )


def known_names() -> frozenset[str]:
    """Every name Credbot reads: the settings, and ``NAME_FILE`` for each secret."""
    return frozenset(ENV_NAMES.values()) | {f"{name}_FILE" for name in SECRET_SETTINGS}


def _present(env: Mapping[str, str]) -> dict[str, str]:
    """The settings that are set: values stripped, an empty value is an unset one."""
    known = known_names()
    return {name: value.strip() for name, value in env.items() if name in known and value and value.strip()}


def _read_secret_files(raw: dict[str, str]) -> list[str]:
    """Move each ``NAME_FILE``'s contents (one trailing newline stripped) into ``NAME``; the problems, naming
    the variables and the file, never the value. A file that fails stays as ``NAME_FILE``: the secret is not
    then reported as unset too."""
    problems: list[str] = []
    for name in SECRET_SETTINGS:
        file_name = f"{name}_FILE"
        if file_name not in raw:
            continue
        path = Path(raw[file_name]).expanduser()
        if name in raw:
            problems.append(
                f"{name} and {file_name} are both set; keep one (the file is better kept out of the environment)"
            )
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else "not readable UTF-8 text"
            problems.append(
                f"{file_name}: cannot read {path} ({reason}); point it at a readable file that holds {name}"
            )
            continue
        value = text.removesuffix("\n").removesuffix("\r").strip()
        if not value:
            problems.append(f"{file_name}: {path} is empty; put {name} in it ({SECRET_HINTS[name]})")
            continue
        raw[name] = value
        del raw[file_name]
    return problems


def _requirements(raw: Mapping[str, str], purpose: str) -> list[str]:
    """What the command needs (``serve``: Slack's credentials) and what one setting demands of another."""

    def given(name: str) -> bool:
        return name in raw or f"{name}_FILE" in raw

    problems: list[str] = []
    oauth = given("SLACK_CLIENT_ID") and given("SLACK_CLIENT_SECRET")
    if purpose == "serve" and not given("SLACK_BOT_TOKEN") and not oauth:
        problems.append(
            "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) "
            "from your app's OAuth & Permissions page"
        )
    if purpose == "serve" and not given("SLACK_APP_TOKEN") and not given("SLACK_SIGNING_SECRET"):
        problems.append(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it (Basic Information > App Credentials); "
            "or set SLACK_APP_TOKEN to run in Socket Mode"
        )
    if given("DATABASE_URL") and not given("CREDBOT_ENCRYPTION_KEYS") and not raw.get("CREDBOT_KMS_KEY_ID"):
        problems.append(
            "CREDBOT_ENCRYPTION_KEYS is not set: it is required when DATABASE_URL is set "
            "(only the embedded SQLite default may keep a generated key file); set CREDBOT_KMS_KEY_ID or "
            "create one with `python -m bot keys generate`"
        )
    return problems


def _problems(error: ValidationError) -> list[str]:
    """Our validators' messages as they are; anything pydantic says itself, prefixed with the setting's name."""
    problems: list[str] = []
    for item in error.errors(include_input=False, include_url=False):
        if item["type"] == "credbot_setting":
            problems += item["msg"].split("\n")
        else:
            problems.append(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}")
    return problems


def load_settings(env: Mapping[str, str] | None = None, *, purpose: str = "serve") -> Settings:
    """Parse and check every setting.

    ``env`` is the process environment over ``.env`` when not given. ``purpose`` is what the command needs:
    ``serve`` requires the Slack credentials; ``db`` and ``keys`` need only the database and keys.
    A name in ``.env`` that is not a setting, or an unknown ``CREDBOT_*`` name in the environment, is a problem
    naming the nearest setting; a near miss of a setting elsewhere in the environment is in ``name_warnings``.
    A ``env`` mapping is checked as the process environment. Raises :class:`ConfigError` naming every problem.
    """
    dotenv, environment = read_sources() if env is None else ({}, dict(env))
    name_problems, warnings = check_names(dotenv, environment, known_names())
    raw = _present(dotenv | environment)
    problems = name_problems + _read_secret_files(raw) + _requirements(raw, purpose)
    values = {name: value for name, value in raw.items() if not name.endswith("_FILE")}
    try:
        settings = Settings(**values, name_warnings=tuple(warnings))
    except ValidationError as error:
        raise ConfigError(name_problems + _problems(error) + problems[len(name_problems) :]) from None
    if problems:
        raise ConfigError(problems)
    return settings
