"""The listener pool, holding back the work a request hands it until that request's answer has been sent.

Work handed off by an ack (the final stage's Paddle check and save, opening the modal, Bolt's lazy listeners, an
audit write after a listing) used to start at once on another thread, while the ack's thread still had the answer
to serialise and write: with one interpreter lock per process, the answer then waited for the work (unloaded, the
final stage's median ack was 6.7 ms against 2.2 for a bare Bolt app). Over HTTP the WSGI layer now holds that work
on the answering thread and hands it to the pool when the server closes the response, after the answer is out
(the WSGI ``close()`` hook, which servers call however the response ended). Anywhere else (Socket Mode, the
in-process tests, a thread that is not answering) work starts at once, as before.

The executor is a ``concurrent.futures.Executor`` (the base class the standard library documents for this) in front
of a plain ThreadPoolExecutor, which it only calls through its public ``submit`` and ``shutdown``; it also counts
the work not yet finished, so that a caller can wait until none is left (``wait_idle``), and shows the count
as ``credbot_work_in_progress``.
"""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any
from collections.abc import Callable, Iterable, Iterator

from bot.infra import metrics

log = logging.getLogger(__name__)

_answering = threading.local()


class AnswerFirstExecutor(Executor):
    """An executor whose ``submit`` holds work back while this thread answers a request (``holding``)."""

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "") -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._name = metrics.label(thread_name_prefix or "pool")
        self._unfinished = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        held = getattr(_answering, "held", None)
        if held is None or held.executor is not self:
            return self._counted(self._pool.submit(fn, *args, **kwargs))
        future: Future = Future()
        held.jobs.append((fn, args, kwargs, future))
        return self._counted(future)

    def holding(self) -> Held:
        """From now until ``Held.stop`` on this thread, submitted work waits for ``Held.release``."""
        held = Held(self)
        _answering.held = held
        return held

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every piece of work submitted so far has finished (or was cancelled); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def _start(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Future:
        return self._pool.submit(fn, *args, **kwargs)

    def _counted(self, future: Future) -> Future:
        with self._idle:
            self._unfinished += 1
        metrics.work_handed_off(self._name, 1)
        future.add_done_callback(self._finished)  # also when cancelled, or when it was already done
        return future

    def _finished(self, _future: Future) -> None:
        metrics.work_handed_off(self._name, -1)
        with self._idle:
            self._unfinished -= 1
            self._idle.notify_all()


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
