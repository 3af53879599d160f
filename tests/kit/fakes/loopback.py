"""What every fake HTTP server shares: bind a free loopback port, serve in a thread, stop cleanly.

The fakes speak HTTP/1.1 with keep-alive, as Slack and Paddle do, so that the bot's pooled clients keep their
connections as they would in production; ``accepts`` counts the TCP connections the fake has accepted (the
benchmark reports it per wizard). Every answer carries a Content-Length. Stopping a fake also closes the
connections clients still hold open, so a stopped fake is really gone.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

IDLE_TIMEOUT_SECONDS = 60  # a kept-alive connection nobody uses is closed after this (the clients reconnect)


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Base handler of the fakes: HTTP/1.1, persistent connections, quiet."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def setup(self) -> None:
        super().setup()
        # An answer is written as headers, then body: on a kept-alive connection Nagle's algorithm held the body
        # until the client acknowledged the headers, which it delays by up to 40 ms. Real servers do not wait.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            pass  # the client went away, or the fake stopped under an open connection


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when many bot threads call at once
    # (the kernel retries them a second later), which showed up as 1 s outliers under load.
    request_queue_size = 128
    fake: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def get_request(self):
        request, address = super().get_request()
        with self.connections_lock:
            self.open_connections.add(request)
            self.fake.accepts += 1
        return request, address

    def shutdown_request(self, request) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
            self.open_connections.clear()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


class LoopbackHTTPServer:
    """Base of the fakes: subclasses set ``handler_class`` and reach themselves as ``self.server.fake``."""

    handler_class: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        #: TCP connections accepted since the fake started (a client with kept-alive connections makes few)
        self.accepts = 0

    def start(self):
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        self._server = _Server(("127.0.0.1", 0), self.handler_class)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the connections clients keep open, and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_open_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, f"{type(self).__name__} is not started"
        return self._server.server_address[1]
