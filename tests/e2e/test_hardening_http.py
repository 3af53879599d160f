"""The HTTP door under attack: signature before parsing, refusals logged as one rate-limited line, any nesting
answered 400 (security issue findings 1 and 3)."""

from __future__ import annotations

import time
import urllib.parse

import pytest


def form(payload: str) -> bytes:
    return b"payload=" + urllib.parse.quote(payload).encode()


def test_a_flood_of_unsigned_megabyte_bodies_writes_one_short_log_line(bot):
    before = len(bot.log())
    body = b"command=/list-credentials&text=" + b"A" * (1024 * 1024 - 40)
    for _ in range(20):
        assert bot.sender.post(body, "application/x-www-form-urlencoded", sign=False).status == 401
    time.sleep(0.3)
    written = bot.log()[before:]
    assert len(written) < 1_000, written[:2_000]
    assert written.count("refused a request that is not signed by Slack") == 1
    assert "AAAAAAAAAA" not in written


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b"[" * 100_000),
    ("application/json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("application/x-www-form-urlencoded", form("[" * 100_000)),
    ("application/x-www-form-urlencoded", form('{"type":' * 30_000 + '"x"' + "}" * 30_000)),
])
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_any_nesting_is_answered_4xx_never_500(bot, workspace, content_type, body, signed):
    before = len(bot.log())
    reply = bot.sender.post(body, content_type, sign=signed)
    assert reply.status == (400 if signed else 401), (reply.status, reply.text[:200])
    assert "Traceback" not in bot.log()[before:]
    assert workspace.command("/list-credentials").status == 200
