"""Slow clients, as an attacker runs them: many connections that each send one byte every few seconds.

``Trickle`` holds its connections in one thread with non-blocking sockets and a selector. A connection either
trickles its request's header block from the first byte (``headers``) or sends a complete header block with a
Content-Length at once and then trickles the body (``body``). When the server closes one (its answer, if any, is
kept), the trickle opens another of the same kind at once, so the pressure holds for as long as it runs.
"""

from __future__ import annotations

import resource
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

HEADERS = (
    b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"X-Slack-Request-Timestamp: 1700000000\r\nContent-Length: 4000\r\n\r\n"
)


def raise_open_files_limit(needed: int) -> None:
    """Let this process hold ``needed`` descriptors (the soft limit is often 1,024), up to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass
class Closed:
    """A connection the server closed: its kind, how long it had been open, what it sent, what came back."""

    kind: str
    lifetime: float
    sent: int
    answer: bytes


@dataclass
class _Conn:
    kind: str
    sock: socket.socket
    opened: float
    sent: int = 0
    answer: bytes = b""


@dataclass
class Trickle:
    """``headers`` + ``body`` connections to ``port`` on loopback, one more byte each every ``every`` seconds."""

    port: int
    headers: int
    body: int
    every: float = 2.0
    closed: list[Closed] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._open: dict[int, _Conn] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="trickle", daemon=True)
        self.failed: BaseException | None = None

    def __enter__(self) -> Trickle:
        raise_open_files_limit(2 * (self.headers + self.body) + 256)
        for kind, count in (("headers", self.headers), ("body", self.body)):
            for _ in range(count):
                self._connect(kind)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for conn in list(self._open.values()):
            self._selector.unregister(conn.sock)
            conn.sock.close()
        self._open.clear()
        self._selector.close()

    def server_closed(self) -> list[Closed]:
        with self._lock:
            return list(self.closed)

    def _connect(self, kind: str) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.setblocking(False)
        conn = _Conn(kind, sock, time.monotonic())
        first = HEADERS if kind == "body" else HEADERS[:1]
        conn.sent = sock.send(first)
        self._open[sock.fileno()] = conn
        self._selector.register(sock, selectors.EVENT_READ, conn)

    def _run(self) -> None:
        try:
            next_byte = time.monotonic() + self.every
            while not self._stop.is_set():
                for key, _ in self._selector.select(timeout=max(0.0, min(0.2, next_byte - time.monotonic()))):
                    self._readable(key.data)
                if time.monotonic() >= next_byte:
                    next_byte += self.every
                    for conn in list(self._open.values()):
                        self._send_one(conn)
        except BaseException as error:  # the test reads it: a trickle that died would look like a server that held
            self.failed = error

    def _send_one(self, conn: _Conn) -> None:
        data = HEADERS if conn.kind == "headers" else HEADERS + b"a" * 4000
        try:
            conn.sent += conn.sock.send(data[conn.sent : conn.sent + 1])
        except BlockingIOError:
            pass
        except OSError:  # reset or broken pipe: the server closed it
            self._server_closed(conn)

    def _readable(self, conn: _Conn) -> None:
        """The server answered or closed: none of these requests can be complete, so either ends it."""
        try:
            conn.answer = conn.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            pass
        self._server_closed(conn)

    def _server_closed(self, conn: _Conn) -> None:
        if self._open.pop(conn.sock.fileno(), None) is None:
            return
        with self._lock:
            self.closed.append(Closed(conn.kind, time.monotonic() - conn.opened, conn.sent, conn.answer))
        self._selector.unregister(conn.sock)
        conn.sock.close()
        if not self._stop.is_set():
            self._connect(conn.kind)
