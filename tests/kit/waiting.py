"""Waiting for what the bot does after it has answered (lazy listeners, audit writes deferred past the ack)."""

from __future__ import annotations

import time
from typing import TypeVar
from collections.abc import Callable

T = TypeVar("T")


def settled(read: Callable[[], T], until: Callable[[T], bool], timeout: float = 5.0, every: float = 0.02) -> T:
    """``read()`` again until ``until(value)`` holds or ``timeout`` passes; returns the last value read, so the
    caller still asserts on it (a wait that runs out fails at that assertion, with the value in the message)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(every)
        value = read()
    return value
