"""Kept-alive HTTP(S) connections, a few per host, shared by the threads of a process.

A pool written here on http.client rather than urllib3's PoolManager: measured, urllib3 costs about 0.3 ms more
CPU per request on this path, 5 % of the server's CPU per wizard for the Paddle calls alone and about 12 % with
the Slack calls (docs/decisions/library-internals.md). CREDBOT_LIBRARY_SHORTCUTS=false uses urllib3 instead
(bot/infra/urllib3_pool.py): ``SHARED.choose``.

slack-sdk's WebClient and urllib open a new TCP (and in production TLS) connection for every call; a wizard
makes about ten Slack calls and two Paddle calls. Here idle connections wait in a small per-host stack and the
next call reuses one. A reused connection the server has closed meanwhile fails before any answer arrives;
that call is sent once more on a new connection (every caller sends requests that are safe to repeat: Paddle
GETs, and Slack calls that had no answer at all). Redirects are never followed: http.client does not.

A socket timeout bounds each read, not a request: a server that sends a byte every few seconds keeps it going.
A caller that needs the whole request bounded passes a ``deadline``; a watchdog then shuts the socket at that
moment, whatever the request is waiting for (headers or body), and the request raises TimeoutError.
"""

from __future__ import annotations

import email.message
import functools
import http.client
import socket
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

MAX_IDLE_PER_HOST = 8
_STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError)


class ConnectionPool:
    def __init__(self, max_idle_per_host: int = MAX_IDLE_PER_HOST) -> None:
        self.max_idle = max_idle_per_host
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        max_body: int | None = None,
        deadline: float | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """(status, headers, body) of one request; raises OSError (timeouts included) when there is no answer.
        ``deadline`` (a time.monotonic() value) bounds the whole request, connect to last byte."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        for attempt in (1, 2):
            # The retry takes a new connection: the others kept from the same burst went stale together.
            connection, reused = self._take(key, _budget(timeout, deadline), fresh=attempt == 2)
            watchdog = _Watchdog(connection, deadline) if deadline is not None else None
            try:
                if watchdog is not None:
                    watchdog.start()
                connection.request(method, target, body=body, headers=dict(headers or {}))
                response = connection.getresponse()
                data = response.read() if max_body is None else response.read(max_body)
            except _STALE as error:
                connection.close()
                if watchdog is not None and watchdog.stop():
                    raise TimeoutError("no whole answer before the deadline") from error
                if reused and attempt == 1:
                    continue  # the server closed it while it was idle: once more, on a new connection
                raise
            except BaseException as error:
                connection.close()
                if watchdog is not None and watchdog.stop():
                    raise TimeoutError("no whole answer before the deadline") from error
                raise
            if watchdog is not None and watchdog.stop():  # the socket was shut mid-body: what was read is partial
                connection.close()
                raise TimeoutError("no whole answer before the deadline")
            if response.will_close or (max_body is not None and not response.isclosed()):
                connection.close()
            else:
                self._give_back(key, connection)
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    def _take(
        self, key: tuple[str, str, int], timeout: float, *, fresh: bool = False
    ) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = None if fresh else self._idle.get(key)
            if idle:
                connection = idle.pop()
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
                return connection, True
        scheme, host, port = key
        factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        return factory(host, port, timeout=timeout), False

    def _give_back(self, key: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            connections = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in connections:
            connection.close()


def _budget(timeout: float, deadline: float | None) -> float:
    """The socket timeout for the next step: ``timeout``, or less when the deadline is nearer."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed before the request started")
    return min(timeout, left)


class _Watchdog:
    """Shuts a connection's socket at a deadline, so that no read outlasts it. The connection is opened here
    first (its own timeout bounds that) so that there is a socket to shut."""

    def __init__(self, connection: http.client.HTTPConnection, deadline: float) -> None:
        self.connection, self.deadline = connection, deadline
        self._lock = threading.Lock()
        self._fired = self._stopped = False
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        if self.connection.sock is None:
            self.connection.connect()
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._fired = True
        sock = self.connection.sock
        if sock is not None:
            try:
                # The plain socket's shutdown, also for TLS: it wakes a blocked read without touching TLS state.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # closed meanwhile

    def stop(self) -> bool:
        """Disarm; True when the deadline passed first (the socket is shut, what was read is incomplete)."""
        with self._lock:
            self._stopped = True
            fired = self._fired
        if self._timer is not None:
            self._timer.cancel()
        return fired or time.monotonic() >= self.deadline


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer of its own, never followed: following would send a key to another address."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: email.message.Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


# urllib's path for an environment that names a proxy (the pool does not speak to one), redirects not followed.
PROXY_OPENER = urllib.request.build_opener(_NoRedirects())


def proxied(url: str) -> bool:
    """Whether the environment sends ``url`` through a proxy (HTTPS_PROXY and friends): the pool does not
    speak to proxies, so such calls keep urllib's own path."""
    parts = urlsplit(url)
    return _proxied(parts.scheme, parts.hostname or "")


@functools.lru_cache(maxsize=64)
def _proxied(scheme: str, host: str) -> bool:
    """Per scheme and host, once per process: urllib reads the whole environment on every call (about 40 µs,
    seven times a wizard), and the proxy settings of a running server do not change."""
    return scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host)


proxied.cache_clear = _proxied.cache_clear  # type: ignore[attr-defined]  # a function attribute, for tests that change the environment


class Pool(Protocol):
    """What callers use of a pool (this module's ConnectionPool, urllib3_pool.Urllib3Pool, SHARED)."""

    def request(self, method: str, url: str, **options: Any) -> tuple[int, Any, bytes]: ...

    def close(self) -> None: ...


class SharedPool:
    """The process's pool: this module's (the shortcut) or urllib3's, as the settings choose at start-up."""

    def __init__(self) -> None:
        self.pool: Any = ConnectionPool()

    def choose(self, shortcuts: bool) -> None:
        """This module's pool, or (``shortcuts`` off) urllib3's; connections kept by the other one are closed."""
        if isinstance(self.pool, ConnectionPool) == shortcuts:
            return
        from bot.infra.urllib3_pool import Urllib3Pool

        previous, self.pool = self.pool, ConnectionPool() if shortcuts else Urllib3Pool()
        previous.close()

    def request(self, method: str, url: str, **options: Any) -> tuple[int, Any, bytes]:
        return self.pool.request(method, url, **options)

    def close(self) -> None:
        self.pool.close()


SHARED = SharedPool()  # one per process: Slack and Paddle calls from every thread
