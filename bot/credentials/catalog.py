"""Entity types and destinations as data.

Adding a destination or an entity type is an entry here, not a new code
path: the wizard, the list, the notifications and the key checks all read
these tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EntityType:
    value: str
    label: str
    description: str  # shown where a person chooses one (a Block Kit option: 75 characters)


@dataclass(frozen=True)
class KeyRules:
    """What a destination's API keys look like, checked before any network call."""

    pattern: re.Pattern[str]  # the current key format; group "env" names the environment
    environment_marker: str  # the value of group "env" that belongs to this destination
    legacy_pattern: re.Pattern[str] | None  # older keys without an environment marker
    family_pattern: re.Pattern[str] | None  # any key of this provider, shape unfamiliar; group "env" as above
    id_pattern: re.Pattern[str] | None  # where a key of the family shows its own record's id (group "id")
    where_to_get: str  # where in the provider's dashboard a key is generated


@dataclass(frozen=True)
class Destination:
    value: str
    label: str
    environment: str  # short, human: "live" / "sandbox"
    description: str  # shown where a person chooses one (a Block Kit option: 75 characters)
    base_url_setting: str  # the setting that holds the provider's base URL (resolved at wiring time)
    sandbox: bool
    key_rules: KeyRules


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
_PADDLE_WHERE = "Paddle dashboard > Developer tools > Authentication > API keys"


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
        key_rules=KeyRules(_PADDLE_KEY, marker, _PADDLE_LEGACY_KEY, _PADDLE_FAMILY, _PADDLE_KEY_ID, _PADDLE_WHERE),
    )


DESTINATIONS: tuple[Destination, ...] = (
    _paddle("paddle", "Paddle", "live", "api.paddle.com", "PADDLE_API_URL", "live"),
    _paddle(
        "paddle_sandbox", "Paddle (Sandbox Mode)", "sandbox", "sandbox-api.paddle.com", "PADDLE_SANDBOX_API_URL", "sdbx"
    ),
)

_ENVIRONMENT_NAMES = {"live": "a live Paddle account", "sdbx": "a Paddle sandbox account"}


_ENTITY_TYPE_BY_VALUE = {e.value: e for e in ENTITY_TYPES}
_DESTINATION_BY_VALUE = {d.value: d for d in DESTINATIONS}


def entity_type(value: str) -> EntityType | None:
    return _ENTITY_TYPE_BY_VALUE.get(value)


def destination(value: str) -> Destination | None:
    return _DESTINATION_BY_VALUE.get(value)


def destination_label(value: str) -> str:
    """The label to show; a destination since removed from the catalog shows its stored value."""
    found = destination(value)
    return found.label if found else value


def is_sandbox(value: str) -> bool:
    found = destination(value)
    return bool(found and found.sandbox)


def destination_for_marker(marker: str) -> Destination | None:
    return next((d for d in DESTINATIONS if d.key_rules.environment_marker == marker), None)


def environment_name(marker: str) -> str:
    return _ENVIRONMENT_NAMES.get(marker, marker)


def destinations_matching(text: str) -> list[str]:
    """Values of destinations whose label or value contains ``text`` (case-insensitive)."""
    needle = text.casefold()
    return [d.value for d in DESTINATIONS if needle in d.label.casefold() or needle in d.value.casefold()]


def key_record_id(destination: Destination, key: str) -> str | None:
    """The id of the key's own record at the provider (``apikey_…`` for Paddle), or None when the key does not
    show one (legacy keys, an unfamiliar shape without it)."""
    rules = destination.key_rules
    for pattern in (rules.pattern, rules.id_pattern):
        match = pattern.match(key) if pattern is not None else None
        if match is not None and "id" in match.groupdict():
            return f"apikey_{match.group('id')}"
    return None
