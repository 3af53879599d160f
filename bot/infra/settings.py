"""Every setting, parsed once into one typed object (pydantic-settings).

This is the only module that reads the environment. :func:`load_settings` gathers the raw values (the process
environment over ``.env``, or a mapping it is given), reads ``NAME_FILE`` for each secret, and validates them
all at once: pydantic collects every field's problem, the checks that span settings add theirs, and the
operator gets one :class:`ConfigError` that lists them all. No message repeats a secret's value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.credentials import catalog
from bot.infra.secret import Secret
from bot.infra.setting_names import check_names
from bot.infra import setting_checks as check
from bot.infra.setting_checks import (
    ENV_NAMES,
    LOG_FORMATS,
    LOG_LEVELS,
    SECRET_HINTS,
    SECRET_SETTINGS,
    ConfigError,
    EncryptionKey,
    default_workers,
)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# The manifest's bot scopes (a test keeps them equal): what an OAuth install asks for unless SLACK_SCOPES says.
DEFAULT_SLACK_SCOPES = ("commands", "chat:write", "usergroups:read", "channels:read", "groups:read", "users:read")


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
        Secret | None, check.secret("xoxb-", "use the Bot User OAuth Token from your app's OAuth & Permissions page")
    ] = None
    slack_signing_secret: Annotated[Secret | None, check.secret(None, shortest=check.SLACK_SECRET_LENGTH)] = None
    slack_app_token: Annotated[
        Secret | None,
        check.secret("xapp-", "use an app-level token with the connections:write scope (Basic Information page)"),
    ] = None
    slack_client_id: Annotated[str | None, BeforeValidator(check.client_id)] = None  # for the OAuth flow
    slack_client_secret: Annotated[Secret | None, check.secret(None)] = None
    # OAuth mode: the bot scopes asked for at install (the manifest's), and the redirect URL when not the app's
    # only one.
    slack_scopes: Annotated[tuple[str, ...], BeforeValidator(check.scopes)] = DEFAULT_SLACK_SCOPES
    slack_redirect_uri: str | None = None
    slack_api_url: Annotated[str, check.http_url(DEFAULT_SLACK_API_URL), AfterValidator(check.trailing_slash)] = (
        DEFAULT_SLACK_API_URL
    )
    data_dir: Annotated[Path, BeforeValidator(check.data_dir)] = Path("./.credbot")  # before database_url, its user
    # The validator fills in the default (SQLite under data_dir), so the field's own default is None.
    database_url: Annotated[str, BeforeValidator(check.database_url)] = Field(None, repr=False)  # type: ignore[assignment]
    database_is_default: bool = False  # set from the raw values: DATABASE_URL unset
    # PostgreSQL: how long connecting may take (a server that accepts and never answers would hang every command)
    database_connect_timeout: Annotated[int, check.whole(1, 300)] = 5
    encryption_keys: Annotated[tuple[EncryptionKey, ...], BeforeValidator(check.encryption_keys)] = ()  # empty: file
    kms_key_id: Annotated[str | None, BeforeValidator(check.kms_key_id)] = None  # set: data keys wrapped by AWS KMS
    # KMS keys being moved off (`keys rewrap`): data keys they wrap still decrypt, never encrypt; any other is refused
    kms_retired_key_ids: Annotated[tuple[str, ...], BeforeValidator(check.kms_key_ids)] = ()
    notify_channels: Annotated[tuple[str, ...], BeforeValidator(check.channels)] = ()
    board_channel: Annotated[str | None, BeforeValidator(check.channel)] = None  # one message lists every credential
    reminder_interval: Annotated[int, check.whole(1, 7 * 86_400)] = 86_400  # seconds between expiry checks (daily)
    # A key its provider says was not used for this many days is flagged (Home tab, `credentials show`).
    unused_key_days: Annotated[int, check.whole(1, 365)] = 30
    admins: Annotated[tuple[str, ...], BeforeValidator(check.principals)] = ()  # may create, change; empty: all
    viewers: Annotated[
        tuple[str, ...] | None, BeforeValidator(check.principals), AfterValidator(lambda v: v or None)
    ] = None
    verify_keys: Annotated[bool, BeforeValidator(check.switch)] = True
    # Announcements and the board show every workspace's credentials, not only those of the channel's workspace.
    org_wide_channels: Annotated[bool, BeforeValidator(check.switch)] = False
    # Destination value -> its provider's base URL, read from the setting the catalog names (PADDLE_API_URL…).
    base_urls: Annotated[dict[str, str], BeforeValidator(check.base_urls)] = Field(default_factory=dict)
    paddle_timeout: Annotated[float, BeforeValidator(check.seconds)] = 8.0
    # The secret keys of Paddle's notification destinations (POST /paddle/notifications): one per environment.
    paddle_notification_secret: Annotated[Secret | None, check.secret(None)] = None
    paddle_sandbox_notification_secret: Annotated[Secret | None, check.secret(None)] = None
    # How far a notification's Paddle-Signature ts may be from this machine's clock (Paddle's SDK allows 5 s).
    paddle_notification_tolerance: Annotated[int, check.whole(1, 300)] = 5
    # Provider checks (Test connection, Replace API key, the wizard's final stage) one person may start per minute,
    # counted in the database across every instance.
    provider_checks_per_minute: Annotated[int, check.whole(1, 10_000)] = 6
    # The read API (/v1): secret reads one access token may make per minute, counted in the database across every
    # instance (then 429), and the proxies whose X-Forwarded-For names the client address a token's --allow-from
    # is checked against.
    api_reads_per_minute: Annotated[int, check.whole(1, 100_000)] = 120
    trusted_proxies: Annotated[tuple[str, ...], BeforeValidator(check.networks)] = ()
    # An integration's bot.api, reading over the read API instead of the database: the server and its token.
    credbot_url: Annotated[str | None, check.optional_url("https://credbot.example.com")] = None
    credbot_token: Annotated[
        Secret | None, check.secret("cbt_", "use the token `credbot tokens issue` printed (cbt_…)")
    ] = None
    log_level: Annotated[str, check.choice(LOG_LEVELS, str.upper, "one of " + ", ".join(LOG_LEVELS))] = "INFO"
    log_format: Annotated[str, check.choice(LOG_FORMATS, str.lower, "text or json")] = "text"  # "text" or "json"
    host: str = "0.0.0.0"
    port: Annotated[int, check.whole(1, 65535)] = 3000
    http_workers: Annotated[int, check.whole(1, 64)] = Field(default_factory=default_workers)
    http_threads: Annotated[int, check.whole(1, 256)] = 16
    # A request's header block and body must be in this long after the connection (or its next request) starts;
    # later, the connection is answered 408 and closed (docs/decisions/slow-clients.md).
    http_read_timeout: Annotated[float, BeforeValidator(check.seconds)] = 5.0
    metrics_port: Annotated[int | None, check.whole(1, 65535)] = None  # Socket Mode only (HTTP mode serves it on PORT)
    # The measured shortcuts around slack-sdk, Bolt and SQLAlchemy (docs/decisions/library-internals.md); false runs
    # the supported way of each, e.g. after an upgrade that a tripwire test flags.
    library_shortcuts: Annotated[bool, BeforeValidator(check.switch)] = True
    # Names in the process environment that look like a mistyped setting; whoever configures logging says them.
    name_warnings: tuple[str, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what load_settings passes in: it has already read the environment and .env (read_environment),
        so a mapping given by a test is all there is."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _derived(cls, data: Any) -> Any:
        base_urls = {d.value: data.get(d.base_url_setting) for d in catalog.DESTINATIONS}
        return {**data, "database_is_default": "DATABASE_URL" not in data, "base_urls": base_urls}

    def base_url(self, destination: str) -> str | None:
        """The base URL of a destination's provider; None for one registered after these settings were read."""
        return self.base_urls.get(destination)

    @property
    def oauth_mode(self) -> bool:
        """Installed into many workspaces through Slack's OAuth flow, one bot token per installation."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def known_secrets(self) -> list[str]:
        """Values the log redactor must never let through."""
        secrets = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.credbot_token,
            self.paddle_notification_secret,
            self.paddle_sandbox_notification_secret,
        )
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


def setting_names() -> tuple[str, ...]:
    """Every setting's variable: the fields', then each destination's base-URL setting (from the catalog)."""
    return (*ENV_NAMES.values(), *dict.fromkeys(d.base_url_setting for d in catalog.DESTINATIONS))


