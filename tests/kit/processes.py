"""Python processes as the end-to-end tests start them: ``start_python`` (a Popen-like handle) and ``run_python``
(a ``subprocess.run``-like result), forked by ``tests.kit.forkserver`` when it is on (the default), or plain
subprocesses of ``sys.executable`` with ``CREDBOT_TEST_FORK=0``. Either way the process sees only the
environment it is given, and its exit status, standard streams and signals behave as a subprocess's do."""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
HEADER = struct.Struct("!I")
# Where the fork server that pytest-xdist's controller started for its workers listens (see ForkServer).
SHARED_SERVER = "CREDBOT_TEST_FORK_SERVER"


def forking() -> bool:
    return os.environ.get("CREDBOT_TEST_FORK", "1") != "0"


class ForkedProcess:
    """A child of the fork server, with the part of ``subprocess.Popen``'s interface the tests use."""

    def __init__(self, args: list[str], conn: socket.socket) -> None:
        self.args = args
        self._conn = conn
        self._buffer = b""
        self.pid = int(self._line(timeout=30))
        self.returncode: int | None = None

    def _line(self, timeout: float | None) -> str:
        """The next line the fork server wrote: first the pid, then the exit status (maybe in one read)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._conn], [], [], left)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout)
            chunk = self._conn.recv(64)
            if not chunk:
                raise RuntimeError("the fork server went away")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def poll(self) -> int | None:
        if self.returncode is None and (b"\n" in self._buffer or select.select([self._conn], [], [], 0)[0]):
            self.wait()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = int(self._line(timeout))
            self._conn.close()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """One per test run: started on first use by a test process, or by pytest-xdist's controller for all of its
    workers (``share_with_workers``); stopped when the process that started it ends."""

    _lock = threading.Lock()
    _instance: ForkServer | None = None

    def __init__(self, path: str | None = None) -> None:
        """Start a fork server of this process's own, or (``path``) use the one already listening there."""
        self.process: subprocess.Popen | None = None
        if path is not None:
            self.path = path
            return
        self._dir = tempfile.mkdtemp(prefix="credbot-fork-")
        self.path = os.path.join(self._dir, "socket")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.kit.forkserver", self.path], cwd=REPO, env=env, stdin=subprocess.DEVNULL
        )
        atexit.register(self.stop)

    def wait_ready(self, timeout: float = 60) -> ForkServer:
        """Wait until the server accepts (its socket's path appears once it listens, after its imports); raise at
        once if it could not start (it leaves its reason beside the socket's path), whoever started it."""
        from tests.kit.forkserver import failure_marker

        deadline = time.monotonic() + timeout
        while not os.path.exists(self.path):
            reason = _read(failure_marker(self.path))
            if reason or (self.process is not None and self.process.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the fork server at {self.path} did not start"
                    + (f" (exit status {self.process.poll()})" if self.process else "")
                    + (f": {reason}" if reason else "")
                )
            time.sleep(0.02)
        return self

    _failed: RuntimeError | None = None

    @classmethod
    def shared(cls) -> ForkServer:
        with cls._lock:
            if cls._failed is not None:  # once is enough: every later test would wait for the same server again
                raise cls._failed
            if cls._instance is None or (
                cls._instance.process is not None and cls._instance.process.poll() is not None
            ):
                given = os.environ.get(SHARED_SERVER)
                try:
                    cls._instance = (cls(given) if given else cls()).wait_ready()
                except RuntimeError as failure:
                    cls._failed = failure
                    raise
            return cls._instance

    @classmethod
    def share_with_workers(cls) -> None:
        """In pytest-xdist's controller, before it starts its workers: start the server without waiting for it
        (its imports overlap the workers' collection) and tell the workers where it listens, so the run imports
        the preloaded modules once rather than once per worker (0.75 CPU-seconds each)."""
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            os.environ[SHARED_SERVER] = cls._instance.path

    def start(
        self, args: list[str], env: dict[str, str], cwd: Path | str, streams: tuple[int, int, int]
    ) -> ForkedProcess:
        umask = os.umask(0o022)
        os.umask(umask)
        job = json.dumps({"argv": args, "env": env, "cwd": str(cwd), "umask": umask}).encode()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.path)
        data = HEADER.pack(len(job)) + job
        sent = socket.send_fds(conn, [data[:4096]], list(streams))
        conn.sendall(data[sent:])
        return ForkedProcess(args, conn)

    def stop(self) -> None:
        if self.process is None:
            return  # another process's server: it stops it
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        for name in os.listdir(self._dir):
            os.unlink(os.path.join(self._dir, name))
        os.rmdir(self._dir)


def start_python(
    args: list[str],
    env: dict[str, str],
    cwd: Path | str,
    *,
    stdout: IO | int | None = None,
    stderr: IO | int | None = None,
    stdin: IO | int | None = None,
) -> Any:
    """``python ARGS`` (``-m MODULE …`` or ``-c CODE …``) with exactly ``env``; a Popen-like handle.

    ``stdout``/``stderr``/``stdin`` are open files (or ``subprocess.STDOUT`` for stderr); unset ones go to
    /dev/null."""
    if not forking():
        return subprocess.Popen(
            [sys.executable, *args],
            env=env,
            cwd=cwd,
            stdin=stdin or subprocess.DEVNULL,
            stdout=stdout or subprocess.DEVNULL,
            stderr=stderr or subprocess.DEVNULL,
        )
    with open(os.devnull, "r+b") as null:
        fd_in = stdin.fileno() if stdin is not None else null.fileno()
        fd_out = stdout.fileno() if stdout is not None else null.fileno()
        fd_err = fd_out if stderr == subprocess.STDOUT else stderr.fileno() if stderr is not None else null.fileno()
        return ForkServer.shared().start(args, env, cwd, (fd_in, fd_out, fd_err))


def run_python(
    args: list[str], env: dict[str, str], cwd: Path | str, *, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess:
    """``python ARGS`` to completion, its output captured as text; never raises on exit status (as
    ``subprocess.run(..., capture_output=True, text=True, timeout=timeout)``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as given:
        if input is not None:
            given.write(input.encode())
            given.seek(0)
        process = start_python(args, env, cwd, stdout=out, stderr=err, stdin=given if input is not None else None)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            [sys.executable, *args],
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read().strip() or "no reason given"
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (gunicorn's workers under its master), deepest last."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def dump_stacks(pid: int) -> list[int]:
    """SIGABRT ``pid`` and its descendants, children first: a forked child (faulthandler is on there) prints every
    thread's stack to its stderr and ends. Returns the pids signalled, for a test's failure message."""
    stuck = [*reversed(descendants(pid)), pid]
    for each in stuck:
        try:
            os.kill(each, signal.SIGABRT)
        except ProcessLookupError:
            pass
        time.sleep(0.2)
    return stuck
