"""Kept-alive HTTP(S) connections, a few per host, shared by the threads of a process.

slack-sdk's WebClient and urllib open a new TCP (and in production TLS) connection for every call; a wizard
makes about ten Slack calls and two Paddle calls. Here idle connections wait in a small per-host stack and the
next call reuses one. A reused connection the server has closed meanwhile fails before any answer arrives;
that call is sent once more on a new connection (every caller sends requests that are safe to repeat: Paddle
GETs, and Slack calls that had no answer at all). Redirects are never followed: http.client does not.
"""

from __future__ import annotations

import functools
import http.client
import threading
import urllib.request
from typing import Mapping
from urllib.parse import urlsplit

MAX_IDLE_PER_HOST = 8
_STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError)


class ConnectionPool:
    def __init__(self, max_idle_per_host: int = MAX_IDLE_PER_HOST) -> None:
        self.max_idle = max_idle_per_host
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def request(self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                timeout: float = 10.0, max_body: int | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        """(status, headers, body) of one request; raises OSError (timeouts included) when there is no answer."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        for attempt in (1, 2):
            connection, reused = self._take(key, timeout)
            try:
                connection.request(method, target, body=body, headers=dict(headers or {}))
                response = connection.getresponse()
                data = response.read() if max_body is None else response.read(max_body)
            except _STALE:
                connection.close()
                if reused and attempt == 1:
                    continue  # the server closed it while it was idle: once more, on a new connection
                raise
            except BaseException:
                connection.close()
                raise
            if response.will_close or (max_body is not None and not response.isclosed()):
                connection.close()
            else:
                self._give_back(key, connection)
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    def _take(self, key: tuple[str, str, int], timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(key)
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


proxied.cache_clear = _proxied.cache_clear  # type: ignore[attr-defined]  (for tests that change the environment)


SHARED = ConnectionPool()  # one per process: Slack and Paddle calls from every thread
