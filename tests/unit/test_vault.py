"""The encryption module on its own."""

from __future__ import annotations

import base64
import os

import pytest

from bot.infra.setting_checks import parse_encryption_keys
from bot.credentials.vault import KeyRing, Sealed, VaultError, associated_data, generate_key
from bot.infra.secret import Secret

AAD = associated_data(credential_id="c1", enterprise_id="", team_id="T1", destination="paddle", entity_type="bill")


def ring(*specs: str) -> KeyRing:
    keys, problems = parse_encryption_keys(",".join(specs))
    assert not problems
    return KeyRing(keys)


def test_round_trip_and_fresh_nonce_each_time():
    keys = ring(generate_key("a"))
    first, second = keys.encrypt(Secret("pdl_secret"), AAD), keys.encrypt(Secret("pdl_secret"), AAD)
    assert first.key_id == "a" and first.blob != second.blob
    assert first.blob[1:13] != second.blob[1:13]
    assert b"pdl_secret" not in first.blob
    assert keys.decrypt(first, AAD).reveal() == "pdl_secret"


def test_ciphertext_moved_to_another_row_does_not_decrypt():
    keys = ring(generate_key("a"))
    sealed = keys.encrypt(Secret("k"), AAD)
    other_row = associated_data(
        credential_id="c2", enterprise_id="", team_id="T1", destination="paddle", entity_type="bill"
    )
    with pytest.raises(VaultError, match="moved from another credential"):
        keys.decrypt(sealed, other_row)


@pytest.mark.parametrize("position", [0, 1, 12, 13, -1])
def test_any_tampered_byte_fails_with_the_vault_error(position):
    keys = ring(generate_key("a"))
    sealed = keys.encrypt(Secret("k" * 69), AAD)
    blob = bytearray(sealed.blob)
    blob[position] ^= 0x01
    with pytest.raises(VaultError):
        keys.decrypt(Sealed("a", bytes(blob)), AAD)


def test_truncated_ciphertext_fails_cleanly():
    keys = ring(generate_key("a"))
    with pytest.raises(VaultError, match="malformed"):
        keys.decrypt(Sealed("a", b"\x01short"), AAD)


def test_missing_key_id_is_named():
    sealed = ring(generate_key("old")).encrypt(Secret("k"), AAD)
    with pytest.raises(VaultError, match="'old' is not configured"):
        ring(generate_key("new")).decrypt(sealed, AAD)


def test_wrong_key_under_the_same_id_is_named_not_garbage():
    sealed = ring(generate_key("same")).encrypt(Secret("k"), AAD)
    with pytest.raises(VaultError, match="does not decrypt with key 'same'"):
        ring(generate_key("same")).decrypt(sealed, AAD)


def test_first_key_encrypts_all_decrypt_and_rewrap_moves_to_primary():
    old, new = generate_key("old"), generate_key("new")
    sealed = ring(old).encrypt(Secret("k"), AAD)
    both = ring(new, old)
    assert both.decrypt(sealed, AAD).reveal() == "k"
    rewrapped = both.rewrap(sealed, AAD)
    assert rewrapped.key_id == "new"
    assert ring(new).decrypt(rewrapped, AAD).reveal() == "k"


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("nocolon", "not of the form keyid:base64key"),
        ("bad id!:" + base64.b64encode(os.urandom(32)).decode(), "key id must be"),
        ("a:" + base64.b64encode(os.urandom(16)).decode(), "must be 32 bytes"),
        ("a:%%%", "not valid base64"),
        (
            "a:" + base64.b64encode(os.urandom(32)).decode() + ",a:" + base64.b64encode(os.urandom(32)).decode(),
            "appears twice",
        ),
    ],
    ids=["no colon", "bad id", "short key", "not base64", "duplicate id"],
)
def test_key_list_problems_are_named_without_key_material(spec, problem):
    keys, problems = parse_encryption_keys(spec)
    assert any(problem in p for p in problems)
    material = spec.split(":", 1)[-1]
    assert all(material not in p for p in problems if len(material) > 8)


def test_urlsafe_base64_is_accepted():
    raw = os.urandom(32)
    keys, problems = parse_encryption_keys("u:" + base64.urlsafe_b64encode(raw).decode())
    assert not problems and base64.b64decode(keys[0].material.reveal()) == raw
