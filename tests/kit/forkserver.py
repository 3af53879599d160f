"""A fork server for the end-to-end tests: ``python -m bot …`` without paying for Python's imports each time.

Every end-to-end test starts real processes (``serve`` under gunicorn or Socket Mode, CLI commands); each used
to spend 0.6–1.3 s of CPU importing SQLAlchemy, cryptography, Bolt, gunicorn and the rest before doing anything.
This process imports them once, then forks a child per request. The child becomes what ``python -m bot …``
(or ``python -c …``) would have been: the requested environment (nothing inherited), working directory, umask,
argv and standard streams (passed as file descriptors), the module run as
``__main__`` by runpy, exceptions and exit statuses as the interpreter reports them (see ``exit_status``).
The parent reaps children
and writes each exit status back on the connection that asked for it.

What is preloaded must not read the environment when imported: prometheus-client chooses its multiprocess mode
from ``PROMETHEUS_MULTIPROC_DIR`` at import, which ``serve`` sets first, so nothing that imports it is preloaded
(checked at start-up). Nor may it start a thread (checked), open a socket, a file or a database connection (every
child would share it), or compute anything from settings. What is computed once is only what depends on the
code: the newest migration's id and SQLAlchemy's configured mappers. ``tests.kit.processes`` is the client;
``CREDBOT_TEST_FORK=0`` turns it off.

Run as ``python -m tests.kit.forkserver SOCKET_PATH``.
"""

from __future__ import annotations

import atexit
import faulthandler
import gc
import importlib
import json
import os
import runpy
import select
import signal
import socket
import struct
import sys
import threading

PRELOAD = (
    "bot.cli",
    "bot.cli.serve",
    "bot.cli.keys_and_database",
    "bot.cli.credential_commands",
    "bot.cli.key_commands",
    "bot.cli.installation_commands",
    "bot.cli.reminder_commands",
    "bot.cli.audit_trail",
    "bot.cli.schema",
    "bot.api",
    "bot.slack.oauth.install_flow",
    "bot.slack.oauth.installation_store",
    "bot.keys.kms",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite",
    "psycopg",
    "alembic.command",
    "alembic.runtime.migration",
    "alembic.script",
    "gunicorn.app.base",
    "gunicorn.arbiter",
    "gunicorn.glogging",
    "gunicorn.workers.gthread",
    "slack_bolt",
    "slack_sdk.socket_mode.builtin",
    "boto3",
    "botocore.session",
    # what `serve` imports beside the modules that import prometheus-client (bot.slack.app, .services, .server,
    # .middleware, .fair_use)
    "bot.credentials.service",
    "bot.credentials.queries",
    "bot.credentials.wizard_checks",
    "bot.infra.logs",
    "bot.providers.paddle",
    "bot.slack.access",
    "bot.slack.broadcast.board_refresh",
    "bot.slack.broadcast.home_tab_refresh",
    "bot.slack.slack_lookup",
    "bot.slack.ui.home_tab",
    "bot.slack.ui.credential_list",
    "bot.slack.ui.wizard_modal",
    "bot.slack.web_client",
    "slack_bolt.adapter.wsgi",
    "wsgiref.simple_server",
)
NOT_PRELOADED = ("prometheus_client",)
HEADER = struct.Struct("!I")
STREAMS = 3  # stdin, stdout, stderr
# sys.path after the entry Python puts first (the script's folder, or the working directory for -m) and this
# process's own PYTHONPATH: the standard library and site-packages, which a child keeps.
_OWN_PYTHONPATH = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
INSTALLED = sys.path[1 + len(_OWN_PYTHONPATH) :]


def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    for name in NOT_PRELOADED:
        if name in sys.modules:
            raise SystemExit(f"forkserver: preloading imported {name}, which must be imported by the child")
    # The newest migration, which every start and command asks for (Alembic loads the 14 revision files to find
    # it): read here once, so a child only loads them when it migrates.
    from sqlalchemy.orm import configure_mappers

    from bot.infra.db import head_revision

    head_revision()
    # SQLAlchemy configures the models' mappers at the first query: in every child that queried (0.01–0.02 s).
    configure_mappers()
    if threading.active_count() != 1:
        raise SystemExit("forkserver: preloading started a thread; forking would copy it half-way")


