"""Property tests for the encryption module: any key text round-trips; any change fails with VaultError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.infra.setting_checks import parse_encryption_keys
from bot.credentials.vault import KeyRing, Sealed, VaultError, associated_data, generate_key
from bot.infra.secret import Secret

KEYS, _ = parse_encryption_keys(",".join((generate_key("primary"), generate_key("older"))))
RING = KeyRing(KEYS)
OTHER_RING = KeyRing(parse_encryption_keys(generate_key("primary"))[0])  # same id, different material

texts = st.text(min_size=0, max_size=400)  # any Unicode, including empty, NULs and astral characters
ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
bindings = st.builds(
    lambda c, e, t, d, k: associated_data(credential_id=c, enterprise_id=e, team_id=t, destination=d, entity_type=k),
    ids,
    ids,
    ids,
    st.sampled_from(["paddle", "paddle_sandbox", "x"]),
    ids,
)
fast = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(texts, bindings)
def test_any_key_text_round_trips(text, aad):
    sealed = RING.encrypt(Secret(text), aad)
    assert sealed.key_id == "primary"
    assert RING.decrypt(sealed, aad).reveal() == text


@fast
@given(texts, bindings, st.data())
def test_any_changed_byte_fails_with_the_vault_error(text, aad, data):
    sealed = RING.encrypt(Secret(text), aad)
    position = data.draw(st.integers(0, len(sealed.blob) - 1), label="position")  # version, nonce, ciphertext, tag
    flip = data.draw(st.integers(1, 255), label="xor")
    blob = bytearray(sealed.blob)
    blob[position] ^= flip
    with pytest.raises(VaultError):
        RING.decrypt(Sealed(sealed.key_id, bytes(blob)), aad)


@fast
@given(texts, bindings, st.integers(0, 200))
def test_any_truncation_or_extension_fails_with_the_vault_error(text, aad, cut):
    blob = RING.encrypt(Secret(text), aad).blob
    for changed in (blob[: max(0, len(blob) - 1 - cut)], blob + bytes(1 + cut % 7)):
        with pytest.raises(VaultError):
            RING.decrypt(Sealed("primary", changed), aad)


@fast
@given(texts, bindings, bindings)
def test_other_associated_data_fails_with_the_vault_error(text, aad, other):
    assume(aad != other)
    sealed = RING.encrypt(Secret(text), aad)
    with pytest.raises(VaultError, match="moved from another credential"):
        RING.decrypt(sealed, other)


@fast
@given(texts, bindings, st.sampled_from(["older", "missing", ""]))
def test_another_key_id_fails_with_the_vault_error(text, aad, key_id):
    sealed = RING.encrypt(Secret(text), aad)
    with pytest.raises(VaultError) as raised:
        RING.decrypt(Sealed(key_id, sealed.blob), aad)
    if len(text) >= 16:  # shorter texts can occur in the message by chance
        assert text not in str(raised.value)  # the error never echoes the secret
    with pytest.raises(VaultError):
        OTHER_RING.decrypt(sealed, aad)  # right id, wrong key material


@fast
@given(texts, bindings)
def test_rewrap_moves_to_the_primary_key_and_keeps_the_text(text, aad):
    old = KeyRing(tuple(reversed(KEYS))).encrypt(Secret(text), aad)  # under "older"
    assert old.key_id == "older"
    new = RING.rewrap(old, aad)
    assert new.key_id == "primary" and RING.decrypt(new, aad).reveal() == text
