"""The offline key check against Paddle's own documented examples, verbatim, and over Paddle's whole URL-safe
alphabet: every key Paddle issues passes, only what can never work is refused."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.credentials import catalog
from bot.credentials.errors import InvalidInput
from bot.credentials.validation import check_api_key
from bot.infra.logs import Redactor
from tests.kit.fakes.paddle import DOCUMENTED_KEYS, SHAPES, URL_SAFE, make_key

LIVE, SANDBOX = catalog.destination("paddle"), catalog.destination("paddle_sandbox")
BY_MARKER = {"live": LIVE, "sdbx": SANDBOX}
OTHER = {"live": SANDBOX, "sdbx": LIVE}

ids = st.text(string.ascii_lowercase + string.digits, min_size=26, max_size=26)
secrets = st.text(URL_SAFE, min_size=26, max_size=26)
markers = st.sampled_from(["live", "sdbx"])


@pytest.mark.parametrize("marker", ["live", "sdbx"])
@pytest.mark.parametrize("verified", [True, False])
def test_paddles_documented_example_keys_pass_verbatim(marker, verified):
    key = DOCUMENTED_KEYS[marker]
    assert check_api_key(key, BY_MARKER[marker], live_verification=verified).reveal() == key
    assert catalog.key_record_id(BY_MARKER[marker], key) == "apikey_01gtgztp8f4kek3yd4g1wrksa3"
    with pytest.raises(InvalidInput, match="belongs to"):  # the other environment's marker can never work
        check_api_key(key, OTHER[marker], live_verification=verified)


@settings(max_examples=300, deadline=None)
@given(markers, ids, secrets, st.booleans())
def test_every_key_over_paddles_alphabet_passes_and_shows_its_id(marker, key_id, secret, verified):
    key = f"pdl_{marker}_apikey_{key_id}_{secret}"
    assert check_api_key(key, BY_MARKER[marker], live_verification=verified).reveal() == key
    assert catalog.key_record_id(BY_MARKER[marker], key) == f"apikey_{key_id}"
    with pytest.raises(InvalidInput, match="belongs to") as refused:
        check_api_key(key, OTHER[marker], live_verification=verified)
    assert secret not in refused.value.message
    assert secret not in Redactor().redact(f"checking {key} now")  # the log's second net covers the whole alphabet


@settings(max_examples=200, deadline=None)
@given(markers, st.text(URL_SAFE, min_size=1, max_size=120))
def test_an_unfamiliar_shape_is_left_to_paddle_when_verifying_and_refused_when_not(marker, rest):
    key = f"pdl_{marker}_{rest}"
    if catalog.DESTINATIONS[0].key_rules.pattern.match(key) or len(key) < 16:
        return  # a familiar key (above), or too short to be any key
    assert check_api_key(key, BY_MARKER[marker], live_verification=True).reveal() == key
    with pytest.raises(InvalidInput, match="cannot be confirmed"):
        check_api_key(key, BY_MARKER[marker], live_verification=False)
    with pytest.raises(InvalidInput, match="belongs to"):
        check_api_key(key, OTHER[marker], live_verification=True)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80).filter(lambda t: re.search(r"[^A-Za-z0-9_-]", t.strip())))
def test_text_outside_the_alphabet_is_never_a_key(tail):
    key = DOCUMENTED_KEYS["live"][:40] + tail
    with pytest.raises(InvalidInput):
        check_api_key(key, LIVE, live_verification=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_fakes_make_keys_over_the_whole_alphabet(shape):
    keys = [make_key("live", f"seed{n}", shape) for n in range(40)]
    secrets_made = [key[43:] for key in keys]
    assert all(check_api_key(key, LIVE, live_verification=False) for key in keys)
    if shape in ("leading", "edges"):
        assert all(s[0] in "_-" for s in secrets_made)
    if shape in ("trailing", "edges"):
        assert all(s[-1] in "_-" for s in secrets_made)
    if shape == "inside":
        assert all(set(s[1:-1]) & set("_-") for s in secrets_made)
    if shape == "random":  # over 40 keys of 26 characters, both symbols turn up somewhere
        assert set("".join(secrets_made)) >= set("_-")
    assert make_key("live", "same", shape) == make_key("live", "same", shape)  # a seed makes it repeatable
