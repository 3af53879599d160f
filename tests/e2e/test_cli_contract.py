"""The command line contract (docs/cli-contract.md, summed up in the README), through the real CLI in a subprocess: exit
statuses, one line on stderr and no traceback for every expected failure, nothing created by commands that read,
one JSON document for --json."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.kit import REPO, make_key, run_python, test_key

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
READ_ONLY = (
    ["credentials", "list"],
    ["credentials", "list", "--json"],
    ["credentials", "show", UNKNOWN_ID],
    ["credentials", "reveal", UNKNOWN_ID],
    ["keys", "status"],
    ["audit"],
    ["audit", "--json"],
    ["workspaces", "list"],
    ["workspaces", "list", "--json"],
    ["workspaces", "show", "T0NOBODY"],
)
UNREACHABLE_POSTGRES = "postgresql://credbot:hunter2-secret@127.0.0.1:1/credbot"


def credbot(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m bot ARGS`` in ``cwd`` with only these settings (the default data dir is ``cwd/.credbot``)."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(cwd)}
    return run_python(["-m", "bot", *args], base | env, cwd)


def one_line_failure(result: subprocess.CompletedProcess, status: int, *words: str) -> str:
    """Assert the contract for an expected failure; returns the line."""
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def everything_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_on_a_fresh_folder_create_nothing_and_name_db_upgrade(args, tmp_path):
    result = credbot(args, tmp_path)
    one_line_failure(result, 1, "no database at", str(tmp_path / ".credbot" / "credbot.db"), "credbot db upgrade")
    assert "cannot start" not in result.stderr and result.stdout == ""
    assert everything_under(tmp_path) == []  # no data dir, no database, no key


def test_a_database_without_tables_is_named_and_left_alone(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    env = {"DATABASE_URL": f"sqlite:///{path}", "CREDBOT_ENCRYPTION_KEYS": test_key("k1")}
    for args in READ_ONLY:
        one_line_failure(credbot(args, tmp_path, **env), 1, "has no Credbot tables", "credbot db upgrade")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade"],
        ["credentials", "list"],
        ["credentials", "show", UNKNOWN_ID],
        ["keys", "status"],
        ["keys", "rotate"],
        ["audit"],
    ],
    ids=" ".join,
)
def test_an_unreachable_database_is_one_line_without_its_password(args, tmp_path):
    result = credbot(args, tmp_path, DATABASE_URL=UNREACHABLE_POSTGRES, CREDBOT_ENCRYPTION_KEYS=test_key("k1"))
    line = one_line_failure(result, 1, "127.0.0.1:1", "cannot be used", "Connection refused")
    assert "hunter2" not in line and "cannot start" not in line


def test_serve_says_cannot_start_on_an_unreachable_database(tmp_path):
    result = credbot(
        ["serve"],
        tmp_path,
        DATABASE_URL=UNREACHABLE_POSTGRES,
        CREDBOT_ENCRYPTION_KEYS=test_key("k1"),
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_APP_TOKEN="xapp-1",
    )
    one_line_failure(result, 1, "Credbot cannot start", "cannot be used")


def test_an_unusable_data_dir_is_one_line(tmp_path):
    one_line_failure(
        credbot(["credentials", "list"], tmp_path, CREDBOT_DATA_DIR="/proc/nope"),
        1,
        "no database at /proc/nope/credbot.db",
        "db upgrade",
    )
    one_line_failure(
        credbot(["db", "upgrade"], tmp_path, CREDBOT_DATA_DIR="/proc/nope"), 2, "/proc/nope", "CREDBOT_DATA_DIR"
    )
    one_line_failure(
        credbot(["serve"], tmp_path, CREDBOT_DATA_DIR="/proc/nope", SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1"),
        2,
        "Credbot cannot start",
        "/proc/nope",
        "CREDBOT_DATA_DIR",
    )


def test_db_upgrade_in_the_default_data_dir_says_where_and_makes_no_key(tmp_path):
    first = credbot(["db", "upgrade"], tmp_path)
    database = tmp_path / ".credbot" / "credbot.db"
    assert first.returncode == 0 and f"created the database at {database}" in first.stdout
    assert not (tmp_path / ".credbot" / "encryption.keys").exists()  # only serve makes a key
    again = credbot(["db", "upgrade"], tmp_path)
    assert again.returncode == 0 and "created" not in again.stdout


@pytest.fixture
def migrated(tmp_path) -> dict[str, str]:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/credbot.db", "CREDBOT_ENCRYPTION_KEYS": test_key("keyA")}
    assert credbot(["db", "upgrade"], tmp_path, **env).returncode == 0
    return env


def test_an_empty_database_lists_json_arrays_and_quietly(migrated, tmp_path):
    for args in (["credentials", "list", "--json"], ["audit", "--json"]):
        result = credbot(args, tmp_path, **migrated)
        assert result.returncode == 0 and json.loads(result.stdout) == [], result.stderr
        assert result.stderr == ""  # no Alembic lines from a command that only reads
    status = credbot(["keys", "status", "--json"], tmp_path, **migrated)
    assert json.loads(status.stdout) == [{"key_id": "keyA", "role": "primary", "credentials": 0}]
    table = credbot(["credentials", "list"], tmp_path, **migrated)
    assert table.stdout.startswith("id\tname\t") and len(table.stdout.splitlines()) == 1


@pytest.mark.parametrize("command", ["show", "reveal", "rotate"])
@pytest.mark.parametrize("credential_id", [UNKNOWN_ID, "not-a-uuid"])
def test_an_unknown_credential_id_is_one_line_exit_1(command, credential_id, migrated, tmp_path):
    result = credbot(["credentials", command, credential_id], tmp_path, **migrated)
    line = one_line_failure(result, 1, "no credential with id", credential_id)
    assert "cannot start" not in line and result.stdout == ""


def store_one_credential(env: dict[str, str], tmp_path: Path) -> str:
    """A credential under the current key, written through the core as the bot would."""
    from bot import wiring
    from bot.credentials.types import Workspace
    from bot.infra.db import create_db_engine, session_factory
    from bot.infra.secret import Secret
    from bot.infra.settings import load_settings
    from bot.keys.local_keys import load_key_ring

    settings = load_settings(
        env | {"CREDBOT_DATA_DIR": str(tmp_path / ".credbot"), "CREDBOT_VERIFY_KEYS": "false"}, purpose="keys"
    )
    engine = create_db_engine(settings.database_url)
    try:
        service = wiring.credential_service(settings, session_factory(engine), load_key_ring(settings))
        return service.create(
            Workspace("", "T0CLI"),
            "U0CLI",
            name="For the CLI",
            entity_type="bill",
            destination="paddle",
            api_key=Secret(make_key("live")),
        ).id
    finally:
        engine.dispose()


def test_a_stored_key_that_is_not_configured_fails_status_and_reveal(migrated, tmp_path):
    credential_id = store_one_credential(migrated, tmp_path)
    other = migrated | {"CREDBOT_ENCRYPTION_KEYS": test_key("keyB")}
    status = credbot(["keys", "status"], tmp_path, **other)
    one_line_failure(status, 1, "'keyA' (1 credential)", "CREDBOT_ENCRYPTION_KEYS")
    assert "keyA\tMISSING\t1 credential(s)" in status.stdout
    reveal = credbot(["credentials", "reveal", credential_id], tmp_path, **other)
    one_line_failure(reveal, 2, credential_id, "'keyA'", "not configured")
    assert reveal.stdout == ""
    assert credbot(["keys", "status"], tmp_path, **migrated).returncode == 0


def test_reveal_with_the_key_file_gone_says_so_and_makes_no_new_key(tmp_path):
    assert credbot(["db", "upgrade"], tmp_path).returncode == 0
    credential_id = store_one_credential({}, tmp_path)  # the embedded default: the key file is made here
    key_file = tmp_path / ".credbot" / "encryption.keys"
    key_file.unlink()
    for args in (["credentials", "reveal", credential_id], ["keys", "status"]):
        one_line_failure(credbot(args, tmp_path), 2, f"the key file {key_file} is missing", "restore")
    assert not key_file.exists()
    shown = credbot(["credentials", "show", credential_id, "--json"], tmp_path)  # needs no key
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == credential_id


def test_usage_errors_are_one_line_exit_2(tmp_path):
    for args in (
        ["audit", "--limit", "0"],
        ["audit", "--since", "last tuesday"],
        ["credentials"],
        ["nonsense"],
        ["credentials", "list", "--destination", "stripe"],
        ["credentials", "rotate", UNKNOWN_ID, "--grace-seconds", "86401"],
        ["credentials", "rotate", UNKNOWN_ID, "--grace-seconds", "five"],
    ):
        one_line_failure(credbot(args, tmp_path), 2)
    assert everything_under(tmp_path) == []


def test_debug_adds_the_traceback(tmp_path):
    for result in (
        credbot(["--debug", "credentials", "list"], tmp_path),
        credbot(["credentials", "list"], tmp_path, LOG_LEVEL="DEBUG"),
    ):
        assert result.returncode == 1
        assert "Traceback" in result.stderr and result.stderr.strip().splitlines()[-1].startswith("credbot")


def test_only_one_cli_module_opens_the_core_and_the_database():
    """Every command goes through bot/cli/keys_and_database.py for keys and the database."""
    reaching_in = {}
    for path in sorted((REPO / "bot" / "cli").glob("*.py")):
        if path.name == "keys_and_database.py":
            continue
        names = {
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        names |= {
            alias.name
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        bad = sorted(n for n in names if n.startswith(("bot.credentials", "bot.infra.db", "bot.keys", "sqlalchemy")))
        if bad:
            reaching_in[path.name] = bad
    assert reaching_in == {}
