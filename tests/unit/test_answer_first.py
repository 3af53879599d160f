"""The listener pool holds back what an answering thread hands it until the answer is out (bot.slack.answer_first):
nothing is lost, nothing runs early, and work from anywhere else starts at once."""

from __future__ import annotations

import threading

import pytest

from bot.slack.server.answer_first import AnswerFirstExecutor, ThenRelease


@pytest.fixture
def pool():
    executor = AnswerFirstExecutor(max_workers=2, thread_name_prefix="under-test")
    yield executor
    executor.shutdown(wait=True)


def test_work_handed_over_while_answering_starts_when_the_response_is_closed(pool):
    ran = threading.Event()
    held = pool.holding()
    future = pool.submit(lambda: ran.set() or "done")
    held.stop()
    body = ThenRelease([b"answer"], held)
    assert list(body) == [b"answer"]
    assert not ran.wait(0.2) and not future.done()  # the server has not closed the response yet
    body.close()
    assert future.result(timeout=5) == "done" and ran.is_set()


def test_after_the_answer_this_thread_and_other_threads_submit_at_once(pool):
    held = pool.holding()
    from_elsewhere = []
    other = threading.Thread(target=lambda: from_elsewhere.append(pool.submit(lambda: "other")))
    other.start()
    other.join()
    assert from_elsewhere[0].result(timeout=5) == "other"  # only the answering thread holds back
    held.stop()
    assert pool.submit(lambda: "later").result(timeout=5) == "later"
    held.release()


def test_a_failure_or_a_cancellation_reaches_the_future_given_out(pool):
    held = pool.holding()
    failing = pool.submit(lambda: 1 / 0)
    cancelled = pool.submit(lambda: "never")
    assert cancelled.cancel()
    ThenRelease([], held).close()
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=5)
    assert cancelled.cancelled()


def test_nothing_is_lost_when_the_body_fails_to_close(pool):
    class Broken(list):
        def close(self):
            raise OSError("client went away")

    held = pool.holding()
    future = pool.submit(lambda: "still runs")
    held.stop()
    with pytest.raises(OSError):
        ThenRelease(Broken([b"x"]), held).close()
    assert future.result(timeout=5) == "still runs"


def test_held_work_meets_a_pool_shut_down_with_an_error_not_silence():
    executor = AnswerFirstExecutor(max_workers=1)
    held = executor.holding()
    future = executor.submit(lambda: "late")
    held.stop()
    executor.shutdown(wait=True)
    held.release()
    with pytest.raises(RuntimeError):
        future.result(timeout=5)


def in_progress() -> float | None:
    """What operators see of the pool under test: credbot_work_in_progress."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("credbot_work_in_progress", {"pool": "under-test"})


def test_waiting_until_idle_sees_held_running_and_cancelled_work_finish(pool):
    """What the in-process tests wait on (tests.kit.InProcessBot.settle) instead of a private work queue, and what
    the end-to-end ones read from /metrics (BotProcess.wait_idle)."""
    before = in_progress() or 0
    gate = threading.Event()
    running = pool.submit(gate.wait, 5)
    held = pool.holding()
    waiting = pool.submit(lambda: "held")
    cancelled = pool.submit(lambda: "never")
    held.stop()
    assert not pool.wait_idle(0.05)  # one runs, two are held
    assert in_progress() == before + 3  # counted before the answer is written, so a scrape after it sees the work
    assert cancelled.cancel() and in_progress() == before + 2
    gate.set()
    assert not pool.wait_idle(0.05) and not waiting.done()  # the held one has not been released yet
    held.release()
    assert pool.wait_idle(5) and running.result() is True and waiting.result() == "held"
    assert in_progress() == before
