"""A key file on disk is never replaced (issue 19, item 5), through the real CLI and bot.api: with data in the
database and the embedded default's key file gone, `serve` and every command say the file is lost and to
restore it, and create nothing; bot.api never creates a database or a key and fails with CredbotUnavailable."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_cli_contract import credbot, everything_under, one_line_failure, store_one_credential
from tests.kit import REPO, run_python

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}


def key_file_of(folder: Path) -> Path:
    return folder / ".credbot" / "encryption.keys"


def embedded_with_a_credential(folder: Path) -> str:
    """The embedded default (database and key file in ./.credbot) holding one credential."""
    assert credbot(["db", "upgrade"], folder).returncode == 0
    return store_one_credential({}, folder)


def only_a_key_check(folder: Path) -> None:
    """What a first `serve` leaves before any credential exists: the key check of the key it generated."""
    assert credbot(["db", "upgrade"], folder).returncode == 0
    with sqlite3.connect(folder / ".credbot" / "credbot.db") as conn:
        conn.execute("INSERT INTO key_checks (key_id, check_value, created_at) VALUES ('k0', x'00', '2024-01-01')")


@pytest.mark.parametrize("held", ["a credential", "only a key check"])
def test_serve_with_data_and_no_key_file_says_restore_it_and_creates_nothing(held, tmp_path):
    embedded_with_a_credential(tmp_path) if held == "a credential" else only_a_key_check(tmp_path)
    key_file_of(tmp_path).unlink(missing_ok=True)
    before = everything_under(tmp_path)
    result = credbot(["serve"], tmp_path, **SLACK)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the migrations' log lines
    for words in ("Credbot cannot start", str(key_file_of(tmp_path)), "restore the key file from your backup"):
        assert words in line, line
    assert "CREDBOT_ENCRYPTION_KEYS" not in line  # a setting the operator never used
    assert not key_file_of(tmp_path).exists() and everything_under(tmp_path) == before


@pytest.mark.parametrize(
    "args", [["keys", "status"], ["keys", "rotate"], ["credentials", "reveal", "ID"]], ids=" ".join
)
def test_other_commands_say_the_key_file_is_lost(args, tmp_path):
    credential_id = embedded_with_a_credential(tmp_path)
    key_file_of(tmp_path).unlink()
    args = [credential_id if part == "ID" else part for part in args]
    one_line_failure(
        credbot(args, tmp_path),
        2,
        f"the key file {key_file_of(tmp_path)} is missing",
        "1 credential",
        "restore the key file from your backup",
    )
    assert not key_file_of(tmp_path).exists()


@pytest.mark.parametrize(
    "args", [["keys", "status"], ["keys", "rotate"], ["credentials", "reveal", "ID"]], ids=" ".join
)
def test_a_key_file_already_replaced_is_named_rather_than_a_setting(args, tmp_path):
    """Where an older version replaced the lost file with a new key: the stored key id is not in it."""
    credential_id = embedded_with_a_credential(tmp_path)
    key_file_of(tmp_path).write_text(credbot(["keys", "generate", "--key-id", "fresh"], tmp_path).stdout)
    args = [credential_id if part == "ID" else part for part in args]
    result = credbot(args, tmp_path)
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"the key file {key_file_of(tmp_path)} does not hold" in line and "restore it from your backup" in line
    assert "CREDBOT_ENCRYPTION_KEYS" not in line


API_PROGRAM = """
import sys
from bot.api import CredbotUnavailable, get_api_key, list_credentials
for call in (lambda: get_api_key(sys.argv[1]), list_credentials):
    try:
        call()
        print("no error")
    except CredbotUnavailable as error:
        print(error)
"""


def api(folder: Path, credential_id: str = "00000000-0000-0000-0000-000000000000"):
    return run_python(["-c", API_PROGRAM, credential_id], {"PYTHONPATH": str(REPO), "HOME": str(folder)}, folder)


def test_bot_api_in_a_folder_without_data_creates_nothing_and_says_what_to_run(tmp_path):
    result = api(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all("no database at" in line and "credbot db upgrade" in line for line in lines)
    assert "SELECT" not in result.stdout + result.stderr
    assert everything_under(tmp_path) == []


def test_bot_api_with_the_key_file_gone_says_restore_it(tmp_path):
    credential_id = embedded_with_a_credential(tmp_path)
    key_file_of(tmp_path).unlink()
    result = api(tmp_path, credential_id)
    assert result.returncode == 0, result.stderr
    reveal, listing = result.stdout.strip().splitlines()
    assert "is missing" in reveal and "restore the key file from your backup" in reveal
    assert listing == "no error"  # listing needs no key
    assert not key_file_of(tmp_path).exists()
    shown = credbot(["credentials", "show", credential_id, "--json"], tmp_path)
    assert json.loads(shown.stdout)["id"] == credential_id
