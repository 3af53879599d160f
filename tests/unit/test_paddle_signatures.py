"""The Paddle-Signature check against the vectors Paddle publishes with its Python SDK, verbatim
(tests/data/paddle/signature_vectors.json), and the parse of a verified notification."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from bot.credentials.key_events import EXPOSED
from bot.providers import paddle_notifications as paddle

DATA = Path(__file__).resolve().parents[1] / "data" / "paddle"
VECTORS = json.loads((DATA / "signature_vectors.json").read_text())


def ts_of(header: str) -> int:
    return int(header.split(";")[0].removeprefix("ts="))


@pytest.mark.parametrize("vector", VECTORS["payload_vectors"], ids=lambda v: v["name"])
def test_the_sdk_payload_vectors_verify(vector):
    body = (DATA / vector["payload_file"]).read_text(encoding="utf-8")
    body = body.strip() if vector["strip"] else body
    now = ts_of(vector["header"])
    assert paddle.signed_by(vector["header"], body.encode(), vector["secret"], now, 5) is True
    assert paddle.signed_by(vector["header"], body.encode() + b" ", vector["secret"], now, 5) is False
    assert paddle.signed_by(vector["header"], body.encode(), vector["secret"] + "x", now, 5) is False


def test_the_sdk_vector_with_a_dummy_h1_first_passes_only_with_its_secret():
    vector = VECTORS["several_secrets_vector"]
    body, header, now = vector["body"].encode(), vector["header"], ts_of(vector["header"])
    assert paddle.signed_by(header, body, vector["secret_passing"], now, 5) is True
    for secret in vector["secrets_failing"]:
        assert paddle.signed_by(header, body, secret, now, 5) is False
    # Among several configured secrets, the one that signed it is found (the SDK's "one of these secrets").
    secrets = [("live", vector["secrets_failing"][0]), ("sandbox", vector["secret_passing"])]
    assert paddle.verified_environment(header, body, secrets, now, 5) == "sandbox"


def sign(body: bytes, secret: str, ts: int) -> str:
    return f"ts={ts};h1=" + hmac.new(secret.encode(), f"{ts}:".encode() + body, hashlib.sha256).hexdigest()


def test_a_stale_or_future_signature_is_refused_at_the_tolerance():
    body, secret = b'{"a":1}', "pdl_ntfset_x"
    header = sign(body, secret, 1_000)
    assert paddle.signed_by(header, body, secret, 1_005, 5) is True
    assert paddle.signed_by(header, body, secret, 1_006, 5) is None
    assert paddle.signed_by(header, body, secret, 994, 5) is None


@pytest.mark.parametrize(
    "header",
    [
        "",
        "ts=1000",
        "h1=" + "a" * 64,
        "ts=abc;h1=" + "a" * 64,
        "ts=1000;ts=1000;h1=" + "a" * 64,
        "ts=１０００;h1=" + "a" * 64,  # full-width digits
        "ts=1000;h1=zz",
        "ts=1000;garbage",
        "ts=1000;h1=" + "a" * 64 + ";" + "x" * 3000,
        "ts=" + "9" * 40 + ";h1=" + "a" * 64,
        "ts=1000;h1=" + "é" * 64,
    ],
)
def test_a_header_not_shaped_as_paddles_is_refused_without_an_hmac(header):
    assert paddle.signature_parts(header) is None
    assert paddle.signed_by(header, b"{}", "secret", 1000, 5) is None


def test_the_same_secret_for_both_environments_verifies_neither():
    body, secret = b"{}", "pdl_ntfset_same"
    header = sign(body, secret, 1000)
    assert paddle.verified_environment(header, body, [("live", secret), ("sandbox", secret)], 1000, 5) is None


def notification(event_type: str, data: object, **extra: object) -> bytes:
    body = {
        "event_id": "evt_01hv8x2acma7dxjbtc7ed2kn0c",
        "event_type": event_type,
        "occurred_at": "2025-06-24T12:58:38.746382Z",
        "notification_id": "ntf_01hv8x2af4ph7xkcyk3hjnc2bs",
        "data": data,
        **extra,
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "name", ["api_key.created", "api_key.updated", "api_key.expiring", "api_key.expired", "api_key.revoked"]
)
def test_each_api_key_fixture_parses(name):
    data = json.loads((DATA / f"{name}.json").read_text())
    event = paddle.parse(notification(name, data))
    assert event.key_record_id == data["id"] == "apikey_01jkdpbhazdpn3wpcya45as9tg"
    assert event.status == data["status"] and event.expires_at is not None
    assert event.permissions == tuple(data["permissions"])


def test_the_exposure_fixture_parses_with_its_source_and_reference():
    data = json.loads((DATA / "api_key_exposure.created.json").read_text())
    event = paddle.parse(notification(EXPOSED, data))
    assert event.key_record_id == data["api_key_id"]
    assert event.exposure is not None and event.exposure.source == "github"
    assert event.exposure.reference == data["reference"] and event.exposure.action_taken == "revoked"


def test_an_unknown_event_type_parses_without_a_key():
    event = paddle.parse((DATA / "standard_payload.json").read_text().strip().encode())
    assert event.event_type == "customer.created" and event.key_record_id is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        b"[" * 100_000,
        notification("api_key.revoked", {"id": "apikey_x"}, notification_id="nope"),
        notification("api_key.revoked", {"id": "apikey_x"}, occurred_at="yesterday"),
        notification("<script>", {"id": "apikey_x"}),
        notification("api_key.revoked", "not an object"),
        notification("api_key.revoked", {"id": "pdl_live_apikey_01jkdpbhaz"}),
        notification(EXPOSED, {"id": "apkexp_01"}),
    ],
)
def test_a_body_that_is_not_a_notification_is_unreadable(body):
    with pytest.raises(paddle.Unreadable):
        paddle.parse(body)
