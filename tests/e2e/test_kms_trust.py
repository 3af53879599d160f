"""KMS trust rooted outside the database (security issue 21, finding 1), through the real server and CLI against
moto's KMS on loopback, on SQLite and PostgreSQL.

The attacker writes the database (every table) but holds neither the bot's KMS role nor its environment. The
two attacks of the finding: a data key whose plaintext the attacker knows, wrapped under a KMS key of their own
and dated 2099; and a retired data key (its plaintext read from a host before the rotation) re-dated as the
newest. Either made new credentials open from the database alone; both are refused now."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, UTC

import pytest

from tests.e2e import test_kms
from tests.e2e.test_kms import cli, create_through_slack, data_key_context, data_key_rows
from tests.kit import BotProcess
from tests.kit.bots import serve_outcome

# moto's KMS on loopback, as test_kms.py starts it (pytest finds fixtures by their name in this module)
kms_endpoint, kms, kms_env = test_kms.kms_endpoint, test_kms.kms, test_kms.kms_env


def opened_with(bot: BotProcess, name: str, data_key_id: str, plaintext: bytes) -> str | None:
    """What an attacker holding ``plaintext`` reads of the credential ``name`` from the database alone: its API
    key when it was sealed under ``data_key_id``, else None."""
    from bot.credentials.service import binding
    from bot.credentials.types import Workspace
    from bot.credentials.vault import KeyRing, Sealed
    from bot.infra.secret import Secret
    from bot.infra.settings import EncryptionKey

    ((row_id, enterprise, team, destination, entity, key_id, blob),) = bot.sql(
        "SELECT id, enterprise_id, team_id, destination, entity_type, encryption_key_id, encrypted_key "
        "FROM credentials WHERE name = :name",
        name=name,
    )
    if key_id != data_key_id:
        return None
    ring = KeyRing([EncryptionKey(data_key_id, Secret(base64.b64encode(plaintext).decode()))])
    aad = binding(str(row_id), Workspace(enterprise, team), destination, entity)
    return ring.decrypt(Sealed(key_id, bytes(blob)), aad).reveal()


def insert_data_key(bot: BotProcess, key_id: str, wrapped: bytes, kms_arn: str, created: datetime, **more) -> None:
    columns = {"key_id": key_id, "wrapped_key": wrapped, "kms_key_id": kms_arn, "created_at": created, **more}
    bot.sql(f"INSERT INTO data_keys ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})", **columns)


def audit_actions(bot: BotProcess) -> list[tuple[str, str]]:
    return [(action, detail) for action, detail in bot.sql("SELECT action, detail FROM audit_events")]


def refused_at_start(bot: BotProcess, *words: str) -> None:
    """serve exited 2 with one line (and one ERROR log line) naming ``words``, no traceback; audited."""
    log = bot.log()
    assert "Traceback" not in log
    final = [line for line in log.splitlines() if line.startswith("Credbot cannot start")]
    assert len(final) == 1, log
    logged = [line for line in log.splitlines() if " ERROR " in line and "refused a data key" in line]
    assert len(logged) == 1, log
    for word in words:
        assert word in final[0] and word in logged[0], (word, final[0])
    assert any(action == "data_key.refused" and words[0] in detail for action, detail in audit_actions(bot))


@pytest.mark.parametrize("column", ["honest", "lying"], ids=["column names the attacker's key", "column lies"])
def test_a_data_key_wrapped_under_another_kms_key_and_dated_2099_is_refused(
    column, database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env
):
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | kms_env)).start()
    try:
        create_through_slack(bot, slack, paddle_live, "Before the plant")
        assert bot.stop() == 0
        ((real_key, real_arn),) = bot.sql("SELECT key_id, kms_key_id FROM data_keys")
        attacker = kms.create_key(Description="the attacker's own")["KeyMetadata"]
        planted = "dk-" + "e0" * 6
        generated = kms.generate_data_key(
            KeyId=attacker["KeyId"], KeySpec="AES_256", EncryptionContext={"app": "credbot", "data_key_id": planted}
        )
        claimed = attacker["Arn"] if column == "honest" else real_arn
        insert_data_key(bot, planted, generated["CiphertextBlob"], claimed, datetime(2099, 1, 1, tzinfo=UTC))

        status = serve_outcome(bot)
        if status is None:  # the code before issue 21: it served, and sealed under the planted key
            _, api_key = create_through_slack(bot, slack, paddle_live, "After the plant")
            stolen = opened_with(bot, "After the plant", planted, generated["Plaintext"])
            pytest.fail(
                f"serve started with a planted data key; the attacker read back the new credential: {stolen == api_key}"
            )
        assert status == 2, bot.log()
        refused_at_start(bot, planted, claimed)
        if column == "honest":
            assert "CREDBOT_KMS_RETIRED_KEY_IDS" in bot.log()

        bot.sql("DELETE FROM data_keys WHERE key_id = :key_id", key_id=planted)  # the operator removes it
        bot.start()
        _, api_key = create_through_slack(bot, slack, paddle_live, "After the clean-up")
        assert bot.sql("SELECT encryption_key_id FROM credentials WHERE name = 'After the clean-up'") == [(real_key,)]
        assert opened_with(bot, "After the clean-up", planted, generated["Plaintext"]) is None
    finally:
        bot.stop()
        bot.close_database()


def test_a_retired_data_key_re_dated_as_the_newest_is_refused(
    database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env
):
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | kms_env)).start()
    try:
        create_through_slack(bot, slack, paddle_live, "Before the rotation")
        assert bot.stop() == 0
        (old,) = data_key_rows(bot)
        # What the attacker learnt before the rotation (a host's memory): the old data key in the clear.
        leaked = kms.decrypt(CiphertextBlob=bytes(old["wrapped_key"]), EncryptionContext=data_key_context(old))
        rotated = cli(bot, ["keys", "rotate"])
        assert rotated.returncode == 0, rotated.stderr
        ((new_key,),) = bot.sql("SELECT encryption_key_id FROM credentials")
        assert new_key != old["key_id"]

        bot.sql(
            "UPDATE data_keys SET created_at = :at WHERE key_id = :key_id",
            at=datetime(2099, 1, 1, tzinfo=UTC),
            key_id=old["key_id"],
        )
        status = serve_outcome(bot)
        if status is None:
            _, api_key = create_through_slack(bot, slack, paddle_live, "After the re-dating")
            stolen = opened_with(bot, "After the re-dating", old["key_id"], leaked["Plaintext"])
            pytest.fail(
                f"serve started with a re-dated data key; the attacker read back the new credential: "
                f"{stolen == api_key}"
            )
        assert status == 2, bot.log()
        refused_at_start(bot, old["key_id"], "created_at was changed")

        bot.sql(
            "UPDATE data_keys SET created_at = :at WHERE key_id = :key_id", at=old["created_at"], key_id=old["key_id"]
        )  # restored from a backup
        bot.start()
        create_through_slack(bot, slack, paddle_live, "After the restore")
        assert bot.sql("SELECT encryption_key_id FROM credentials WHERE name = 'After the restore'") == [(new_key,)]
    finally:
        bot.stop()
        bot.close_database()


def test_a_data_key_from_before_the_migration_still_decrypts_but_never_encrypts_again(
    database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env
):
    """An existing deployment: its data key was wrapped with the old context (no creation time bound in)."""
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | kms_env)).start()
    try:
        first_id, first_key = create_through_slack(bot, slack, paddle_live, "Stored before the upgrade")
        assert bot.stop() == 0
        (row,) = data_key_rows(bot)
        plain = kms.decrypt(CiphertextBlob=bytes(row["wrapped_key"]), EncryptionContext=data_key_context(row))
        legacy = kms.encrypt(
            KeyId=kms_env["CREDBOT_KMS_KEY_ID"],
            Plaintext=plain["Plaintext"],
            EncryptionContext={"app": "credbot", "data_key_id": row["key_id"]},
        )
        bot.sql(
            "UPDATE data_keys SET wrapped_key = :blob, encryption_context = NULL, created_at = :at WHERE key_id = :id",
            blob=legacy["CiphertextBlob"],
            at=datetime(2099, 1, 1, tzinfo=UTC),  # dated ahead too: a date from before 0012 decides nothing
            id=row["key_id"],
        )
        bot.start()
        create_through_slack(bot, slack, paddle_live, "Stored after the upgrade")
        ((after,),) = bot.sql("SELECT encryption_key_id FROM credentials WHERE name = 'Stored after the upgrade'")
        assert after != row["key_id"] and after.startswith("dk-")
        revealed = cli(bot, ["credentials", "reveal", first_id])
        assert revealed.returncode == 0 and revealed.stdout.strip() == first_key, revealed.stderr
    finally:
        bot.stop()
        bot.close_database()


def test_a_data_key_older_than_its_time_makes_way_for_a_new_one(
    database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env
):
    """Even ours, bound to its real date: past 30 days the next start makes a new data key (the old one decrypts)."""
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | kms_env))
    made = datetime.now(UTC) - timedelta(days=40)
    context = {"app": "credbot", "data_key_id": "dk-" + "0a" * 6, "created": made.isoformat(timespec="microseconds")}
    generated = kms.generate_data_key(KeyId=kms_env["CREDBOT_KMS_KEY_ID"], KeySpec="AES_256", EncryptionContext=context)
    try:
        assert cli(bot, ["db", "upgrade"]).returncode == 0
        insert_data_key(
            bot,
            context["data_key_id"],
            generated["CiphertextBlob"],
            generated["KeyId"],
            made,
            encryption_context=json.dumps(context, sort_keys=True, separators=(",", ":")),
        )
        bot.start()
        create_through_slack(bot, slack, paddle_live, "Under a young key")
        ((used,),) = bot.sql("SELECT encryption_key_id FROM credentials")
        assert used != context["data_key_id"] and len(data_key_rows(bot)) == 2
    finally:
        bot.stop()
        bot.close_database()
