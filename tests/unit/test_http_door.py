"""The HTTP door parses a Slack body once and hands that parse to Bolt (bot.slack.server.http_door.ParsedRequest): the
request Bolt gets must be the one it would have built from the text itself, and every refusal must stay a 4xx."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest

from bot.slack.server.http_door import ParsedRequest, read_slack_body

FORM = "application/x-www-form-urlencoded"
VIEW_SUBMISSION = {
    "type": "view_submission",
    "team": {"id": "T1", "domain": "x"},
    "user": {"id": "U1", "team_id": "T1"},
    "api_app_id": "A1",
    "is_enterprise_install": False,
    "enterprise": None,
    "trigger_id": "1.2.3",
    "view": {
        "id": "V1",
        "callback_id": "credential_wizard:name",
        "private_metadata": '{"s":1}',
        "state": {"values": {"name": {"name_input": {"type": "plain_text_input", "value": "Ünïcode & co %20"}}}},
    },
}
BODIES = [
    (
        FORM,
        urlencode(
            {
                "command": "/list-credentials",
                "text": "a&b=c %",
                "team_id": "T1",
                "user_id": "U1",
                "trigger_id": "1.2",
                "channel_id": "C1",
                "response_url": "https://hooks/x",
            }
        ),
    ),
    (FORM, urlencode({"payload": json.dumps(VIEW_SUBMISSION)})),
    (
        FORM,
        urlencode(
            {
                "payload": json.dumps(
                    {
                        **VIEW_SUBMISSION,
                        "type": "block_actions",
                        "actions": [{"action_id": "list_page_next", "value": "{}"}],
                    }
                )
            }
        ),
    ),
    (
        "application/json",
        json.dumps(
            {
                "type": "event_callback",
                "team_id": "T1",
                "api_app_id": "A1",
                "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
            }
        ),
    ),
    ("application/json; charset=utf-8", json.dumps({"type": "url_verification", "challenge": "c"})),
]


def headers(content_type: str, raw: str) -> dict:
    return {
        "content-type": content_type,
        "content-length": str(len(raw.encode())),
        "x-slack-signature": "v0=ab",
        "x-slack-request-timestamp": "1700000000",
    }


@pytest.mark.parametrize("content_type, raw", BODIES)
def test_the_request_bolt_gets_is_the_one_it_would_build_from_the_text(content_type, raw):
    body, problem = read_slack_body(content_type, raw.encode())
    assert problem is None
    ours = ParsedRequest(raw_body=raw, body=body, query="a=1", headers=headers(content_type, raw))
    bolts = BoltRequest(body=raw, query="a=1", headers=headers(content_type, raw))
    for field in ("raw_body", "body", "query", "headers", "content_type", "mode", "lazy_only", "lazy_function_name"):
        assert getattr(ours, field) == getattr(bolts, field), field
    assert dict(ours.context) == dict(bolts.context)
    copy = ours.to_copyable()  # what a lazy listener gets: parsed anew from the raw body, in HTTP mode
    assert (copy.mode, copy.raw_body, copy.body) == ("http", raw, bolts.body)


def test_a_command_whose_text_says_payload_keeps_its_fields():
    """Bolt's own parse answers {} for any form body containing the word "payload" without a payload field, so
    `/list-credentials payload` matched no listener; the door's parse keeps the command."""
    raw = urlencode({"command": "/list-credentials", "text": "payload", "team_id": "T1", "user_id": "U1"})
    body, problem = read_slack_body(FORM, raw.encode())
    assert problem is None and body["command"] == "/list-credentials" and body["text"] == "payload"
    assert BoltRequest(body=raw, headers=headers(FORM, raw)).body == {}  # Bolt's quirk, which this avoids


def test_a_field_given_twice_is_checked_as_the_value_used():
    """The door checks the value the listeners get (the last, as Bolt's parse keeps): a valid first payload
    cannot carry a deeply nested second one past the check."""
    raw = urlencode([("payload", json.dumps(VIEW_SUBMISSION)), ("payload", "[" * 100_000)])
    assert read_slack_body(FORM, raw.encode()) == (None, (400, "the payload field is nested too deeply"))
    raw = urlencode([("payload", "[1]"), ("payload", json.dumps(VIEW_SUBMISSION))])
    assert read_slack_body(FORM, raw.encode())[0] == VIEW_SUBMISSION


@pytest.mark.parametrize(
    "content_type, raw, status, words",
    [
        (FORM, b"\xff\xfe", 400, "not UTF-8"),
        ("application/json", b"[" * 100_000, 400, "nested too deeply"),
        ("application/json", b"{nope", 400, "not JSON"),
        ("application/json", b"[1, 2]", 400, "not a JSON object"),
        ("text/plain", b"command=/x", 415, "application/x-www-form-urlencoded"),
        (FORM, b"payload=%7Bnope", 400, "payload field is not JSON"),
        (FORM, b"payload=%5B1%5D", 400, "payload field is not a JSON object"),
        (FORM, b"text=hello", 400, "neither a slash command nor an interaction"),
    ],
)
def test_what_cannot_be_a_slack_request_is_refused_with_a_reason(content_type, raw, status, words):
    body, problem = read_slack_body(content_type, raw)
    assert body is None and problem[0] == status and words in problem[1]


def test_bolts_request_constructor_the_door_builds_on_is_unchanged():
    """ParsedRequest (a shortcut: docs/decisions/library-internals.md) calls BoltRequest(body=dict, query,
    headers, mode="socket_mode") and then sets raw_body and mode: an upgrade that changes these fails here."""
    import inspect

    parameters = inspect.signature(BoltRequest.__init__).parameters
    assert list(parameters)[:6] == ["self", "body", "query", "headers", "context", "mode"]
    request = BoltRequest(body={"a": 1}, mode="socket_mode")
    assert (request.raw_body, request.mode) == ("", "socket_mode")


@pytest.mark.parametrize("content_type, raw", BODIES)
def test_only_the_bodies_bolt_would_lose_get_the_doors_parse(content_type, raw):
    from bot.slack.server.http_door import bolt_misreads

    assert not bolt_misreads(content_type, raw.encode())  # Bolt parses these itself
    quirky = urlencode({"command": "/list-credentials", "text": "payload", "team_id": "T1", "user_id": "U1"})
    assert bolt_misreads(FORM, quirky.encode())
    assert BoltRequest(body=quirky, headers=headers(FORM, quirky)).body == {}  # what it spares the command
