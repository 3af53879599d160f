"""gunicorn's threaded worker, reading each request whole in its event loop before a thread takes it.

gunicorn 27's gthread worker hands a connection to a thread as soon as its first byte is in, and the thread then
blocks reading the header block and the body with no deadline: 2 workers x 16 threads were stopped by 32 clients
sending a byte every 2 s (docs/decisions/slow-clients.md). Here the worker's own selector loop reads the header
block and the body (up to Content-Length) of every request, new or kept alive, without a thread; a request that
is not whole by the read deadline is answered 408 and closed, counted in ``credbot_http_slow_clients_total`` and
logged as one rate-limited line. A thread gets the connection only with the whole request in gunicorn's parser
buffer, so it never waits on the client.

It overrides two methods of ``gunicorn.workers.gthread.ThreadWorker`` and uses its parser's buffer:
``enqueue_req(conn)`` (where gunicorn hands every connection to the pool: after ``accept``, when a kept-alive
connection is readable, and for a pipelined request), ``murder_pending()`` (which gunicorn's loop calls at least
once a second) and ``Unreader.take_buffered()`` / ``unread()``. tests/unit/test_read_first.py pins all of them.
"""

from __future__ import annotations

import errno
import logging
import selectors
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from bot.infra import metrics
from bot.infra.logs import EveryFewSeconds

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024  # Slack's header blocks are ~1 KB; nginx's largest default is 4 x 8 KB
SMALL_BODY_BYTES = 64 * 1024  # always admitted; larger bodies share BODY_BUDGET_BYTES per worker
BODY_BUDGET_BYTES = 32 * 1024 * 1024
RECV_BYTES = 64 * 1024


@dataclass(frozen=True)
class Verdict:
    """What a worker does with what it has read of a request: wait for more, hand it to a thread, or answer."""

    whole: bool = False
    answer: int = 0  # a status to answer and close with (411, 413, 431)
    body: int = 0  # the declared body length, once the header block is in
    stage: str = "headers"  # the part still being read: headers or body
    expects_continue: bool = False


MORE = Verdict()