def receive_job(conn: socket.socket) -> tuple[dict, list[int]]:
    """One request: a 4-byte length, then that much JSON; the three standard streams ride on the first message."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, STREAMS)
    while len(data) < HEADER.size or len(data) < HEADER.size + HEADER.unpack_from(data)[0]:
        more = conn.recv(65536)
        if not more:
            raise ConnectionError("request cut short")
        data += more
    (length,) = HEADER.unpack_from(data)
    return json.loads(data[HEADER.size : HEADER.size + length]), fds


def serve(path: str) -> tuple[dict, list[int]]:
    """Accept requests until the parent (the test process) goes; returns only in a forked child."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(64)
    os.rename(path + ".tmp", path)  # the client waits for the path: it appears only once we accept
    parent = os.getppid()
    children: dict[int, socket.socket] = {}
    woken, wake = socket.socketpair()  # a child's exit wakes the loop at once (the handler itself does nothing)
    for end in (woken, wake):
        end.setblocking(False)
    signal.set_wakeup_fd(wake.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while os.getppid() == parent:
        readable, _, _ = select.select([listener, woken], [], [], 0.5)
        if woken in readable:
            woken.recv(4096)
        if listener in readable:
            conn, _ = listener.accept()
            try:
                job, fds = receive_job(conn)
            except (OSError, ValueError):
                conn.close()
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                woken.close()
                wake.close()
                listener.close()
                for other in children.values():
                    other.close()
                conn.close()
                return job, fds
            for fd in fds:
                os.close(fd)
            conn.sendall(f"{pid}\n".encode())
            children[pid] = conn
        reap(children)
    for pid in children:  # the test process died without stopping them
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    raise SystemExit(0)


def reap(children: dict[int, socket.socket]) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass
            conn.close()


def become(job: dict, fds: list[int]) -> None:
    """In the child: take on the requested process's streams, environment and place, then run it."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(job["cwd"])
    os.umask(job["umask"])
    # SIGABRT prints every thread's stack to the process's stderr (its log), here and in the processes it forks
    # (gunicorn's workers): how a test that times out waiting for a process shows where that process was stuck.
    faulthandler.enable(all_threads=True)
    os.environ.clear()
    os.environ.update(job["env"])
    argv = job["argv"]
    python_path = [os.path.abspath(entry) for entry in job["env"].get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = [os.getcwd() if argv[0] == "-m" else "", *python_path, *INSTALLED]
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    else:
        raise SystemExit(f"forkserver: only -m MODULE and -c CODE are supported, not {argv[0]!r}")


def exit_status(run) -> int:
    """Run the child's program and end it as the interpreter would, without tearing down every preloaded
    module one by one (0.25 s of a forked child's life): waits for non-daemon threads, runs atexit
    callbacks, reports an uncaught exception or a SystemExit message on stderr, flushes the streams."""
    try:
        run()
        status = 0
    except SystemExit as stop:
        code = stop.code
        if code is None or isinstance(code, int):
            status = code or 0
        else:
            print(code, file=sys.stderr)
            status = 1
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    threading._shutdown()  # what Py_FinalizeEx does first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return status


def failure_marker(path: str) -> str:
    """Where a server that could not start leaves its reason, so that clients waiting for its socket stop."""
    return path + ".failed"


def main() -> None:
    try:
        preload()
    except SystemExit as failure:
        with open(failure_marker(sys.argv[1]), "w") as marker:
            marker.write(str(failure.code))
        raise
    gc.freeze()  # children share the preloaded objects' pages instead of copying them on the first collection
    job, fds = serve(sys.argv[1])
    os._exit(exit_status(lambda: become(job, fds)))


if __name__ == "__main__":
    main()
