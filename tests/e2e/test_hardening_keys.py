"""Key material: weak or repeated material and the wrong material under a known key id stop start-up (exit 2).

Security issue finding 9, through the real server on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import os

import pytest

from tests.kit import BotProcess, test_key


def material(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def refused(bot: BotProcess) -> str:
    with pytest.raises(RuntimeError):
        bot.start(timeout=30)
    assert bot.process.returncode == 2
    log = bot.log()
    assert "Traceback" not in log
    return log


@pytest.mark.parametrize("raw", [bytes(32), b"\x01\x02" * 16, bytes(range(8)) * 4], ids=["zero", "pattern", "ramp8"])
def test_key_material_that_is_not_random_is_refused(database, tmp_path, slack, paddle_live, paddle_sandbox, raw):
    env = database.shared("weak") | {"CREDBOT_ENCRYPTION_KEYS": f"weak:{material(raw)}"}
    log = refused(BotProcess(tmp_path, slack, paddle_live, paddle_sandbox, **env))
    assert "encryption key 'weak' is not random" in log and "keys generate" in log
    assert material(raw) not in log


def test_one_material_under_two_ids_is_refused(database, tmp_path, slack, paddle_live, paddle_sandbox):
    secret = material(os.urandom(32))
    env = database.shared("twice") | {"CREDBOT_ENCRYPTION_KEYS": f"first:{secret},second:{secret}"}
    log = refused(BotProcess(tmp_path, slack, paddle_live, paddle_sandbox, **env))
    assert "'first' and 'second' hold the same material" in log
    assert secret not in log


def test_the_wrong_material_under_a_known_id_is_refused_by_name(database, tmp_path, slack, paddle_live, paddle_sandbox):
    env = database.shared("kcv") | {"CREDBOT_ENCRYPTION_KEYS": test_key("main")}
    bot = BotProcess(tmp_path / "first", slack, paddle_live, paddle_sandbox, **env).start()
    assert bot.stop() == 0
    wrong = test_key("main")
    log = refused(
        BotProcess(tmp_path / "wrong", slack, paddle_live, paddle_sandbox, **env | {"CREDBOT_ENCRYPTION_KEYS": wrong})
    )
    assert "key id 'main' is not the key that id was first used with" in log
    assert wrong.split(":", 1)[1] not in log


def test_a_new_primary_beside_the_right_old_key_starts_and_is_remembered(
    database, tmp_path, slack, paddle_live, paddle_sandbox
):
    old = test_key("old")
    env = database.shared("kcv-rotate") | {"CREDBOT_ENCRYPTION_KEYS": old}
    BotProcess(tmp_path / "a", slack, paddle_live, paddle_sandbox, **env).start().stop()
    new = test_key("new")
    bot = BotProcess(
        tmp_path / "b", slack, paddle_live, paddle_sandbox, **env | {"CREDBOT_ENCRYPTION_KEYS": f"{new},{old}"}
    )
    bot.start()
    try:
        assert sorted(row[0] for row in bot.sql("SELECT key_id FROM key_checks")) == ["new", "old"]
    finally:
        assert bot.stop() == 0
        bot.close_database()
    log = refused(
        BotProcess(
            tmp_path / "c",
            slack,
            paddle_live,
            paddle_sandbox,
            **env | {"CREDBOT_ENCRYPTION_KEYS": f"{test_key('new')},{old}"},
        )
    )
    assert "key id 'new'" in log
