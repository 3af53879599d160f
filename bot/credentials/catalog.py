"""Entity types and destinations as data: the one source of truth for both.

A destination is one entry here: its provider, base-URL setting, key rules and the words used about them. The
wizard, the list, Home, the settings, the CLI, the log masks, fair use and the key checks all read these tables
when they need them, so an entry registered at run time (:func:`register`) is seen by all of them. A new
provider also needs one module, ``bot.providers.<provider>`` (see bot.providers.registry).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload


@dataclass(frozen=True)
class EntityType:
    value: str
    label: str
    description: str  # shown where a person chooses one (a Block Kit option: 75 characters)


@dataclass(frozen=True)
class KeyRules:
    """What a destination's API keys look like, checked before any network call, and how they are spoken of."""

    pattern: re.Pattern[str]  # the current key format; group "env" names the environment
    environment_marker: str  # the value of group "env" that belongs to this destination
    legacy_pattern: re.Pattern[str] | None  # older keys without an environment marker
    family_pattern: re.Pattern[str] | None  # any key of this provider, shape unfamiliar; group "env" as above
    id_pattern: re.Pattern[str] | None  # where a key of the family shows its own record's id (group "id")
    where_to_get: str  # where in the provider's dashboard a key is generated
    prefix: str = ""  # what every key of the provider starts with ("pdl_"); the input's placeholder shows it
    shape: str = ""  # the current format in words: "start with … and are 69 characters long"
    length: int | None = None  # the current format's length, when it has one
    record_prefix: str = ""  # what the provider puts before the id of a key's own record ("apikey_")
    log_patterns: tuple[re.Pattern[str], ...] = ()  # searched in every log line and masked, even truncated keys


@dataclass(frozen=True)
class Destination:
    value: str
    label: str
    environment: str  # short, human: "live" / "sandbox"
    description: str  # shown where a person chooses one (a Block Kit option: 75 characters)
    base_url_setting: str  # the setting that holds the provider's base URL (read by bot.infra.settings)
    sandbox: bool
    key_rules: KeyRules
    provider: str  # the provider module that checks its keys: bot.providers.<provider>
    provider_label: str  # the provider's name in sentences
    default_base_url: str  # the base URL when its setting is unset
    account: str  # whose keys belong here, in a sentence: "a live Paddle account"


ENTITY_TYPES: tuple[EntityType, ...] = (EntityType("bill", "Bill", "Bills from your billing platform"),)

# Paddle Billing keys: pdl_ + live|sdbx + _apikey_ + 26-char id + _ + 26-char secret (69 chars). The secret is
# in Paddle's URL-safe alphabet, so it may hold "_" and "-" anywhere (Paddle's documented example ends "…X7_AQO").
_URL_SAFE = "A-Za-z0-9_-"
_PADDLE_KEY = re.compile(rf"^pdl_(?P<env>live|sdbx)_apikey_(?P<id>[a-z0-9]{{26}})_(?P<secret>[{_URL_SAFE}]{{26}})$")
# Any key Paddle might issue: pdl_, a marker, then URL-safe text. One of another shape (a new marker, another
# length) is Paddle's to judge, so it is only refused offline when it cannot be sent to Paddle to be judged.
_PADDLE_FAMILY = re.compile(rf"^(?=.{{16,200}}$)pdl_(?P<env>[A-Za-z0-9]+)_[{_URL_SAFE}]+$")
_PADDLE_KEY_ID = re.compile(r"^pdl_[A-Za-z0-9]+_apikey_(?P<id>[a-z0-9]{26})_")
# Keys issued before the environment marker existed: 50 characters, no way to tell the environment.
_PADDLE_LEGACY_KEY = re.compile(r"^[A-Za-z0-9]{50}$")
_PADDLE_LOGGED = (
    re.compile(r"pdl_[A-Za-z0-9]+_[A-Za-z0-9_-]+"),  # Paddle keys (URL-safe), even truncated
    re.compile(r"\b[A-Za-z0-9]{50}\b"),  # Paddle legacy keys
)
_PADDLE_RULES = dict(
    legacy_pattern=_PADDLE_LEGACY_KEY,
    family_pattern=_PADDLE_FAMILY,
    id_pattern=_PADDLE_KEY_ID,
    where_to_get="Paddle dashboard > Developer tools > Authentication > API keys",
    prefix="pdl_",
    shape="start with pdl_live_apikey_ or pdl_sdbx_apikey_ and are 69 characters long",
    length=69,
    record_prefix="apikey_",
    log_patterns=_PADDLE_LOGGED,
)