def framing(data: bytes | bytearray, max_body: int) -> Verdict:
    """Whether ``data`` holds one whole HTTP/1 request (header block, then Content-Length bytes of body).

    Only the framing is read here; gunicorn's parser reads the request itself and refuses what is malformed.
    A request whose length cannot be told (bad or conflicting Content-Length) is handed over at once for gunicorn
    to refuse, before it reads any body; a chunked one is answered 411 (Slack always sends a Content-Length)."""
    start = 0
    while data.startswith(b"\r\n", start):  # empty lines before a request are ignored (RFC 9112 2.2)
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        return Verdict(answer=431) if len(data) - start > MAX_HEAD_BYTES else MORE
    if end - start > MAX_HEAD_BYTES:
        return Verdict(answer=431)
    lengths, chunked, expects = set(), False, False
    for line in bytes(data[start:end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.lower()
        if name == b"content-length":
            lengths.add(value.strip())
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"expect":
            expects = value.strip().lower() == b"100-continue"
    if chunked:
        return Verdict(answer=411)
    if len(lengths) > 1 or not all(length.isdigit() and length.isascii() for length in lengths):
        return Verdict(whole=True)  # gunicorn answers 400 without reading a body
    body = int(lengths.pop()) if lengths else 0
    if body > max_body:
        return Verdict(answer=413, body=body)
    whole = len(data) >= end + 4 + body
    return Verdict(whole=whole, body=body, stage="body", expects_continue=expects and not whole)


ANSWERS = {
    408: b"408 Request Timeout",
    411: b"411 Length Required",
    413: b"413 Payload Too Large",
    431: b"431 Request Header Fields Too Large",
    503: b"503 Service Unavailable",  # too many large bodies being read at once (BODY_BUDGET_BYTES)
}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def answer(status: int) -> bytes:
    """The whole answer, closing the connection: a JSON error as the door's own refusals are."""
    body = b'{"error": "%s"}' % ANSWERS[status].split(b" ", 1)[1].lower()
    retry = b"Retry-After: 1\r\n" if status == 503 else b""
    return b"HTTP/1.1 %s\r\nConnection: close\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        ANSWERS[status],
        retry,
        len(body),
        body,
    )


@dataclass
class Reading:
    """A request being read: its bytes so far, its deadline, what it declared."""

    deadline: float
    data: bytearray = field(default_factory=bytearray)
    reserved: int = 0  # bytes of BODY_BUDGET_BYTES this request holds
    continued: bool = False

    @property
    def stage(self) -> str:
        """The part of the request not finished: idle (nothing sent), headers or body."""
        return framing(self.data, 1 << 62).stage if self.data else "idle"


class SlowClientLog:
    """The closed connections as one line per ``LOG_EVERY`` seconds at most (the door's refusals do the same)."""

    LOG_EVERY = 10.0

    def __init__(self, clock=time.monotonic) -> None:
        self.lines = EveryFewSeconds(self.LOG_EVERY, clock)

    def closed(self, stage: str, received: int, peer: Any, deadline: float) -> None:
        metrics.slow_client(stage)
        others = self.lines.due()
        if others is None:
            return
        where = peer[0] if isinstance(peer, tuple) and peer else "unknown address"
        log.warning(
            "closed a connection that did not send its request within %g s (%s unfinished; %d bytes; from %s)%s",
            deadline,
            stage,
            received,
            where,
            f"; {others} more closed since the last line" if others else "",
        )


class ReadFirstWorker(ThreadWorker):
    """A gthread worker whose threads only ever get whole requests. ``read_timeout`` and ``max_body`` are set by
    :func:`read_first_worker` (gunicorn builds the worker from its class)."""

    read_timeout = 5.0
    max_body = 1024 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[Any, Reading] = {}  # insertion order is deadline order: every deadline is now + timeout
        self.budget_used = 0
        self.slow_log = SlowClientLog()

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl or cfg.http2_cleartext != "off":  # their handshakes would block the loop; Credbot sets neither
            raise RuntimeError("the read-first worker serves plain HTTP/1 only (TLS ends at the proxy)")

    def enqueue_req(self, conn: Any) -> None:
        """Where gunicorn would hand ``conn`` to a thread: read its request first (whatever gunicorn has already
        buffered of it, a pipelined request, counts)."""
        buffered = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        reading = Reading(time.monotonic() + self.read_timeout, bytearray(buffered))
        conn.sock.setblocking(False)
        if self.settle(conn, reading, framing(reading.data, self.max_body)):
            return
        self.reading[conn] = reading
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.readable, conn))
        self.readable(conn, conn.sock)  # the bytes that came with the connect, or made it readable, if any

    def readable(self, conn: Any, _sock: Any) -> None:
        reading = self.reading.get(conn)
        if reading is None:
            return
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away (or reset it): nothing to answer
            self.finish(conn, reading)
            return
        reading.data += data
        self.settle(conn, reading, framing(reading.data, self.max_body))

    def settle(self, conn: Any, reading: Reading, verdict: Verdict) -> bool:
        """Act on ``verdict``; True when ``conn`` has left the reading stage (handed to a thread, or answered)."""
        if verdict.answer:
            self.finish(conn, reading, answer(verdict.answer))
            return True
        if verdict.body > SMALL_BODY_BYTES and not self.reserve(reading, verdict.body):
            self.finish(conn, reading, answer(503))
            return True
        if not verdict.whole:
            if verdict.expects_continue and not reading.continued:
                reading.continued = True
                _send(conn.sock, CONTINUE)
            return False
        self.stop_reading(conn, reading)
        if conn.parser is None:
            conn.init()  # plain HTTP/1 (check_config): this only builds gunicorn's parser
        conn.parser.unreader.unread(bytes(reading.data))
        super().enqueue_req(conn)
        return True

    def reserve(self, reading: Reading, body: int) -> bool:
        if reading.reserved:
            return True
        if self.budget_used + body > BODY_BUDGET_BYTES:
            return False
        reading.reserved, self.budget_used = body, self.budget_used + body
        return True

    def stop_reading(self, conn: Any, reading: Reading) -> None:
        if self.reading.pop(conn, None) is not None:
            self.poller.unregister(conn.sock)
        self.budget_used -= reading.reserved
        reading.reserved = 0

    def finish(self, conn: Any, reading: Reading, reply: bytes = b"") -> None:
        """Close ``conn`` from the reading stage, after ``reply`` if any."""
        self.stop_reading(conn, reading)
        if reply:
            _send(conn.sock, reply)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """gunicorn's sweep (once a second at least), then the requests whose read deadline has passed: answered
        408 (a connection that sent nothing is only closed), counted and logged."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading:
            conn, reading = next(iter(self.reading.items()))
            if reading.deadline > now:
                break
            # counted before the close: whoever sees the connection end can already read the count
            self.slow_log.closed(reading.stage, len(reading.data), conn.client, self.read_timeout)
            self.finish(conn, reading, answer(408) if reading.data else b"")


def _send(sock: Any, data: bytes) -> None:
    """Best effort, never blocking: a short answer fits the socket's buffer; a client that reads nothing loses it."""
    try:
        sock.send(data)
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
            log.debug("could not answer a connection being closed (%s)", type(error).__name__)


def read_first_worker(read_timeout: float, max_body: int) -> type[ReadFirstWorker]:
    """The worker class for gunicorn's ``worker_class`` setting, with this deadline and body limit."""
    return type("CredbotWorker", (ReadFirstWorker,), {"read_timeout": read_timeout, "max_body": max_body})
