"""No residue (security finding 7): after `keys rotate`, a key replacement, a delete and `credentials purge`, no
old ciphertext is left readable in the database's files, while the bot keeps serving.

The files are read as they are on disk: PostgreSQL's table files under its data directory (after a CHECKPOINT,
so that what the server holds in memory is on disk too; the tests run on the same machine as the server) and
SQLite's database file and its write-ahead log.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.kit import Workspace, cli_env, core_service, created_id, run_cli, seed, test_key, view_text


def ciphertexts(bot) -> dict[str, bytes]:
    return {row[0]: bytes(row[1]) for row in bot.sql("SELECT id, encrypted_key FROM credentials")}


def database_files(bot) -> bytes:
    """Every byte of the files that hold the credentials table, as they are on disk now."""
    from bot.infra.db import sqlite_file

    sqlite = sqlite_file(bot.database_url)
    if sqlite is not None:
        files = [sqlite, sqlite.with_name(sqlite.name + "-wal"), sqlite.with_name(sqlite.name + "-journal")]
    else:
        bot.sql("CHECKPOINT")  # the server's dirty pages onto the files
        data = Path(bot.sql("SHOW data_directory")[0][0])
        relations = bot.sql(
            "SELECT pg_relation_filepath(c.oid), pg_relation_filepath(NULLIF(c.reltoastrelid, 0)) "
            "FROM pg_class c WHERE c.oid = 'credentials'::regclass"
        )[0]
        files = [data / f"{path}{suffix}" for path in relations if path for suffix in ("", ".1", ".2")]
    # Read by another process: closing a file this process opened would drop the locks its SQLite connections
    # (the tests' own engine) hold on it, and those connections then read a stale snapshot.
    existing = [str(file) for file in files if file.exists()]
    return subprocess.run(["cat", *existing], capture_output=True, check=True, timeout=30).stdout


def readable(blobs, raw: bytes) -> list[bytes]:
    return [blob for blob in blobs if blob in raw]


@contextmanager
def served_throughout(workspace: Workspace) -> Iterator[list[int]]:
    """Signed /list-credentials requests, one after another, for as long as the block runs: their statuses."""
    statuses: list[int] = []
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            statuses.append(workspace.command("/list-credentials").status)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    try:
        yield statuses
    finally:
        done.set()
        asker.join(timeout=30)
    assert statuses and set(statuses) == {200}, statuses  # the bot answered every request meanwhile


def seeded(bot, slack, count: int = 3, team_id: str = "T0RESIDUE") -> tuple[Workspace, dict[str, bytes]]:
    workspace = Workspace(bot, slack, team_id=team_id)
    core = core_service(bot)
    before = ciphertexts(bot)
    for number in range(count):
        seed(core, workspace, f"Residue {number}")
    old = {k: v for k, v in ciphertexts(bot).items() if k not in before}
    assert len(readable(old.values(), database_files(bot))) == count  # present in the files before the change
    return workspace, old


def assert_gone(bot, old: dict[str, bytes], still: Callable[[dict[str, bytes]], dict[str, bytes]] = dict) -> None:
    raw = database_files(bot)
    assert readable(old.values(), raw) == [], "old ciphertexts are still readable in the database files"
    live = ciphertexts(bot)
    assert readable(still(live).values(), raw) == list(still(live).values())  # the files were read for real


def test_after_keys_rotate_no_old_ciphertext_is_left(start_bot, database, slack, tmp_path):
    key_a, key_b = test_key("keyA"), test_key("keyB")
    bot = start_bot(DATABASE_URL=database.new_url("residue"), CREDBOT_ENCRYPTION_KEYS=key_a)
    workspace, old = seeded(bot, slack)
    bot.stop()
    bot.env["CREDBOT_ENCRYPTION_KEYS"] = f"{key_b},{key_a}"
    bot.start()
    with served_throughout(workspace):
        rotated = run_cli(["keys", "rotate"], cli_env(bot), tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "done: 3 re-encrypted" in rotated.stdout
    assert sorted(ciphertexts(bot)) == sorted(old) and not set(ciphertexts(bot).values()) & set(old.values())
    assert_gone(bot, old)


def test_after_a_key_replacement_no_old_ciphertext_is_left(start_bot, slack, paddle_live):
    bot = start_bot()
    workspace = Workspace(bot, slack)
    workspace.open_home()
    credential_id = created_id(workspace, "Replaced", paddle_live.new_key("live"))
    old = ciphertexts(bot)
    assert readable(old.values(), database_files(bot)) == list(old.values())
    with served_throughout(Workspace(bot, slack, team_id="T0OTHER")):
        workspace.choose(f"replace:{credential_id}")
        modal = workspace.opened(lambda v: v.get("callback_id") == "credential_replace")
        workspace.submit(modal, {"api_key": paddle_live.new_key("live")})
        workspace.view_containing(modal["id"], "was replaced")
        bot.wait_idle()
    assert ciphertexts(bot).keys() == old.keys() and ciphertexts(bot) != old
    assert_gone(bot, old)
    assert "Traceback" not in bot.log()


def test_after_a_delete_no_old_ciphertext_is_left(start_bot, slack, paddle_live):
    bot = start_bot()
    workspace = Workspace(bot, slack)
    workspace.open_home()
    kept = created_id(workspace, "Kept", paddle_live.new_key("live"))
    doomed = created_id(workspace, "Doomed", paddle_live.new_key("live"))
    old = {doomed: ciphertexts(bot)[doomed]}
    assert readable(old.values(), database_files(bot)) == list(old.values())
    with served_throughout(Workspace(bot, slack, team_id="T0OTHER")):
        workspace.choose(f"delete:{doomed}")
        confirm = workspace.opened(lambda v: v.get("callback_id") == "credential_delete")
        workspace.submit(confirm, {})
        assert "was deleted" in view_text(workspace.view_containing(confirm["id"], "was deleted"))
        bot.wait_idle()
    assert list(ciphertexts(bot)) == [kept]
    assert_gone(bot, old)


def test_after_credentials_purge_no_old_ciphertext_is_left(start_bot, slack, tmp_path):
    bot = start_bot()
    other, kept = seeded(bot, slack, 2, team_id="T0KEPT")
    _, old = seeded(bot, slack, 3, team_id="T0GONE")
    with served_throughout(other):
        purged = run_cli(["credentials", "purge", "--workspace", "T0GONE", "--yes"], cli_env(bot), tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert "deleted 3 credential(s) of T0GONE" in purged.stdout
    assert sorted(ciphertexts(bot)) == sorted(kept)
    assert_gone(bot, old)


def test_a_transaction_that_can_still_read_the_old_row_is_waited_for_then_named(start_bot, database, slack):
    """VACUUM FULL copies a row version that an open transaction may still read: the scrub waits for it, and
    names it when it does not end, rather than reporting a scrub that left the ciphertext in the new file."""
    import pytest
    from sqlalchemy import text

    from bot.infra.residue import ResidueLeft, scrub

    if database.kind != "postgresql":
        pytest.skip("SQLite's checkpoint waits for readers itself (busy_timeout)")
    bot = start_bot()
    _, old = seeded(bot, slack, 1)
    reader = bot.engine.connect()
    held = reader.begin()
    reader.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    assert reader.execute(text("SELECT count(*) FROM credentials")).scalar_one() == 1  # its snapshot, kept
    bot.sql("DELETE FROM credentials")
    try:
        with pytest.raises(ResidueLeft, match=r"still visible to transaction \d+ \(open since"):
            scrub(bot.engine, ["credentials"], wait=0.5)
        assert len(readable(old.values(), database_files(bot))) == 1  # nothing was claimed scrubbed
    finally:
        held.rollback()
        reader.close()
    scrub(bot.engine, ["credentials"], wait=5)
    assert readable(old.values(), database_files(bot)) == []