def _paddle(value: str, label: str, environment: str, host: str, setting: str, marker: str) -> Destination:
    sandbox = environment == "sandbox"
    account = "your sandbox account" if sandbox else "your live account"
    data = "test data only" if sandbox else "real customers and money"
    return Destination(
        value=value,
        label=label,
        environment=environment,
        description=f"{account.capitalize()} at {host}, {data}",
        base_url_setting=setting,
        sandbox=sandbox,
        key_rules=KeyRules(_PADDLE_KEY, marker, **_PADDLE_RULES),  # type: ignore[arg-type]  # the dict's values
        provider="paddle",
        provider_label="Paddle",
        default_base_url=f"https://{host}",
        account="a Paddle sandbox account" if sandbox else "a live Paddle account",
    )


class Destinations(Sequence[Destination]):
    """The registered destinations, in the order they are shown; read at each use, never copied at import.

    ``version`` counts registrations, so that what is derived from the entries (the log masks) can tell when to
    derive it again."""

    def __init__(self, entries: Sequence[Destination]) -> None:
        self._entries: tuple[Destination, ...] = tuple(entries)
        self._lock = threading.Lock()
        self.version = 0

    @overload
    def __getitem__(self, index: int) -> Destination: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Destination]: ...
    def __getitem__(self, index: int | slice) -> Destination | Sequence[Destination]:
        return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Destination]:
        return iter(self._entries)

    def register(self, entry: Destination) -> None:
        with self._lock:
            if any(d.value == entry.value for d in self._entries):
                raise ValueError(f"a destination {entry.value!r} is already registered")
            self._entries += (entry,)
            self.version += 1

    def unregister(self, value: str) -> None:
        with self._lock:
            self._entries = tuple(d for d in self._entries if d.value != value)
            self.version += 1


DESTINATIONS = Destinations(
    (
        _paddle("paddle", "Paddle", "live", "api.paddle.com", "PADDLE_API_URL", "live"),
        _paddle(
            "paddle_sandbox",
            "Paddle (Sandbox Mode)",
            "sandbox",
            "sandbox-api.paddle.com",
            "PADDLE_SANDBOX_API_URL",
            "sdbx",
        ),
    )
)


def register(entry: Destination) -> None:
    """Add a destination after the built-in ones (a plug-in, a test). Everything that lists or checks
    destinations sees it from then on; settings read its base-URL setting the next time they are loaded."""
    DESTINATIONS.register(entry)


def unregister(value: str) -> None:
    """Remove a destination registered with :func:`register`; credentials stored for it show its stored value."""
    DESTINATIONS.unregister(value)


_ENTITY_TYPE_BY_VALUE = {e.value: e for e in ENTITY_TYPES}


def entity_type(value: str) -> EntityType | None:
    return _ENTITY_TYPE_BY_VALUE.get(value)


def destination(value: str) -> Destination | None:
    return next((d for d in DESTINATIONS if d.value == value), None)


def destination_values() -> tuple[str, ...]:
    """Every destination's value: the CLI's ``--destination`` choices, the read API's filter."""
    return tuple(d.value for d in DESTINATIONS)


def providers() -> tuple[str, ...]:
    """The providers of the registered destinations, each once, in catalog order."""
    return tuple(dict.fromkeys(d.provider for d in DESTINATIONS))


def destination_label(value: str) -> str:
    """The label to show; a destination since removed from the catalog shows its stored value."""
    found = destination(value)
    return found.label if found else value


def provider_label(value: str) -> str:
    """The provider's name for a destination's value; "the provider" for one no longer in the catalog."""
    found = destination(value)
    return found.provider_label if found else "the provider"


def is_sandbox(value: str) -> bool:
    found = destination(value)
    return bool(found and found.sandbox)


def destination_for_marker(marker: str, provider: str) -> Destination | None:
    """The destination of ``provider`` whose keys carry ``marker``: markers are the provider's own words."""
    return next((d for d in DESTINATIONS if d.provider == provider and d.key_rules.environment_marker == marker), None)


def environment_name(marker: str, provider: str) -> str:
    found = destination_for_marker(marker, provider)
    return found.account if found and found.account else marker


def destinations_matching(text: str) -> list[str]:
    """Values of destinations whose label or value contains ``text`` (case-insensitive)."""
    needle = text.casefold()
    return [d.value for d in DESTINATIONS if needle in d.label.casefold() or needle in d.value.casefold()]


def key_log_patterns() -> tuple[re.Pattern[str], ...]:
    """Every destination's key masks, each once: what the log redactor searches for."""
    return tuple(dict.fromkeys(p for d in DESTINATIONS for p in d.key_rules.log_patterns))


def key_record_id(destination: Destination, key: str) -> str | None:
    """The id of the key's own record at the provider (``apikey_…`` for Paddle), or None when the key does not
    show one (legacy keys, an unfamiliar shape without it)."""
    rules = destination.key_rules
    for pattern in (rules.pattern, rules.id_pattern):
        match = pattern.match(key) if pattern is not None else None
        if match is not None and "id" in match.groupdict():
            return f"{rules.record_prefix}{match.group('id')}"
    return None
