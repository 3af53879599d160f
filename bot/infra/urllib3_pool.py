"""Kept-alive HTTP(S) connections through urllib3's PoolManager: the supported way beside bot/infra/http_pool.py's
hand-made pool, used with CREDBOT_LIBRARY_SHORTCUTS=false (docs/decisions/library-internals.md).

urllib opens a new TCP (and in production TLS) connection for every call; urllib3 keeps a few idle connections
per host and hands the next call one of them (a connection the server closed while idle is noticed by urllib3 at
checkout and replaced). A call whose reused connection the server closed just before it was sent fails before
any answer arrives; that call is sent once more (callers send requests that are safe to repeat: Paddle GETs).
Redirects are never followed (``redirect=False``, no retries).

A socket timeout bounds each read, not a request: a server that sends a byte every few seconds keeps it going.
A caller that needs the whole request bounded passes a ``deadline``; a watchdog then shuts the socket at that
moment, whatever the request is waiting for (headers or body), and the request raises TimeoutError. It finds
the request's connection through urllib3's documented extension point, the pool's ``ConnectionCls``: a
connection class whose public ``request`` method first tells the watchdog of this thread which socket to watch.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

MAX_IDLE_PER_HOST = 8
_watched = threading.local()  # the _Watchdog of the request this thread is making, if it has a deadline


class Urllib3Pool:
    """The same ``request`` and ``close`` as bot.infra.http_pool.ConnectionPool, on urllib3."""

    def __init__(self, max_idle_per_host: int = MAX_IDLE_PER_HOST) -> None:
        self._manager = urllib3.PoolManager(maxsize=max_idle_per_host, block=False, retries=False)
        self._manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

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
    ) -> tuple[int, Any, bytes]:
        """(status, headers, body) of one request; raises OSError (TimeoutError for timeouts) when there is no
        answer. ``deadline`` (a time.monotonic() value) bounds the whole request, connect to last byte."""
        for attempt in (1, 2):
            watchdog = _Watchdog(deadline) if deadline is not None else None
            _watched.current = watchdog
            try:
                return self._once(method, url, body, dict(headers or {}), _budget(timeout, deadline), max_body)
            except ProtocolError as error:  # no answer at all: the connection was dropped under the request
                if watchdog is not None and watchdog.stop():
                    raise TimeoutError("no whole answer before the deadline") from error
                if attempt == 1:
                    continue
                raise _os_error(error) from error
            except (Urllib3Error, OSError) as error:
                if watchdog is not None and watchdog.stop():
                    raise TimeoutError("no whole answer before the deadline") from error
                raise _os_error(error) from error
            finally:
                _watched.current = None
                if watchdog is not None:
                    watchdog.stop()
        raise AssertionError("unreachable")

    def _once(
        self, method: str, url: str, body: bytes | None, headers: dict, timeout: float, max_body: int | None
    ) -> tuple[int, Any, bytes]:
        response = self._manager.urlopen(
            method,
            url,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        try:
            data = response.read() if max_body is None else response.read(max_body + 1)
            watchdog = getattr(_watched, "current", None)
            if watchdog is not None and watchdog.stop():  # the socket was shut mid-body: what was read is partial
                raise TimeoutError("no whole answer before the deadline")
        except BaseException:
            response.close()  # the connection is not given back half read
            response.release_conn()
            raise
        if max_body is not None and len(data) > max_body:
            data = data[:max_body]
            response.close()
        response.release_conn()
        return response.status, response.headers, data

    def close(self) -> None:
        self._manager.clear()


def _os_error(error: Exception) -> OSError:
    """What urllib3 raised, as the OSError callers handle: the socket's own error when there was one."""
    if isinstance(error, Urllib3Timeout):
        return TimeoutError(str(error))
    if isinstance(error, OSError):
        return error
    cause = error.__context__
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    return cause if cause is not None else ConnectionError(str(error))


def _budget(timeout: float, deadline: float | None) -> float:
    """The socket timeout for the next step: ``timeout``, or less when the deadline is nearer."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed before the request started")
    return min(timeout, left)


class _Watchdog:
    """Shuts a connection's socket at a deadline, so that no read outlasts it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._lock = threading.Lock()
        self._fired = self._stopped = False
        self._connection: HTTPConnection | None = None
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, connection: HTTPConnection) -> None:
        """The request is about to go out on ``connection``; it is connected first (its connect timeout bounds
        that), so that there is a socket to shut."""
        if connection.sock is None:
            connection.connect()
        with self._lock:
            self._connection = connection
            fired = self._fired
        if fired:
            self._shut()

    def _fire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._fired = True
        self._shut()

    def _shut(self) -> None:
        sock = self._connection.sock if self._connection is not None else None
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
        self._timer.cancel()
        return fired or time.monotonic() >= self.deadline


class _Watched:
    """urllib3's connection, telling this thread's watchdog (if any) which connection a request goes out on."""

    def request(self, method: str, url: str, body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        watchdog = getattr(_watched, "current", None)
        if watchdog is not None:
            watchdog.watch(self)  # mixed into urllib3's connection classes only
        super().request(method, url, body=body, headers=headers, **kwargs)  # type: ignore[misc]  # the mixin's super is urllib3's


class _WatchedHTTP(_Watched, HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS
