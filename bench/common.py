"""Shared pieces of the benchmarks: a call-log-free fake Slack, processes under test, databases, statistics.

Nothing here changes the bot or the test fakes; ``BenchSlack`` subclasses the test fake so that a long
benchmark neither grows its call log nor wakes every waiter on every call.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import statistics
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from bot.infra.settings import default_workers
from tests.kit import REPO, BotProcess, Call, FakePaddle, FakeSlack

RESULTS_DIR = Path(__file__).resolve().parent / "results"
VERIFYING_CALLBACK = "credential_wizard_verifying"  # bot/slack/ui/wizard_modal.py; the view that is *not* the outcome
PG_BASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# -- fakes that keep up with 16 concurrent clients -----------------------------------------------------------
# (The test fakes listen with a backlog of 128; socketserver's default of 5 dropped connections under load.)


class BenchPaddle(FakePaddle):
    """The test fake, unchanged (kept as a name so the benchmarks read the same)."""


class BenchSlack(FakeSlack):
    """FakeSlack that keeps only the calls a client said it waits for, keyed for O(1) lookup.

    Keys: ``("views.open", trigger_id)``, ``("outcome", view_id)`` (first views.update of the view that is not
    the "Verifying" one), ``("response_url", name)``. Everything else (announcements, later updates) is
    answered as usual and forgotten. ``counts`` keeps per-method totals.
    """

    def __init__(self) -> None:
        super().__init__()
        self._wanted: set[tuple[str, str]] = set()
        self._got: dict[tuple[str, str], Call] = {}
        self._bench_cond = threading.Condition()
        self.counts: dict[str, int] = {}

    def expect(self, kind: str, key: str) -> None:
        with self._bench_cond:
            self._wanted.add((kind, key))

    def wait(self, kind: str, key: str, timeout: float = 20.0) -> Call:
        deadline = time.monotonic() + timeout
        with self._bench_cond:
            while (kind, key) not in self._got:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._wanted.discard((kind, key))
                    raise TimeoutError(f"no {kind} for {key} within {timeout}s")
                self._bench_cond.wait(remaining)
            self._wanted.discard((kind, key))
            return self._got.pop((kind, key))

    def _record(self, call: Call) -> None:  # replaces the unbounded log of the test fake
        key: tuple[str, str] | None = None
        if call.method == "views.open":
            key = ("views.open", str(call.params.get("trigger_id")))
        elif call.method == "views.update":
            view = call.json("view") or {}
            if view.get("callback_id") != VERIFYING_CALLBACK:
                key = ("outcome", str(call.params.get("view_id")))
        elif call.method == "views.publish":
            key = ("views.publish", str(call.params.get("user_id")))
        elif call.method.startswith("response_url:"):
            key = ("response_url", call.method.split(":", 1)[1])
        with self._bench_cond:
            self.counts[call.method] = self.counts.get(call.method, 0) + 1
            if key is not None and key in self._wanted and key not in self._got:
                self._got[key] = call
                self._bench_cond.notify_all()


# -- processes under test -----------------------------------------------------------------------------------


def bot_overrides(database_url: str = "", keys: str = "", threads: str | None = None) -> dict[str, str]:
    """Environment for BotProcess: production thread count (the harness uses 8), quiet logs."""
    env = {
        "CREDBOT_HTTP_THREADS": threads or os.environ.get("CREDBOT_HTTP_THREADS", "16"),
        "CREDBOT_HTTP_WORKERS": os.environ.get("CREDBOT_HTTP_WORKERS", str(default_workers())),  # the product default
        "PADDLE_TIMEOUT_SECONDS": "8",
        # Each simulated user walks the wizard back to back, far faster than a person: the allowance would refuse
        # most final stages. Raised, not off: every check is still claimed in the database, at its real cost.
        "CREDBOT_PROVIDER_CHECKS_PER_MINUTE": "10000",
    }
    if database_url:
        env |= {"DATABASE_URL": database_url, "CREDBOT_ENCRYPTION_KEYS": keys}
    return env


class BareBoltProcess(BotProcess):
    """``python -m bench.bare_bolt`` in a subprocess: the same gunicorn stack, minimal handlers."""

    command = ("-m", "bench.bare_bolt")

    def __init__(self, workdir: Path, slack: FakeSlack, threads: str | None = None) -> None:
        super().__init__(
            workdir,
            slack,
            None,
            None,
            CREDBOT_HTTP_THREADS=threads or os.environ.get("CREDBOT_HTTP_THREADS", "16"),
            CREDBOT_HTTP_WORKERS=os.environ.get("CREDBOT_HTTP_WORKERS", str(default_workers())),
        )
        self.log_path = workdir / f"bare-{self.port}.log"


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn workers: children of the master process."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        if children:
            return [int(c) for c in children]
    except OSError:
        pass
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            found.append(int(stat.parent.name))
    return found


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3, the state, is index 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and every live descendant (gunicorn master, workers, anything they started)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(_stat_fields(int(stat.parent.name))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def tree_cpu(root_pid: int) -> dict[int, tuple[str, float]]:
    """Per process of the tree under ``root_pid``: its name and user + system CPU seconds, plus what its reaped
    children used (cutime + cstime), so that a worker that exits between two readings is still counted."""
    found = {}
    for pid in process_tree(root_pid):
        try:
            head, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
        except OSError:
            continue  # exited between the scan and now: its CPU moves to its parent's cutime/cstime
        fields = rest.split()
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
        found[pid] = (head.partition("(")[2], ticks / os.sysconf("SC_CLK_TCK"))
    return found


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU of every process of the tree under ``root_pid`` (see tree_cpu)."""
    return sum(seconds for _, seconds in tree_cpu(root_pid).values())


_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\}\s+(\S+)$")


def scrape(url: str, family: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one counter family at ``url``/metrics (summed over workers by the server), keyed by labels."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) == family + "_total":
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', match.group(2))))
            found[labels] = found.get(labels, 0.0) + float(match.group(3))
    return found


def counter_delta(before: dict, after: dict) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        labels: value - before.get(labels, 0.0) for labels, value in after.items() if value - before.get(labels, 0.0)
    }


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


# -- databases --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, database_url: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """Yields (DATABASE_URL, CREDBOT_ENCRYPTION_KEYS) for a fresh database, removed afterwards.

    sqlite: a file in ``workdir``. postgresql: a fresh schema in the database of ``database_url`` (default
    the local ``test``), selected through ``options=-csearch_path``, dropped on exit.
    """
    from bot.credentials.vault import generate_key

    keys = generate_key("bench")
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}", keys
        return
    from sqlalchemy import create_engine, text

    base = database_url or PG_BASE_URL
    if base.startswith(("postgres://", "postgresql://")):
        base = "postgresql+psycopg://" + base.split("://", 1)[1]
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}", keys
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# -- statistics -------------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "median": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
    }


def machine() -> dict[str, Any]:
    """Where and on what code the figures were taken (the tree may hold uncommitted changes)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg_at_start": os.getloadavg(),
        "git_head": git("rev-parse", "--short", "HEAD"),
        "uncommitted_in_bot": git("status", "--porcelain", "--", "bot").splitlines(),
    }


def write_json(name: str, data: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


__all__ = [
    "BareBoltProcess",
    "BenchSlack",
    "BotProcess",
    "bot_overrides",
    "counter_delta",
    "database",
    "machine",
    "memory_kib",
    "percentile",
    "process_tree",
    "scrape",
    "summarize",
    "tree_cpu",
    "tree_cpu_seconds",
    "worker_pids",
    "write_json",
]
