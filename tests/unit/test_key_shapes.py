"""What counts as text shaped like a key (bot.credentials.key_shapes): every key shape the catalog and the log
redactor know, whole or embedded in other words; and not the names people give credentials."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.credentials.errors import InvalidInput
from bot.credentials.key_shapes import key_shaped
from bot.credentials.validation import KEY_SHAPED_NAME, validate_name
from bot.infra.logs import Redactor
from tests.kit.destinations import FakeAcmePay, registered_destination
from tests.kit.fakes.paddle import DOCUMENTED_KEYS, URL_SAFE, make_key, make_legacy_key

KEYS = {
    "documented live": DOCUMENTED_KEYS["live"],
    "documented sandbox": DOCUMENTED_KEYS["sdbx"],
    "fresh": make_key("live", "seed", "edges"),
    "legacy": make_legacy_key(),
    "legacy, mixed case": "Ab" * 25,
    "unfamiliar Paddle shape": "pdl_test_" + "x" * 30,
    "truncated": DOCUMENTED_KEYS["live"][:30],
    "Slack bot token": "xoxb-1234-5678-abcdefghij",
    "Slack app token": "xapp-1-A0123-4567-abcdef",
}
WRAPPERS = ["{}", "Billing {} prod", "({})", "`{}`", "name:{}", "{},", '"{}"', "key={}&x", "prod_{}", "{}-old", "→{}←"]
NAMES = [
    "Acme billing",
    "Paddle live — EU",
    "pdl billing",
    "pdl_live",  # a prefix alone is not a key
    "Billing API key (prod)",
    "0b5e9f0c-2f43-4a8e-9d7e-0e0f7f5b1c2a",
    "a" * 49,
    "a" * 51,  # longer than a legacy key: not one
    "Zahlungen 💳 👩‍💻",
    "مفتاح الدفع",
    "xoxb",
    "<!channel> alert",
]


@pytest.mark.parametrize("wrapper", WRAPPERS)
@pytest.mark.parametrize("kind", KEYS)
def test_every_known_shape_is_found_whole_or_embedded(kind, wrapper):
    assert key_shaped(wrapper.format(KEYS[kind]))


@pytest.mark.parametrize("name", NAMES)
def test_names_people_give_are_not_keys(name):
    assert not key_shaped(name)
    assert validate_name(name) == name.strip()


@pytest.mark.parametrize("kind", KEYS)
def test_the_name_check_refuses_without_repeating(kind):
    with pytest.raises(InvalidInput) as refused:
        validate_name(f"Billing {KEYS[kind]} prod")
    assert refused.value.message == KEY_SHAPED_NAME and KEYS[kind] not in refused.value.message


def test_a_key_in_full_width_letters_is_the_same_key():
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in DOCUMENTED_KEYS["live"])
    assert unicodedata.normalize("NFKC", wide) == DOCUMENTED_KEYS["live"]
    assert key_shaped(f"Billing {wide}")


def test_a_destination_registered_at_run_time_brings_its_keys():
    key = FakeAcmePay().new_key()
    assert not key_shaped(f"Acme {key}")  # nothing in the catalog knows Acme Pay yet
    with registered_destination():
        assert key_shaped(f"Acme {key}") and key_shaped(key[:24])
    assert not key_shaped(f"Acme {key}")


words = st.text(string.ascii_letters + string.digits + " .,:;()éü💳", max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["live", "sdbx"]), st.text(URL_SAFE, min_size=26, max_size=26), words, words)
def test_any_paddle_key_anywhere_in_a_name_is_found(marker, secret, before, after):
    key = f"pdl_{marker}_apikey_{'0' * 26}_{secret}"
    assert key_shaped(f"{before} {key} {after}")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_what_is_masked_in_a_log_line_is_never_a_name(text):
    """The log redactor's shapes are a subset of these: text it would mask is refused as a name, so a name that
    passes is never one the log had to hide."""
    if Redactor().redact(text) != text:
        assert key_shaped(text)
