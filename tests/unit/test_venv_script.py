"""scripts/venv.sh installs a lock only when what .venv holds does not already pin it (issue 19, item 9).

Run on a copy of the scripts and locks, with a stand-in .venv/bin/python that records each pip call instead of
installing: switching between scripts/run (requirements.lock) and scripts/test (requirements-test.lock) used
to reinstall every time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME, TEST = "requirements.lock", "requirements-test.lock"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    for name in ("scripts/venv.sh", "scripts/lockfile.py", RUNTIME, TEST, "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/../../pip-calls"\n')
    python.chmod(0o755)
    return tmp_path


def installs(checkout: Path, lock: str | None) -> list[str]:
    """The lock files pip was asked to install by one sourcing of venv.sh."""
    calls = checkout / "pip-calls"
    calls.unlink(missing_ok=True)
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("CREDBOT_LOCK", None)
    if lock:
        env["CREDBOT_LOCK"] = lock
    done = subprocess.run(
        ["bash", "-c", ". scripts/venv.sh"], cwd=checkout, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [line.split("-r ", 1)[1] for line in lines if "-r " in line]


def test_switching_between_run_and_test_installs_once(checkout):
    assert installs(checkout, TEST) == [TEST]
    assert installs(checkout, None) == []  # the test lock pins every runtime package at the same version
    assert installs(checkout, TEST) == []
    assert installs(checkout, None) == []


def test_the_runtime_lock_alone_then_the_test_lock_installs_the_test_tools(checkout):
    assert installs(checkout, None) == [RUNTIME]
    assert installs(checkout, None) == []
    assert installs(checkout, TEST) == [TEST]
    assert installs(checkout, None) == []


def test_a_changed_lock_or_pyproject_installs_again(checkout):
    assert installs(checkout, TEST) == [TEST]
    with (checkout / TEST).open("a") as lock:
        lock.write("\n")
    assert installs(checkout, None) == [RUNTIME]
    with (checkout / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n")
    assert installs(checkout, None) == [RUNTIME]
    assert installs(checkout, None) == []


def test_file_times_alone_do_not_reinstall(checkout):
    """A fresh checkout or `git switch` touches the files without changing them."""
    assert installs(checkout, TEST) == [TEST]
    later = (checkout / TEST).stat().st_mtime + 3600
    for name in (RUNTIME, TEST, "pyproject.toml"):
        os.utime(checkout / name, (later, later))
    assert installs(checkout, TEST) == []


def test_the_runtime_lock_is_held_whole_by_the_test_lock():
    """What lets scripts/run reuse a test .venv: scripts/lock resolves the two separately, so hold it here."""
    from tests.unit.test_lock import lockfile  # scripts/lockfile.py, loaded in one place

    runtime, test = lockfile.pins(ROOT / RUNTIME), lockfile.pins(ROOT / TEST)
    assert {name: test.get(name) for name in runtime} == runtime
