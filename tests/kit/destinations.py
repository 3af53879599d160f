"""A destination that exists only in a test: one catalog entry and its provider, registered at run time through
the catalog's and the provider registry's own functions, and removed after. Nothing else in the repository
names it: whatever shows or checks it must have read it from the catalog."""

from __future__ import annotations

import re
import secrets
import string
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from bot.credentials import catalog
from bot.credentials.types import KeyCheck, KeyRecord, Outcome
from bot.infra.secret import Secret
from bot.providers import registry

# Acme Pay's keys, as this test's provider issues them: acm_ + live|test + _ + 10-char id + _ + 20-char secret.
ACME_KEY = re.compile(r"^acm_(?P<env>live|test)_(?P<id>[a-z0-9]{10})_[A-Za-z0-9]{20}$")
ACME_FAMILY = re.compile(r"^(?=.{12,200}$)acm_(?P<env>[a-z]+)_[A-Za-z0-9_]+$")
ACME_SETTING = "ACME_PAY_API_URL"


@dataclass
class FakeAcmePay:
    """The test's provider: accepts the keys it issued, refuses any other; remembers every check it was asked
    (destination, base URL, record id), never a key."""

    issued: set[str] = field(default_factory=set)
    checks: list[tuple[str, str, str | None]] = field(default_factory=list)
    base_urls: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_key(self, environment: str = "live") -> str:
        alphabet = string.ascii_letters + string.digits
        key_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
        key = f"acm_{environment}_{key_id}_" + "".join(secrets.choice(alphabet) for _ in range(20))
        self.issued.add(key)
        return key

    def verifier(self, base_urls: Mapping[str, str], timeout: float) -> FakeAcmePay:
        self.base_urls = dict(base_urls)
        return self

    def check(self, destination: str, api_key: Secret, key_record_id: str | None) -> KeyCheck:
        with self.lock:
            self.checks.append((destination, self.base_urls[destination], key_record_id))
        if api_key.reveal() in self.issued:
            return KeyCheck(Outcome.ACCEPTED, "", "Acme Pay accepted the key.", KeyRecord("active", None))
        return KeyCheck(Outcome.REJECTED, "unknown_key", "Acme Pay does not know this key.")


def acme_destination() -> catalog.Destination:
    rules = catalog.KeyRules(
        ACME_KEY,
        "live",
        legacy_pattern=None,
        family_pattern=ACME_FAMILY,
        id_pattern=None,
        where_to_get="Acme Pay console > Settings > Keys",
        prefix="acm_",
        shape="start with acm_live_ and are 40 characters long",
        length=40,
        record_prefix="key_",
        log_patterns=(re.compile(r"acm_[a-z]+_[A-Za-z0-9_]+"),),
    )
    return catalog.Destination(
        value="acme_pay",
        label="Acme Pay",
        environment="live",
        description="Your Acme Pay account at api.acme-pay.test",
        base_url_setting=ACME_SETTING,
        sandbox=False,
        key_rules=rules,
        provider="acme_pay",
        provider_label="Acme Pay",
        default_base_url="https://api.acme-pay.test",
        account="a live Acme Pay account",
    )


@contextmanager
def registered_destination() -> Iterator[tuple[catalog.Destination, FakeAcmePay]]:
    """Acme Pay in the catalog, and its fake as its provider, for the ``with`` block only."""
    entry, provider = acme_destination(), FakeAcmePay()
    registry.register_provider(entry.provider, provider.verifier)
    catalog.register(entry)
    try:
        yield entry, provider
    finally:
        catalog.unregister(entry.value)
        registry.unregister_provider(entry.provider)
