"""The listener pool, holding back the work a request hands it until that request's answer has been sent.

Work handed off by an ack (the final stage's Paddle check and save, opening the modal, Bolt's lazy listeners, an
audit write after a listing) used to start at once on another thread, while the ack's thread still had the answer
to serialise and write: with one interpreter lock per process, the answer then waited for the work (unloaded, the
final stage's median ack was 6.7 ms against 2.2 for a bare Bolt app). Over HTTP the WSGI layer now holds that work
on the answering thread and hands it to the pool when the server closes the response, after the answer is out
(the WSGI ``close()`` hook, which servers call however the response ended). Anywhere else (Socket Mode, the
in-process tests, a thread that is not answering) work starts at once, as before.
"""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from collections.abc import Callable, Iterable, Iterator

log = logging.getLogger(__name__)

_answering = threading.local()


class AnswerFirstExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose ``submit`` holds work back while this thread answers a request (``holding``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        held = getattr(_answering, "held", None)
        if held is None or held.executor is not self:
            return super().submit(fn, *args, **kwargs)
        future: Future = Future()
        held.jobs.append((fn, args, kwargs, future))
        return future

    def holding(self) -> Held:
        """From now until ``Held.stop`` on this thread, submitted work waits for ``Held.release``."""
        held = Held(self)
        _answering.held = held
        return held

    def _start(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Future:
        return super().submit(fn, *args, **kwargs)


class Held:
    """The work held back for one answer."""

    def __init__(self, executor: AnswerFirstExecutor) -> None:
        self.executor = executor
        self.jobs: list[tuple[Callable[..., Any], tuple, dict, Future]] = []

    def stop(self) -> None:
        """This thread holds nothing more back (work it submits from now on starts at once)."""
        if getattr(_answering, "held", None) is self:
            _answering.held = None

    def release(self) -> None:
        """Hand every held job to the pool; each one's future follows the job's."""
        self.stop()
        jobs, self.jobs = self.jobs, []
        for fn, args, kwargs, future in jobs:
            if not future.set_running_or_notify_cancel():  # cancelled while held
                continue
            try:
                started = self.executor._start(fn, args, kwargs)
            except RuntimeError as error:  # the pool was shut down meanwhile (the worker is exiting)
                log.error("work after an answer was not started: %s", error)
                future.set_exception(error)
                continue
            started.add_done_callback(functools.partial(_follow, future=future))


def _follow(done: Future, future: Future) -> None:
    if done.cancelled():
        future.cancel()
    elif done.exception() is not None:
        future.set_exception(done.exception())
    else:
        future.set_result(done.result())


class ThenRelease:
    """A WSGI response body that releases the held work when the server closes it (after writing it)."""

    def __init__(self, body: Iterable[bytes], held: Held) -> None:
        self.body, self.held = body, held

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.held.release()