def known_names() -> frozenset[str]:
    """Every name Credbot reads: the settings, and ``NAME_FILE`` for each secret."""
    return frozenset(setting_names()) | {f"{name}_FILE" for name in SECRET_SETTINGS}


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
    if given("CREDBOT_URL") != given("CREDBOT_TOKEN"):
        problems.append(
            "CREDBOT_URL and CREDBOT_TOKEN go together: an integration's bot.api reads over the read API with "
            "both (the server's URL and the token `credbot tokens issue` printed), or over the database with neither"
        )
    if given("DATABASE_URL") and not given("CREDBOT_ENCRYPTION_KEYS") and not raw.get("CREDBOT_KMS_KEY_ID"):
        problems.append(
            "CREDBOT_ENCRYPTION_KEYS is not set: it is required when DATABASE_URL is set "
            "(only the embedded SQLite default may keep a generated key file); set CREDBOT_KMS_KEY_ID or "
            "create one with `python -m bot keys generate`"
        )
    if raw.get("CREDBOT_KMS_RETIRED_KEY_IDS", "").strip() and not raw.get("CREDBOT_KMS_KEY_ID", "").strip():
        problems.append(
            "CREDBOT_KMS_RETIRED_KEY_IDS is set without CREDBOT_KMS_KEY_ID: retired KMS keys only decrypt; "
            "set CREDBOT_KMS_KEY_ID to the KMS key that wraps new data keys"
        )
    live, sandbox = (raw.get(f"PADDLE_{part}NOTIFICATION_SECRET", "").strip() for part in ("", "SANDBOX_"))
    if live and live == sandbox:  # a notification would verify as both: it could not say which keys it may touch
        problems.append(
            "PADDLE_NOTIFICATION_SECRET and PADDLE_SANDBOX_NOTIFICATION_SECRET are the same: each is the secret key "
            "of its own notification destination (live dashboard, sandbox dashboard); copy each from its own"
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
    # raw text for pydantic to validate into each field's type
    values: dict[str, Any] = {name: value for name, value in raw.items() if not name.endswith("_FILE")}
    try:
        settings = Settings(**values, name_warnings=tuple(warnings))
    except ValidationError as error:
        raise ConfigError(name_problems + _problems(error) + problems[len(name_problems) :]) from None
    if problems:
        raise ConfigError(problems)
    return settings
