"""Database edges (issue 19, item 6), through the real CLI: a PostgreSQL address that accepts and never answers
fails within DATABASE_CONNECT_TIMEOUT_SECONDS naming host and port; `db upgrade` on a read-only or unusable data
dir exits 2 naming the path; a read-only SQLite copy can be listed, shown and audited, and nothing is written.

Tests run as root, which file modes do not stop: read-only here is the immutable attribute (chattr +i), which
stops root too, as a read-only mount would."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.e2e.test_cli_contract import credbot, everything_under, one_line_failure, store_one_credential
from tests.kit import test_key


@pytest.fixture
def silent_server():
    """A loopback port that accepts connections and never says a word (an overloaded or half-dead server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.parametrize(
    "args", [["credentials", "list"], ["db", "upgrade"], ["keys", "status"], ["serve"]], ids=" ".join
)
def test_a_server_that_never_answers_fails_within_the_connect_timeout_naming_host_and_port(
    args, silent_server, tmp_path
):
    env = {
        "DATABASE_URL": f"postgresql://credbot:hunter2@127.0.0.1:{silent_server}/credbot",
        "CREDBOT_ENCRYPTION_KEYS": test_key("k1"),
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
    }
    try:
        result = credbot(args, tmp_path, **env)  # without a connect timeout this waits for ever
    except subprocess.TimeoutExpired:
        pytest.fail("the command was still connecting after a minute")
    line = one_line_failure(
        result, 1, f"127.0.0.1:{silent_server}", "no answer within 2 s", "DATABASE_CONNECT_TIMEOUT_SECONDS"
    )
    assert "hunter2" not in line


def test_the_connect_timeout_is_a_checked_setting(tmp_path):
    result = credbot(["credentials", "list"], tmp_path, DATABASE_CONNECT_TIMEOUT_SECONDS="soon")
    assert result.returncode == 2
    assert "DATABASE_CONNECT_TIMEOUT_SECONDS must be a whole number from 1 to 300" in result.stderr


@pytest.fixture
def immutable():
    """chattr +i on the paths given (undone afterwards); skips where the file system or user cannot."""
    marked: list[Path] = []

    def mark(*paths: Path) -> None:
        for path in paths:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
                pytest.skip("chattr +i is not available here (needs root and a file system that supports it)")
            marked.append(path)

    yield mark
    for path in reversed(marked):
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("content", ["empty", "migrated"])
def test_db_upgrade_on_a_read_only_data_dir_exits_2_naming_it(content, immutable, tmp_path):
    data = tmp_path / "data"
    if content == "migrated":
        assert credbot(["db", "upgrade"], tmp_path, CREDBOT_DATA_DIR=str(data)).returncode == 0
    else:
        data.mkdir(mode=0o700)
    immutable(*sorted(data.iterdir()), data)
    one_line_failure(
        credbot(["db", "upgrade"], tmp_path, CREDBOT_DATA_DIR=str(data)),
        2,
        f"the directory {data} is read-only",
        "CREDBOT_DATA_DIR",
    )


def test_db_upgrade_on_a_data_dir_that_is_a_file_exits_2_naming_it(tmp_path):
    (tmp_path / "data").write_text("not a directory")
    one_line_failure(
        credbot(["db", "upgrade"], tmp_path, CREDBOT_DATA_DIR=str(tmp_path / "data")),
        2,
        str(tmp_path / "data"),
        "CREDBOT_DATA_DIR",
    )


@pytest.fixture
def read_only_copy(tmp_path) -> tuple[dict[str, str], str, Path]:
    """A copy of a database holding one credential (and its 'created' event), in a folder of its own."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/live/credbot.db", "CREDBOT_ENCRYPTION_KEYS": test_key("k1")}
    assert credbot(["db", "upgrade"], tmp_path, **env).returncode == 0
    credential_id = store_one_credential(env, tmp_path)
    copy = tmp_path / "copy"
    copy.mkdir(mode=0o700)
    shutil.copy2(tmp_path / "live" / "credbot.db", copy / "credbot.db")
    return env | {"DATABASE_URL": f"sqlite:///{copy}/credbot.db"}, credential_id, copy


@pytest.mark.parametrize("read_only", ["file", "file and folder"])
def test_a_read_only_copy_can_be_listed_shown_and_audited(read_only, read_only_copy, immutable, tmp_path):
    env, credential_id, copy = read_only_copy
    immutable(copy / "credbot.db", *([copy] if read_only == "file and folder" else []))
    before = {path: path.read_bytes() for path in everything_under(copy)}
    listed = credbot(["credentials", "list", "--json"], tmp_path, **env)
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == [credential_id]
    shown = credbot(["credentials", "show", credential_id, "--json"], tmp_path, **env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["name"] == "For the CLI", shown.stderr
    trail = credbot(["audit", "--json"], tmp_path, **env)
    assert trail.returncode == 0, trail.stderr
    assert [event["action"] for event in json.loads(trail.stdout)] == ["credential.create"]
    assert {path: path.read_bytes() for path in everything_under(copy)} == before  # no journal, WAL or -shm
