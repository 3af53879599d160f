"""A SIGTERM that reaches a gunicorn worker before it has its own signal handlers still stops it
(bot.slack.server.runners.stop_if_told_while_booting): ``serve`` stopped during start-up used to wait 30 s
(gunicorn's graceful_timeout) for a worker that never heard it, and its tests then timed out now and then."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from types import SimpleNamespace

import pytest

from bot.slack.server.runners import STOP_SIGNALS, stop_if_told_while_booting
from tests.kit import free_port
from tests.kit.processes import REPO, run_python

# The master is stopped by its first worker at the worst moment: after the fork, while that worker still has the
# master's handlers (gunicorn's post_fork hook, where Credbot sets up logging). The master then sends its SIGTERM on.
STOPPED_WHILE_BOOTING = textwrap.dedent(
    """
    import logging, os, signal, sys, time
    from types import SimpleNamespace
    from bot.slack.server import runners
    import bot.infra.logs

    def configure_logging(*args, **kwargs):
        os.kill(os.getppid(), signal.SIGTERM)
        time.sleep(1.0)  # the master's SIGTERM to this worker arrives now

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    bot.infra.logs.configure_logging = configure_logging
    settings = SimpleNamespace(
        host="127.0.0.1", port=int(sys.argv[1]), http_workers=1, http_threads=1, http_read_timeout=5.0,
        log_level="INFO", log_format="text",
    )
    runners.run_gunicorn(settings, lambda: (lambda environ, start_response: []))
    """
)


def test_serve_stopped_while_a_worker_boots_ends_at_once_not_after_the_graceful_timeout(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    result = run_python(["-c", STOPPED_WHILE_BOOTING, str(free_port())], env, tmp_path, timeout=25)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10, result.stderr  # it was 31 s: gunicorn's graceful_timeout, then SIGKILL
    assert "was told to stop while booting" in result.stderr


def test_gunicorn_still_queues_a_masters_signal_where_the_check_looks():
    """Tripwire: the check reads gunicorn's ``Arbiter.SIG_QUEUE``, where ``Arbiter.signal`` puts what it hears."""
    from gunicorn.arbiter import Arbiter

    master = Arbiter.__new__(Arbiter)
    master.SIG_QUEUE = Arbiter.__init__.__globals__["queue"].SimpleQueue()
    Arbiter.signal(master, signal.SIGTERM, None)
    assert master.SIG_QUEUE.get_nowait() == signal.SIGTERM
    source = Arbiter.__init__.__code__.co_names
    assert "SIG_QUEUE" in source  # still made in the constructor


@pytest.mark.parametrize("heard", [(), (signal.SIGHUP,), ("wakeup",), *((s,) for s in STOP_SIGNALS)])
def test_only_a_stop_signal_heard_while_booting_stops_the_worker(heard):
    from queue import SimpleQueue

    queue: SimpleQueue = SimpleQueue()
    for each in heard:
        queue.put_nowait(each)
    worker = SimpleNamespace(pid=1, alive=True)
    stop_if_told_while_booting(worker, SimpleNamespace(SIG_QUEUE=queue))
    assert worker.alive is (not any(each in STOP_SIGNALS for each in heard))
    assert queue.empty()
    stop_if_told_while_booting(worker, SimpleNamespace())  # an arbiter without the queue: nothing to do
