"""The end-to-end tests' processes behave the same forked from the fork server as started by ``subprocess``:
exit statuses, streams, environment, place, signals (each case runs both ways)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.kit.processes import run_python, start_python

ENV = {"PATH": "/usr/bin:/bin", "ONLY": "this"}


@pytest.fixture(params=["fork", "subprocess"])
def mode(request, monkeypatch):
    monkeypatch.setenv("CREDBOT_TEST_FORK", "1" if request.param == "fork" else "0")
    return request.param


@pytest.mark.parametrize(
    "code, status, stderr",
    [
        ("pass", 0, ""),
        ("import sys; sys.exit(3)", 3, ""),
        ("import sys; sys.exit('refused: bad input')", 1, "refused: bad input\n"),
        ("raise ValueError('boom')", 1, "ValueError: boom"),
    ],
)
def test_exit_statuses_and_stderr_are_the_interpreters(mode, tmp_path, code, status, stderr):
    result = run_python(["-c", code], ENV, tmp_path)
    assert result.returncode == status
    assert (stderr in result.stderr) if stderr else result.stderr == ""


def test_the_process_sees_only_its_environment_place_argv_umask_and_input(mode, tmp_path):
    program = (
        "import os, sys, json; print(json.dumps([sorted(k for k in os.environ if k != 'LC_CTYPE'), "
        "os.getcwd(), sys.argv[1:], os.umask(0), sys.stdin.read()])); print('to stderr', file=sys.stderr)"
    )
    previous = os.umask(0o027)
    try:
        result = run_python(["-c", program, "one", "two"], ENV, tmp_path, input="typed in")
    finally:
        os.umask(previous)
    assert result.returncode == 0, result.stderr
    env, cwd, argv, umask, given = json.loads(result.stdout)
    assert env == ["ONLY", "PATH"] and cwd == str(tmp_path) and argv == ["one", "two"]
    assert umask == 0o027 and given == "typed in" and result.stderr == "to stderr\n"


def test_a_module_runs_as_main_with_its_arguments(mode, tmp_path):
    (tmp_path / "hello_mod.py").write_text("import sys\nif __name__ == '__main__':\n    print('main', sys.argv[1:])\n")
    result = run_python(["-m", "hello_mod", "x"], ENV | {"PYTHONPATH": str(tmp_path)}, tmp_path)
    assert result.stdout == "main ['x']\n"


def test_atexit_and_non_daemon_threads_finish_before_the_exit(mode, tmp_path):
    program = (
        "import atexit, threading, time\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done', flush=True))).start()\n"
    )
    result = run_python(["-c", program], ENV, tmp_path)
    assert result.stdout == "thread done\natexit ran\n"


def test_sigterm_and_poll_and_wait(mode, tmp_path):
    log = open(tmp_path / "out.log", "wb")
    process = start_python(
        ["-c", "import time; print('up', flush=True); time.sleep(30)"],
        ENV,
        tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 10
    while b"up" not in (tmp_path / "out.log").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == -signal.SIGTERM and process.poll() == -signal.SIGTERM


def test_a_run_that_overstays_its_timeout_is_killed(mode, tmp_path):
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_python(["-c", "import time; time.sleep(30)"], ENV, tmp_path, timeout=0.3)
    assert time.monotonic() - started < 20
