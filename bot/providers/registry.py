"""Providers by name: the catalog's entries name their provider, and this maps the name to a KeyVerifier.

A provider is one module, ``bot.providers.<name>``, with ``verifier(base_urls, timeout) -> KeyVerifier``
(``base_urls``: destination value -> base URL, for that provider's destinations). :func:`register_provider`
adds one from elsewhere (a plug-in, a test's fake). :class:`ByProvider` is the one KeyVerifier the core gets:
it hands each check to the verifier of the destination's provider, built on first use.

A provider that can rotate keys also has ``bot.providers.<name>_rotation`` with ``rotator(base_urls, timeout) ->
KeyRotator`` (a module of its own: it builds on the verifier's, which never imports it back). ``ByProvider`` is the
core's KeyRotator too; a destination whose provider has none answers "use Replace API key".
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping

from bot.credentials import catalog
from bot.credentials.ports import KeyRotator, KeyVerifier, NoRotation
from bot.credentials.types import KeyCheck, KeyRotation, Outcome
from bot.infra.secret import Secret

log = logging.getLogger(__name__)

VerifierFactory = Callable[[Mapping[str, str], float], KeyVerifier]
_REGISTERED: dict[str, VerifierFactory] = {}


def register_provider(name: str, factory: VerifierFactory) -> None:
    """Use ``factory`` for the destinations whose catalog entry names provider ``name``."""
    _REGISTERED[name] = factory


def unregister_provider(name: str) -> None:
    _REGISTERED.pop(name, None)


def factory(name: str) -> VerifierFactory:
    """The registered factory for ``name``, else ``bot.providers.<name>.verifier``; LookupError if neither."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if not name.isidentifier() or name == "registry":
        raise LookupError(f"no provider named {name!r}")
    try:
        module = importlib.import_module(f"{__package__}.{name}")
    except ModuleNotFoundError as missing:
        raise LookupError(f"no provider module bot.providers.{name}") from missing
    made = getattr(module, "verifier", None)
    if not callable(made):
        raise LookupError(f"bot.providers.{name} has no verifier(base_urls, timeout)")
    found: VerifierFactory = made  # a module attribute is Any to mypy; the provider contract says what it is
    return found


def rotator_factory(name: str) -> Callable[[Mapping[str, str], float], KeyRotator] | None:
    """``bot.providers.<name>_rotation.rotator``, or None when the provider has no way to rotate keys."""
    if name in _REGISTERED or not name.isidentifier() or name == "registry":
        return None  # a provider registered at run time brings a verifier only
    try:
        module = importlib.import_module(f"{__package__}.{name}_rotation")
    except ModuleNotFoundError:
        return None
    made = getattr(module, "rotator", None)
    return made if callable(made) else None


class ByProvider:
    """The core's KeyVerifier for every destination: one verifier per provider, built when first needed from
    the base URLs the settings resolved (``base_url``: destination value -> URL, or None)."""

    def __init__(self, base_url: Callable[[str], str | None], timeout: float) -> None:
        self.base_url, self.timeout = base_url, timeout
        self._verifiers: dict[str, KeyVerifier] = {}
        self._rotators: dict[str, KeyRotator] = {}
        self._lock = threading.Lock()

    def _urls(self, provider: str) -> dict[str, str]:
        urls = {d.value: self.base_url(d.value) for d in catalog.DESTINATIONS if d.provider == provider}
        return {value: url for value, url in urls.items() if url}

    def verifier(self, provider: str) -> KeyVerifier:
        with self._lock:
            if provider not in self._verifiers:
                self._verifiers[provider] = factory(provider)(self._urls(provider), self.timeout)
            return self._verifiers[provider]

    def rotator(self, provider: str) -> KeyRotator:
        with self._lock:
            if provider not in self._rotators:
                made = rotator_factory(provider)
                self._rotators[provider] = made(self._urls(provider), self.timeout) if made else NoRotation()
            return self._rotators[provider]

    def rotate(self, destination: str, api_key: Secret, key_record_id: str, grace_period_seconds: int) -> KeyRotation:
        entry = catalog.destination(destination)
        if entry is None or self.base_url(destination) is None:
            log.warning("no base URL for destination %s: restart to read its setting", destination)
            return KeyRotation(
                Outcome.UNAVAILABLE, "not_configured", "This destination is not set up here yet; tell an operator."
            )
        return self.rotator(entry.provider).rotate(destination, api_key, key_record_id, grace_period_seconds)

    def check(self, destination: str, api_key: Secret, key_record_id: str | None) -> KeyCheck:
        entry = catalog.destination(destination)
        if entry is None or self.base_url(destination) is None:
            # Registered after the settings were read: there is no base URL to send the key to.
            log.warning("no base URL for destination %s: restart to read its setting", destination)
            return KeyCheck(
                Outcome.UNAVAILABLE, "not_configured", "This destination is not set up here yet; tell an operator."
            )
        return self.verifier(entry.provider).check(destination, api_key, key_record_id)
