"""The read API's parts that need no server: its OpenAPI document against the OpenAPI 3.1 schema, the client
address behind trusted proxies, the per-token rate, and the token and lifetime shapes."""

from __future__ import annotations

import argparse
import ipaddress
import json
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bot.cli.token_commands import lifetime
from bot.credentials.access_token_rules import TOKEN_SHAPE, TokenRequestInvalid, checked_lifetime, parse_networks
from bot.slack.server.read_api import PerTokenRate, ReadAPI, metadata
from bot.slack.server.read_api_spec import OPENAPI

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "openapi-3.1.schema.2022-10-07.json").read_text())


def test_the_openapi_document_is_valid_openapi_3_1():
    Draft202012Validator(SCHEMA).validate(OPENAPI)
    broken = {**OPENAPI, "paths": {"v1/credentials": {}}}  # a path must start with /
    assert list(Draft202012Validator(SCHEMA).iter_errors(broken))


def test_the_documented_credential_fields_are_the_ones_sent():
    from datetime import UTC, datetime

    from bot.credentials.catalog import entity_type
    from bot.credentials.types import CredentialSummary

    item = CredentialSummary("id", "n", entity_type("bill"), "paddle", "Paddle", False, "U", datetime.now(UTC), "abcd")
    documented = set(OPENAPI["components"]["schemas"]["Credential"]["properties"])
    assert set(metadata(item, 1)) == documented


def reader(proxies: tuple[str, ...]) -> ReadAPI:
    api = ReadAPI.__new__(ReadAPI)  # only client_address, which needs nothing else
    api.proxies = tuple(ipaddress.ip_network(p) for p in proxies)
    return api


@pytest.mark.parametrize(
    "proxies, peer, forwarded, client",
    [
        ((), "203.0.113.9", "10.9.9.9", "203.0.113.9"),  # no trusted proxy: the header is anyone's to write
        (("10.0.0.0/8",), "198.51.100.7", "10.9.9.9", "198.51.100.7"),  # not from a trusted proxy
        (("10.0.0.0/8",), "10.0.0.2", "203.0.113.9", "203.0.113.9"),
        (("10.0.0.0/8",), "10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.5", "203.0.113.9"),  # nearest untrusted
        (("10.0.0.0/8",), "10.0.0.2", "", "10.0.0.2"),
        (("10.0.0.0/8",), "10.0.0.2", "not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_address_believes_x_forwarded_for_only_from_trusted_proxies(proxies, peer, forwarded, client):
    environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded}
    assert reader(proxies).client_address(environ) == client


def test_the_local_rate_counts_granted_reads_per_token_and_frees_up_after_a_minute():
    now = [1000.0]
    rate = PerTokenRate(2, lambda: now[0])
    assert [rate.wait("a"), rate.wait("a")] == [0, 0]  # asking counts nothing: only a granted read does
    rate.granted("a"), rate.granted("a"), rate.granted("b")
    assert (rate.wait("a"), rate.wait("b")) == (60, 0)
    now[0] += 59.5
    assert rate.wait("a") == 1
    now[0] += 0.5
    assert rate.wait("a") == 0


def test_tokens_are_256_bits_with_a_scannable_prefix():
    import secrets

    assert TOKEN_SHAPE.fullmatch("cbt_" + secrets.token_urlsafe(32))
    for wrong in ("cbt_short", "CBT_" + "a" * 43, "cbt_" + "a" * 44, "cbt_" + "a" * 42 + "!"):
        assert not TOKEN_SHAPE.fullmatch(wrong)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90d", timedelta(days=90)),
        ("15m", timedelta(minutes=15)),
        ("1s", timedelta(seconds=1)),
        ("12h", timedelta(hours=12)),
    ],
)
def test_lifetimes_take_a_number_and_a_unit(text, expected):
    assert lifetime(text) == expected


@pytest.mark.parametrize("text", ["90", "d", "0d", "-1d", "1.5d", "1w", "9" * 12 + "d"])
def test_other_lifetimes_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        lifetime(text)


def test_a_lifetime_past_a_year_or_a_bad_network_is_refused_by_the_core():
    with pytest.raises(TokenRequestInvalid):
        checked_lifetime(timedelta(days=366))
    assert parse_networks(["10.1.2.3/8", "::1"]) == ("10.0.0.0/8", "::1/128")
    with pytest.raises(TokenRequestInvalid, match="not an address or a CIDR"):
        parse_networks(["10.0.0.0/33"])


def test_access_tokens_are_masked_in_logs_and_refused_as_names():
    from bot.credentials.key_shapes import key_shaped
    from bot.infra.logs import MASK, REDACTOR

    token = "cbt_" + "Ab3_-x" * 7 + "Z"
    assert REDACTOR.redact(f"oops {token} and {token[:20]}") == f"oops {MASK} and {MASK}"  # even cut short
    assert key_shaped(f"billing {token}") and not key_shaped("cbt_ad")


@pytest.mark.parametrize("body", [b'{"not": "the read API"}', b"[1, 2]", b'{"credentials": [{"id": "x"}]}'])
def test_bot_api_says_in_one_line_when_what_answers_is_not_the_read_api(body):
    """Another server at CREDBOT_URL (or a proxy's page) answering 200: CredbotUnavailable, never a KeyError."""
    import http.server
    import threading

    from bot.api import ReadAPIClient
    from bot.runtime import CredbotUnavailable

    class Other(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Other)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ReadAPIClient(f"http://127.0.0.1:{server.server_port}", "cbt_" + "A" * 43)
        for call in (lambda: client.list(), lambda: client.get_api_key("00000000-0000-4000-8000-000000000000")):
            with pytest.raises(CredbotUnavailable, match="answered unexpectedly") as raised:
                call()
            assert raised.value.status == 200 and "cbt_" not in str(raised.value)
    finally:
        server.shutdown()
