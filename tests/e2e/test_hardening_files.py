"""Files and first starts: owner-only modes whatever the umask, unsafe files refused, concurrent first starts.

Security issue findings 4 (files) and 10 (concurrent migrations), driven through the real CLI and server.
"""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.kit import REPO, BotProcess, run_python

UMASK_ZERO = "import os, sys; os.umask(0); from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(args: list[str], env: dict[str, str], cwd: Path, *, umask_zero: bool = False) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(cwd)}
    command = ["-c", UMASK_ZERO, *args] if umask_zero else ["-m", "bot", *args]
    return run_python(command, base | env, cwd, timeout=90)


def test_under_umask_000_the_data_dir_is_0700_and_its_files_0600(tmp_path):
    data = tmp_path / "deep" / "data"
    result = cli(["db", "upgrade"], {"CREDBOT_DATA_DIR": str(data)}, tmp_path, umask_zero=True)
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700 and mode(data.parent) == 0o700  # the parents it created too
    files = sorted(data.iterdir())
    assert [f.name for f in files if f.name.startswith("credbot.db")]
    for path in files:
        assert mode(path) == 0o600, path


def test_under_umask_000_the_generated_key_file_is_0600(tmp_path, slack, paddle_live, paddle_sandbox):
    bot = BotProcess(tmp_path, slack, paddle_live, paddle_sandbox)
    bot.command = ("-c", UMASK_ZERO, "serve")
    bot.start()
    try:
        data = tmp_path / "data"
        assert mode(data) == 0o700
        assert mode(data / "encryption.keys") == 0o600
        assert all(mode(p) == 0o600 for p in data.iterdir() if p.is_file()), {
            p.name: oct(mode(p)) for p in data.iterdir()
        }
    finally:
        assert bot.stop() == 0


@pytest.mark.parametrize("target, fix", [("encryption.keys", "chmod 600"), ("", "chmod 700")])
def test_a_key_file_or_data_dir_others_may_write_is_refused(tmp_path, slack, paddle_live, paddle_sandbox, target, fix):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    key_file = data / "encryption.keys"
    key_file.write_text("planted:" + "A" * 43 + "=\n")
    key_file.chmod(0o600)
    (data / target if target else data).chmod(0o666 if target else 0o777)
    bot = BotProcess(tmp_path, slack, paddle_live, paddle_sandbox)
    with pytest.raises(RuntimeError):
        bot.start(timeout=20)
    assert bot.process.returncode == 2
    log = bot.log()
    assert "Traceback" not in log
    assert "may be written by other users" in log and fix in log and str(data) in log


def test_a_key_file_others_may_read_is_used_with_a_warning(tmp_path, slack, paddle_live, paddle_sandbox):
    bot = BotProcess(tmp_path, slack, paddle_live, paddle_sandbox).start()
    bot.stop()
    (tmp_path / "data" / "encryption.keys").chmod(0o644)
    bot.start()
    try:
        assert "may be read by other users" in bot.log()
        assert "chmod 600" in bot.log()
    finally:
        assert bot.stop() == 0


def test_concurrent_db_upgrades_on_an_empty_database_all_succeed(database, tmp_path):
    env = database.shared("race") | {"CREDBOT_DATA_DIR": str(tmp_path / "data")}
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: cli(["db", "upgrade"], env, tmp_path), range(6)))
    assert [r.returncode for r in results] == [0] * 6, [r.stderr for r in results if r.returncode]


def test_an_upgrade_opens_a_sqlite_database_only_once_it_holds_the_migration_lock(tmp_path):
    """Switching a new, empty file to WAL answers "database is locked" at once (no busy timeout) while another
    process switches it too: the race above lost 1 of 6 under load. So no connection, not even the at-head check,
    is made before the lock (a connection would leave the database, -wal and -shm files)."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    lock_path = data / "credbot.db.migrate-lock"
    lock_path.touch(mode=0o600)
    with open(lock_path, "r+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "CREDBOT_DATA_DIR": str(data)}
        waiting = subprocess.Popen([sys.executable, "-m", "bot", "db", "upgrade"], env=env, cwd=tmp_path, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and waiting.poll() is None:
                time.sleep(0.1)
            assert waiting.poll() is None, waiting.communicate()
            assert sorted(p.name for p in data.iterdir()) == ["credbot.db.migrate-lock"]
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert "database is up to date" in out


def test_instances_started_at_once_on_an_empty_database_all_come_up(
    database, tmp_path, slack, paddle_live, paddle_sandbox
):
    """A rolling deploy: three instances on one fresh database. On SQLite they share the embedded default's
    data dir, so they also race to generate the key file; exactly one key is made and every instance uses it."""
    shared = {} if database.kind == "sqlite" else database.shared("deploy")
    if database.kind == "sqlite":
        shared = {"CREDBOT_DATA_DIR": str(tmp_path / "shared-data")}
    bots = [BotProcess(tmp_path / f"instance{i}", slack, paddle_live, paddle_sandbox, **shared) for i in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda b: b.start(timeout=60), bots))
        if database.kind == "sqlite":
            key_file = tmp_path / "shared-data" / "encryption.keys"
            assert len(key_file.read_text().strip().splitlines()) == 1
            assert sum("Generated a new encryption key" in b.log() for b in bots) == 1
            assert not [p for p in key_file.parent.iterdir() if p.name.startswith(".encryption.keys.")]
    finally:
        for b in bots:
            b.stop()
            b.close_database()
