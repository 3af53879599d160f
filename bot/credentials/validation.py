"""Offline checks of what a person typed: credential names and API keys."""

from __future__ import annotations

import unicodedata

from bot.credentials import catalog
from bot.credentials.errors import InvalidInput
from bot.credentials.key_shapes import key_shaped
from bot.credentials.names import DEFAULT_IGNORABLE, name_key
from bot.infra.secret import Secret

NAME_MAX = 100
KEY_MAX = 200  # the longest key the catalog's family pattern admits, and what the wizard's input allows


NAME_KEY_MAX = 400  # the name_key column: what a name becomes once folded and spelled out (ﷺ is 18 letters)
BLANK_LOOKING = frozenset("\u2800")  # draws nothing but is neither a space nor default-ignorable (braille blank)
KEY_SHAPED_NAME = (
    "This looks like an API key, or part of one. A name is shown to everyone who can see credentials and is not "
    "kept secret, so it cannot hold a key: choose another name. A key goes only in the API key field."
)


def validate_name(raw: str | None) -> str:
    """Trim and check a credential name; returns the name to store."""
    name = (raw or "").strip()
    if not name:
        raise InvalidInput("name", "Enter a name for the credential.")
    if key_shaped(name):  # before anything else: the name is never kept, shown or carried
        raise InvalidInput("name", KEY_SHAPED_NAME)
    if len(name) > NAME_MAX:
        raise InvalidInput("name", f"Use at most {NAME_MAX} characters (this one has {len(name)}).")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise InvalidInput("name", "The name contains control characters; type it again without them.")
    if any(_invisible(name, i) for i in range(len(name))):
        raise InvalidInput(
            "name",
            "The name contains invisible characters (zero-width, fillers or text-direction "
            "marks), which would let two different names look the same. Type it again "
            "without them.",
        )
    if any(unicodedata.category(ch) in ("Cn", "Co") for ch in name):
        raise InvalidInput(
            "name",
            "The name contains characters that have no agreed appearance (unassigned or "
            "private-use); type it again without them.",
        )
    if not any(unicodedata.category(ch)[0] in "LN" for ch in name):
        raise InvalidInput("name", "Use at least one letter or digit in the name.")
    if len(name_key(name)) > NAME_KEY_MAX:
        raise InvalidInput(
            "name", "This name is too long once its characters are spelled out for comparison; use a shorter name."
        )
    return name


ZERO_WIDTH_JOINER = "\u200d"
EMOJI_PRESENTATION = "\ufe0f"


def _invisible(name: str, index: int) -> bool:
    """A character that draws nothing: Unicode's Default_Ignorable_Code_Point (zero-width, fillers, variation
    selectors, bidi marks…), a format character (Cf), or a blank-looking symbol; except the zero-width joiner
    inside an emoji sequence such as 👩‍💻 and the emoji presentation selector after an emoji, which are part
    of the picture."""
    ch = name[index]
    if ch in BLANK_LOOKING:
        return True
    if unicodedata.category(ch) != "Cf" and not DEFAULT_IGNORABLE.match(ch):
        return False
    if ch == EMOJI_PRESENTATION:
        return index == 0 or not _emoji_part(name[index - 1])
    if ch != ZERO_WIDTH_JOINER or index == 0 or index == len(name) - 1:
        return True
    return not (_emoji_part(name[index - 1]) and _emoji_part(name[index + 1]))


def _emoji_part(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or ch == EMOJI_PRESENTATION or 0x1F3FB <= ord(ch) <= 0x1F3FF


def validate_entity_type(value: str | None) -> catalog.EntityType:
    entity = catalog.entity_type(value or "")
    if entity is None:
        raise InvalidInput("entity_type", "Select an entity type.")
    return entity


def validate_destination(value: str | None) -> catalog.Destination:
    destination = catalog.destination(value or "")
    if destination is None:
        raise InvalidInput("destination", "Select a destination.")
    return destination


def check_api_key(
    raw: str | None, destination: catalog.Destination, *, live_verification: bool, destination_fixed: bool = False
) -> Secret:
    """Check a key's shape and environment without calling anyone.

    Refused here is only what can never work: text that is not a key, or a key marked for the other environment.
    A key of the provider's family in a shape we do not know (a new marker, another length) is the provider's to
    judge when keys are verified with it; without verification nothing could confirm it, so it is refused.
    The returned :class:`Secret` is the trimmed key. Error messages never repeat the key; they name the
    destination's provider and its key rules, from the catalog.
    """
    key = (raw or "").strip()
    rules, provider = destination.key_rules, destination.provider_label
    if not key:
        raise InvalidInput("api_key", f"Paste the API key from the {provider} dashboard.")
    match = rules.pattern.match(key)
    if match:
        _same_environment(match.group("env"), destination, destination_fixed)
        return Secret(key)
    if rules.legacy_pattern is not None and rules.legacy_pattern.match(key):
        if not live_verification:
            raise InvalidInput(
                "api_key",
                f"This looks like a legacy {provider} key, which says nothing about its environment. It can only be "
                f"accepted when keys are verified with {provider} (CREDBOT_VERIFY_KEYS); ask an operator, or "
                f"create a new key in {provider}.",
            )
        return Secret(key)
    family = rules.family_pattern.match(key) if rules.family_pattern is not None else None
    if family:
        _same_environment(family.group("env"), destination, destination_fixed)
        if not live_verification:
            length = f"they have {rules.length} characters; " if rules.length else ""
            raise InvalidInput(
                "api_key",
                f"This key is not shaped like the {provider} keys Credbot knows ({length}this one has "
                f"{len(key)}), and keys are not verified with {provider} here (CREDBOT_VERIFY_KEYS), so it cannot "
                "be confirmed. Copy the whole key again, or ask an operator to turn verification on.",
            )
        return Secret(key)
    if rules.prefix and key.startswith(rules.prefix):
        problem = (
            f"it is longer than any {provider} key"
            if len(key) > KEY_MAX
            else f"it has characters {provider} keys never contain (spaces, quotes or other symbols)"
        )
        raise InvalidInput(
            "api_key",
            f"This is not {_a(provider)} API key as {provider} issues them: {problem}. Copy the whole key again.",
        )
    shape = f"; they {rules.shape}" if rules.shape else ""
    raise InvalidInput("api_key", f"This does not look like {_a(provider)} API key{shape} ({rules.where_to_get}).")


def _a(word: str) -> str:
    """The article before a provider's name: "a Paddle key", "an Acme Pay key"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _same_environment(marker: str, destination: catalog.Destination, destination_fixed: bool) -> None:
    """Refuse a key whose marker names another destination's environment; an unknown marker is the provider's."""
    rules, provider = destination.key_rules, destination.provider
    owner = catalog.destination_for_marker(marker, provider)
    if marker == rules.environment_marker or owner is None:
        return
    # In the wizard the destination can still change; when replacing a key it cannot.
    suggestion = f" Go Back and choose “{owner.label}”, or paste a key" if not destination_fixed else " Paste a key"
    raise InvalidInput(
        "api_key",
        f"This key belongs to {catalog.environment_name(marker, provider)}, but the destination is "
        f"“{destination.label}”.{suggestion} from {catalog.environment_name(rules.environment_marker, provider)}.",
    )
