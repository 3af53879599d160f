"""Answers read from Slack's Web API, kept a while: group members, a person's workspace, a channel's owner.

Only answers are kept; a failed read is logged once per call and not kept, so the next request asks Slack
again. The cache only saves calls: every instance reaches the same answer from Slack.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TypeVar
from collections.abc import Callable, Hashable

from slack_sdk.errors import SlackApiError, SlackRequestError

log = logging.getLogger(__name__)

V = TypeVar("V")
UNREADABLE = object()  # what a read that failed returns


class SlackLookup:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._kept: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, read: Callable[[], V], failure: str) -> V | object:
        """The kept answer for ``key``, or ``read()``'s (kept for ``ttl``); UNREADABLE, logged with ``failure``
        ("could not read …: what happens instead"), when Slack could not answer."""
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept and kept[0] > now:
            return kept[1]
        try:
            value = read()
        except (SlackApiError, SlackRequestError, OSError, ValueError) as error:
            detail = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning(failure, detail)
            return UNREADABLE
        with self._lock:
            self._kept[key] = (now + self.ttl, value)
        return value
