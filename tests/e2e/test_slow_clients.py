"""Slow clients against the real server (security issue 21, finding 3): 500 connections trickling one byte every
2 s leave signed requests and /healthz answering within 1 s; each is closed at the read deadline and counted, and a
client that is slow but within the deadline is served."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

import pytest

from tests.kit import SIGNING_SECRET, SlackSender, Workspace, sign
from tests.kit.metrics import scrape, value
from tests.kit.trickle import Trickle
from tests.kit.waiting import settled

READ_DEADLINE = 5.0  # CREDBOT_HTTP_READ_TIMEOUT_SECONDS' default
PRESSURE_SECONDS = 9.5  # the first 500 are closed at ~5 s and replaced; the second 500 are not yet due at the end


def probe(workspace: Workspace, bot, until: threading.Event) -> list[tuple[str, float, int]]:
    """A signed command and GET /healthz, again and again until ``until``: (what, seconds, status) each; a request
    that got no answer within the 3 s hang guard is status 0."""
    seen = []
    while not until.is_set():
        for what in ("command", "healthz"):
            started = time.monotonic()
            try:
                if what == "command":
                    status = workspace.command("/list-credentials").status
                else:
                    with urllib.request.urlopen(bot.url + "/healthz", timeout=3) as response:
                        status = response.status
            except OSError:
                status = 0
            seen.append((what, time.monotonic() - started, status))
        until.wait(0.1)  # a steady probe, not a second flood
    return seen


def slow_but_legitimate(port: int, answers: list) -> None:
    """A signed command sent in four pieces a second apart (3 s in all, within the deadline)."""
    body = b"command=/list-credentials&text=&team_id=T0SLOW&user_id=U0SLOW&trigger_id=1.2.3"
    headers = "".join(f"{name}: {text}\r\n" for name, text in sign(SIGNING_SECRET, body).items())
    request = (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    pieces = [request[i * len(request) // 4 : (i + 1) * len(request) // 4] for i in range(4)]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        for n, piece in enumerate(pieces):
            if n:
                time.sleep(1.0)  # the slowness under test, not an ordering
            sock.sendall(piece)
        sent = time.monotonic() - started
        answer = sock.recv(200)
    answers.append((sent, answer))


@pytest.mark.one_database
def test_trickling_connections_are_closed_at_the_deadline_while_signed_requests_answer_within_a_second(
    start_bot, slack
):
    bot = start_bot(CREDBOT_HTTP_WORKERS="2", CREDBOT_HTTP_THREADS="16")
    bot.sender = SlackSender(bot.url, SIGNING_SECRET, timeout=3)
    workspace = Workspace(bot, slack)
    before = len(bot.log())
    done, slow_answers = threading.Event(), []
    with Trickle(bot.port, headers=250, body=250) as trickle:
        slow = threading.Thread(target=slow_but_legitimate, args=(bot.port, slow_answers))
        slow.start()
        timer = threading.Timer(PRESSURE_SECONDS, done.set)
        timer.start()
        seen = probe(workspace, bot, done)
        slow.join(timeout=10)
        closed = trickle.server_closed()
    assert trickle.failed is None, trickle.failed

    worst = {what: max(seconds for kind, seconds, _ in seen if kind == what) for what in ("command", "healthz")}
    figures = (
        f"{len(seen)} probes, slowest command {worst['command']:.2f} s, slowest /healthz {worst['healthz']:.2f} s, "
        f"{sum(1 for *_, status in seen if status != 200)} without a 200; {len(closed)} trickling connections "
        f"closed by the server"
    )
    assert all(status == 200 for *_, status in seen), figures
    assert max(worst.values()) < 1.0, figures

    # every one of the first 500 was closed at the deadline (not before it), with a 408, whichever part it was in
    assert len(closed) >= 500, figures
    assert all(READ_DEADLINE - 0.1 <= c.lifetime <= READ_DEADLINE + 3.0 for c in closed), sorted(
        round(c.lifetime, 2) for c in closed
    )
    assert all(c.answer.startswith(b"HTTP/1.1 408 ") for c in closed), {c.answer[:40] for c in closed}
    # ... and counted, by the part of the request it had not finished (the ones still open at the end were closed
    # by the trickle, and are not)
    expected = {stage: sum(1 for c in closed if c.kind == stage) for stage in ("headers", "body")}

    def counted(samples) -> dict[str, float]:
        return {stage: value(samples, "credbot_http_slow_clients_total", stage=stage) for stage in expected}

    samples = settled(lambda: scrape(bot.url + "/metrics"), lambda s: counted(s) == expected)
    assert counted(samples) == expected
    written = bot.log()[before:]
    lines = [line for line in written.splitlines() if "closed a connection that did not send its request" in line]
    assert 1 <= len(lines) <= 4, lines  # one line per worker and ten seconds at most

    assert slow_answers and slow_answers[0][0] >= 2.9, slow_answers
    assert slow_answers[0][1].startswith(b"HTTP/1.1 200 "), slow_answers
