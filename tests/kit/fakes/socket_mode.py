"""A websocket server on loopback posing as Slack's Socket Mode endpoint."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.sync.server import ServerConnection, serve


class FakeSocketMode:
    """Greets each connection with ``hello``, sends envelopes on demand, records what the app answers."""

    def __init__(self) -> None:
        self._connections: list[ServerConnection] = []
        self._received: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeSocketMode:
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link"

    def _handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}))
        with self._cond:
            self._connections.append(connection)
            self._cond.notify_all()
        for message in connection:
            with self._cond:
                self._received.append(json.loads(message))
                self._cond.notify_all()

    def wait_connected(self, timeout: float = 10.0, count: int = 1) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._connections) >= count, timeout):
                raise AssertionError(f"{len(self._connections)} connection(s), expected {count}")

    @property
    def connection_count(self) -> int:
        with self._cond:
            return len(self._connections)

    def send(self, envelope: dict[str, Any], connection: int = -1) -> None:
        """Send on one open connection (the newest by default), as Slack picks one of an app's connections."""
        self.wait_connected(count=connection + 1 if connection >= 0 else 1)
        self._connections[connection].send(json.dumps(envelope))

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._received:
                    if message.get("envelope_id") == envelope_id:
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no ack for {envelope_id}; got {self._received}")
                self._cond.wait(remaining)
