"""POST /paddle/notifications in-process: the door (bot.slack.server.paddle_door.PaddleDoor) on the bot's own
services, handed WSGI requests; its edges: sizes, methods, headers, bodies, environments."""

from __future__ import annotations

import io
import json

import pytest

from bot.slack.server.paddle_door import MAX_NOTIFICATION_BYTES, PaddleDoor
from tests.kit import NOTIFICATION_SECRET, SANDBOX_NOTIFICATION_SECRET, Workspace, core_service, seed
from tests.kit.fakes import make_key
from tests.kit.fakes.paddle import record_id
from tests.kit.fakes.paddle_notifications import entity, notification, signature


def call(door: PaddleDoor, body: bytes, header: str | None, method: str = "POST", length: int | None = None):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/paddle/notifications",
        "CONTENT_LENGTH": str(len(body) if length is None else length),
        "wsgi.input": io.BytesIO(body),
    }
    if header is not None:
        environ["HTTP_PADDLE_SIGNATURE"] = header
    seen: list[str] = []
    answer = b"".join(door(environ, lambda status, headers: seen.append(status)))
    return int(seen[0].split()[0]), json.loads(answer)


@pytest.fixture
def door(bot):
    return PaddleDoor(bot.services)


def test_a_body_over_the_cap_is_413_before_it_is_read(door):
    class Unread(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(MAX_NOTIFICATION_BYTES + 1), "wsgi.input": Unread()}
    seen: list[str] = []
    door(environ, lambda status, headers: seen.append(status))
    assert seen == ["413 Request Entity Too Large"]


@pytest.mark.parametrize("length", ["-1", "abc"])
def test_a_content_length_that_is_no_length_is_413(door, length):
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": length, "wsgi.input": io.BytesIO(b"")}
    seen: list[str] = []
    door(environ, lambda status, headers: seen.append(status))
    assert seen[0].startswith("413")


def test_only_post(door):
    assert call(door, b"", None, method="GET")[0] == 405


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe\x00", b"[" * 50_000, b'{"event_type": "api_key.revoked"}', b"[]"]
)
def test_a_signed_body_that_is_no_notification_is_400_and_records_nothing(door, bot, body):
    status, answer = call(door, body, signature(body, NOTIFICATION_SECRET))
    assert status == 400 and "error" in answer
    assert bot.sql("SELECT count(*) FROM provider_notifications")[0][0] == 0


@pytest.mark.parametrize(
    "header", ["", "garbage", "ts=;h1=", "h1=" + "a" * 64, "ts=1;h1=" + "a" * 64, "ts=99999999999999;h1=x"]
)
def test_a_malformed_or_stale_header_is_401(door, header):
    body = notification("api_key.revoked", entity("api_key.revoked", record_id(make_key("live"))))
    assert call(door, body, header) == (401, {"error": "invalid signature"})


def test_the_sandbox_secret_reaches_only_sandbox_credentials(door, bot, slack):
    workspace = Workspace(bot, slack)
    key = make_key("sdbx")
    sandbox = seed(core_service(bot), workspace, "Sandbox", destination="paddle_sandbox", key=key)
    body = notification("api_key.revoked", entity("api_key.revoked", record_id(key)))
    # The live secret verifies it as a live notification: no live credential holds the key.
    assert call(door, body, signature(body, NOTIFICATION_SECRET))[1]["outcome"] == "not_held"
    again = notification("api_key.revoked", entity("api_key.revoked", record_id(key)))
    assert call(door, again, signature(again, SANDBOX_NOTIFICATION_SECRET))[1]["outcome"] == "applied"
    bot.settle()
    assert bot.sql("SELECT key_status FROM credentials WHERE id = :i", i=sandbox.id) == [("revoked",)]


def test_keys_stored_before_the_record_id_column_are_filled_in_and_then_matched(door, bot, slack):
    from bot.credentials.service import fill_key_record_ids

    key = make_key("live")
    stored = seed(core_service(bot), Workspace(bot, slack), "Old", key=key)
    bot.sql("UPDATE credentials SET key_record_id = NULL WHERE id = :i", i=stored.id)
    body = notification("api_key.revoked", entity("api_key.revoked", record_id(key)))
    assert call(door, body, signature(body, NOTIFICATION_SECRET))[1]["outcome"] == "not_held"
    assert fill_key_record_ids(core_service(bot)) == 1
    assert bot.sql("SELECT key_record_id FROM credentials WHERE id = :i", i=stored.id) == [(record_id(key),)]
    again = notification("api_key.revoked", entity("api_key.revoked", record_id(key)))
    assert call(door, again, signature(again, NOTIFICATION_SECRET))[1]["outcome"] == "applied"
    bot.settle()


def test_ids_older_than_kept_are_pruned_by_the_next_notification(door, bot):
    from datetime import datetime, timedelta, UTC

    old = datetime.now(UTC) - timedelta(days=31)
    bot.sql(
        "INSERT INTO provider_notifications (notification_id, provider, environment, event_type, received_at, outcome)"
        " VALUES ('ntf_01old', 'paddle', 'live', 'api_key.updated', :at, 'applied')",
        at=old.replace(tzinfo=None) if bot.database_kind == "sqlite" else old,
    )
    body = notification("customer.created", {"id": "ctm_01"})
    assert call(door, body, signature(body, NOTIFICATION_SECRET))[0] == 200
    kept = [row[0] for row in bot.sql("SELECT notification_id FROM provider_notifications")]
    assert kept == [json.loads(body)["notification_id"]]
