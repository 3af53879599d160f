"""scripts/venv.sh installs a lock only when what .venv holds does not already pin it (issue 19, item 9), and
installs nothing that is not pinned with its hash (issue 21, finding 8).

Run on a copy of the scripts and locks, with a stand-in .venv/bin/python that records each pip call instead of
installing: switching between scripts/run (requirements.lock) and scripts/test (requirements-test.lock) used
to reinstall every time; and `pip install --upgrade "pip>=23.1"` fetched whatever pip was newest, and
`pip install -e .` fetched setuptools and wheel, unpinned, into its build isolation and ran them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME, TEST, BUILD = "requirements.lock", "requirements-test.lock", "requirements-build.lock"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    for name in ("scripts/venv.sh", "scripts/lockfile.py", RUNTIME, TEST, BUILD, "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/../../pip-calls"\n')
    python.chmod(0o755)
    return tmp_path


def pip_calls(checkout: Path, lock: str | None) -> list[list[str]]:
    """The arguments of every call of .venv/bin/python made by one sourcing of venv.sh."""
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
    return [line.split() for line in calls.read_text().splitlines()] if calls.exists() else []


def installs(checkout: Path, lock: str | None) -> list[str]:
    """The lock files other than the build lock pip was asked to install by one sourcing of venv.sh."""
    wanted = [call[call.index("-r") + 1] for call in pip_calls(checkout, lock) if "-r" in call]
    return [name for name in wanted if name != BUILD]


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


def hashed_lock(path: Path) -> dict[str, str]:
    """The pins of a lock in which every pin carries a hash (asserted)."""
    from tests.unit.test_lock import lockfile

    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        if lockfile.PIN.match(line):
            assert index + 1 < len(lines) and "--hash=sha256:" in lines[index + 1], f"{path.name}: {line} has no hash"
    return lockfile.pins(path)


@pytest.mark.parametrize("lock", [RUNTIME, TEST])
def test_every_pip_call_installs_only_hashed_pins_or_builds_offline(checkout, lock):
    """Each pip call installs a lock with --require-hashes (so pip refuses anything unpinned or unhashed, the
    dependencies' dependencies included: --no-deps), or builds the project with no index and no build isolation
    (the backend then is the one the build lock installed). A bare requirement such as "pip>=23.1", or a build
    that may fetch its backend, fails here."""
    calls = pip_calls(checkout, lock)
    assert calls, "venv.sh installed nothing into an empty .venv"
    locks = []
    for call in calls:
        assert call[:3] == ["-m", "pip", "install"], call
        values = {call[i + 1] for i, arg in enumerate(call[:-1]) if arg in ("-r", "-e")}
        assert [arg for arg in call[3:] if not arg.startswith("-") and arg not in values] == [], (
            f"a requirement outside the lock files: {call}"
        )
        if "-r" in call:
            assert "--require-hashes" in call and "--no-deps" in call, call
            locks.append(call[call.index("-r") + 1])
            hashed_lock(checkout / locks[-1])
        else:
            assert {"--no-index", "--no-build-isolation", "--check-build-dependencies", "--no-deps"} <= set(call), call
            assert call[-2:] == ["-e", "."], call
    assert locks == [BUILD, lock]  # pip and the backend first, so that they install the rest and build the project


def test_the_build_lock_pins_pip_and_every_build_requirement():
    from packaging.requirements import Requirement

    from tests.unit.test_lock import lockfile

    pins = hashed_lock(ROOT / BUILD)
    for text in lockfile.build_requirements():
        requirement = Requirement(text)
        version = pins.get(lockfile.normalise(requirement.name))
        assert version and requirement.specifier.contains(version), f"{BUILD} does not pin {text}; run scripts/lock"
    assert lockfile.recorded_digest(ROOT / BUILD) == lockfile.pyproject_digest()  # made from this pyproject.toml


def test_the_project_builds_from_the_venvs_locked_backend_with_nothing_fetched(tmp_path):
    """What venv.sh's last call relies on, for real: this .venv (built by venv.sh) holds the build backend at the
    build lock's versions, and builds the project with no index and no build isolation."""
    from importlib.metadata import version

    for name, pinned in hashed_lock(ROOT / BUILD).items():
        assert version(name) == pinned, f"{name} in .venv is not the one {BUILD} pins"
    source, wheels, nowhere = tmp_path / "source", tmp_path / "wheels", tmp_path / "nowhere"
    nowhere.mkdir()
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation"]
        + ["--check-build-dependencies", "--wheel-dir", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PIP_FIND_LINKS": str(nowhere)},  # nothing to find anywhere
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert [wheel.name.split("-")[0] for wheel in wheels.glob("*.whl")] == ["credbot"]
