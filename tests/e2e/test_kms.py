"""AWS KMS envelope encryption (issue 13) through the real bot and CLI, against moto's KMS as a loopback server
that these tests start (127.0.0.1, dummy credentials: no request leaves the machine), on both databases."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.kit import test_key
from tests.kit import BotProcess, Workspace, free_port, run_python, view_text


def threaded_moto():
    """moto's KMS on loopback (imported here, not at the top: every xdist worker collects this file)."""
    from moto.server import ThreadedMotoServer

    return ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)


def kms_client(endpoint: str):
    import boto3

    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


AWS = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def kms_endpoint():
    server = threaded_moto()
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def kms(kms_endpoint):
    return kms_client(kms_endpoint)


@pytest.fixture
def kms_env(kms, kms_endpoint) -> dict[str, str]:
    """Settings for a bot on a new KMS key, with no local key (empty: unset)."""
    key_id = kms.create_key(Description="credbot test")["KeyMetadata"]["KeyId"]
    return {**AWS, "AWS_ENDPOINT_URL": kms_endpoint, "CREDBOT_KMS_KEY_ID": key_id, "CREDBOT_ENCRYPTION_KEYS": ""}


def cli(bot: BotProcess, args: list[str], **overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in (bot.env | overrides).items() if v != ""}
    bot.workdir.mkdir(parents=True, exist_ok=True)
    return run_python(["-m", "bot", *args], env, bot.workdir)


def one_line(result: subprocess.CompletedProcess, status: int, *words: str) -> str:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    # serve logs its start-up (timestamped lines) before the one line that says why it stopped
    lines = [line for line in result.stderr.strip().splitlines() if not line[:4].isdigit()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def create_through_slack(bot: BotProcess, slack, paddle_live, name: str) -> tuple[str, str]:
    """Create a credential with the wizard; returns (credential id, API key)."""
    api_key = paddle_live.new_key("live")
    workspace = Workspace(bot, slack)
    view, reply = workspace.run_wizard(name, "paddle", api_key)
    assert "Credential created" in view_text(workspace.outcome(view["id"])), bot.log()
    ((credential_id,),) = bot.sql("SELECT id FROM credentials WHERE name = :name", name=name)
    return str(credential_id), api_key


def stored_bytes(bot: BotProcess) -> bytes:
    """Everything the database holds: the SQLite file, or every row of every Credbot table on PostgreSQL."""
    if bot.database_kind == "sqlite":
        bot.close_database()
        return b"".join(
            p.read_bytes() for p in Path(bot.database_url.removeprefix("sqlite:///")).parent.glob("credbot.db*")
        )
    dump = b""
    for table in ("credentials", "data_keys", "key_checks", "audit_events"):
        for row in bot.sql(f"SELECT * FROM {table}"):
            dump += b"|".join(
                v if isinstance(v, bytes) else bytes(v) if isinstance(v, memoryview) else str(v).encode() for v in row
            )
    return dump


def data_key_context(row: dict) -> dict[str, str]:
    """The KMS encryption context a stored data key was wrapped with (as sent, or the one from before 0012)."""
    stored = row.get("encryption_context")
    return json.loads(stored) if stored else {"app": "credbot", "data_key_id": row["key_id"]}


def data_key_rows(bot: BotProcess) -> list[dict]:
    """Every data_keys row as a mapping (whatever columns this version of the schema has)."""
    from sqlalchemy import text

    with bot.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text("SELECT * FROM data_keys"))]


def plaintext_data_keys(bot: BotProcess, kms) -> list[bytes]:
    keys = []
    for row in data_key_rows(bot):
        answer = kms.decrypt(CiphertextBlob=bytes(row["wrapped_key"]), EncryptionContext=data_key_context(row))
        keys.append(answer["Plaintext"])
    return keys


def test_kms_only_create_restart_and_decrypt(database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env):
    workdir = tmp_path / "bot"
    settings = database.provision(workdir) | kms_env
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **settings).start()
    try:
        credential_id, api_key = create_through_slack(bot, slack, paddle_live, "Billing via KMS")
        assert bot.stop() == 0
        assert not (workdir / "data" / "encryption.keys").exists()  # no key file, with any database
        ((data_key_id, kms_key_arn),) = bot.sql("SELECT key_id, kms_key_id FROM data_keys")
        assert data_key_id.startswith("dk-") and kms_env["CREDBOT_KMS_KEY_ID"] in kms_key_arn
        assert bot.sql("SELECT encryption_key_id FROM credentials") == [(data_key_id,)]
        everything = stored_bytes(bot)
        assert api_key.encode() not in everything
        for plain in plaintext_data_keys(bot, kms):
            assert plain not in everything and base64.b64encode(plain) not in everything
        bot.start()  # restart: the data key unwrapped again
        revealed = cli(bot, ["credentials", "reveal", credential_id])
        assert revealed.returncode == 0, revealed.stderr
        assert revealed.stdout.strip() == api_key
        status = cli(bot, ["keys", "status"])
        assert f"{data_key_id}\tprimary\t1 credential(s)" in status.stdout
    finally:
        bot.stop()
        bot.close_database()


@pytest.mark.parametrize("problem", ["kms down", "unknown key", "disabled key"])
def test_start_up_refuses_unusable_kms_in_one_line(
    problem, database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env, closed_port
):
    settings = kms_env
    if problem == "kms down":
        settings = kms_env | {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port}"}
    elif problem == "unknown key":
        settings = kms_env | {"CREDBOT_KMS_KEY_ID": "alias/credbot-no-such-key"}
    else:
        kms.disable_key(KeyId=kms_env["CREDBOT_KMS_KEY_ID"])
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | settings))
    started = time.monotonic()
    result = cli(bot, ["serve"])
    assert time.monotonic() - started < 30  # bounded timeouts and attempts
    one_line(result, 2, "KMS", settings["CREDBOT_KMS_KEY_ID"])
    bot.close_database()


def test_moving_in_from_local_keys_and_back_out(database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env):
    workdir = tmp_path / "bot"
    local = database.provision(workdir) | {"CREDBOT_ENCRYPTION_KEYS": test_key("local1")}
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **local).start()
    try:
        first_id, first_key = create_through_slack(bot, slack, paddle_live, "Before KMS")
        bot.stop()
        both = {**kms_env, "CREDBOT_ENCRYPTION_KEYS": local["CREDBOT_ENCRYPTION_KEYS"]}
        moved = cli(bot, ["keys", "rotate", "--batch-size", "1"], **both)
        assert moved.returncode == 0, moved.stderr
        ((data_key_id,),) = bot.sql("SELECT DISTINCT encryption_key_id FROM credentials")
        assert data_key_id.startswith("dk-")
        kms_only = cli(bot, ["credentials", "reveal", first_id], **kms_env)  # the local key can go
        assert kms_only.returncode == 0 and kms_only.stdout.strip() == first_key, kms_only.stderr
        back = {**kms_env, "CREDBOT_ENCRYPTION_KEYS": test_key("local2")}
        out = cli(bot, ["keys", "rotate", "--to-local"], **back)
        assert out.returncode == 0, out.stderr
        assert bot.sql("SELECT DISTINCT encryption_key_id FROM credentials") == [("local2",)]
        local_only = cli(
            bot,
            ["credentials", "reveal", first_id],
            CREDBOT_KMS_KEY_ID="",
            CREDBOT_ENCRYPTION_KEYS=back["CREDBOT_ENCRYPTION_KEYS"],
        )
        assert local_only.returncode == 0 and local_only.stdout.strip() == first_key, local_only.stderr
    finally:
        bot.stop()
        bot.close_database()


def test_rewrap_moves_data_keys_to_a_second_kms_key(
    database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env
):
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | kms_env)).start()
    try:
        credential_id, api_key = create_through_slack(bot, slack, paddle_live, "Rewrapped")
        bot.stop()
        before = bot.sql("SELECT encryption_key_id, encrypted_key FROM credentials")
        second = kms.create_key(Description="credbot second")["KeyMetadata"]
        first = kms.describe_key(KeyId=kms_env["CREDBOT_KMS_KEY_ID"])["KeyMetadata"]["Arn"]
        # The old KMS key must be named as retired: a data key under any other KMS key is refused, not re-wrapped.
        unnamed = cli(bot, ["keys", "rewrap"], CREDBOT_KMS_KEY_ID=second["KeyId"])
        one_line(unnamed, 2, "refused", first, "CREDBOT_KMS_RETIRED_KEY_IDS")
        assert {arn for (arn,) in bot.sql("SELECT kms_key_id FROM data_keys")} == {first}
        rewrap = cli(
            bot,
            ["keys", "rewrap"],
            CREDBOT_KMS_KEY_ID=second["KeyId"],
            CREDBOT_KMS_RETIRED_KEY_IDS=kms_env["CREDBOT_KMS_KEY_ID"],
        )
        assert rewrap.returncode == 0, rewrap.stderr
        assert {arn for (arn,) in bot.sql("SELECT kms_key_id FROM data_keys")} == {second["Arn"]}
        assert bot.sql("SELECT encryption_key_id, encrypted_key FROM credentials") == before  # rows untouched
        kms.disable_key(KeyId=kms_env["CREDBOT_KMS_KEY_ID"])  # the first KMS key is no longer needed
        revealed = cli(bot, ["credentials", "reveal", credential_id], CREDBOT_KMS_KEY_ID=second["KeyId"])
        assert revealed.returncode == 0 and revealed.stdout.strip() == api_key, revealed.stderr
    finally:
        bot.stop()
        bot.close_database()


def test_rotate_makes_a_new_data_key(database, tmp_path, slack, paddle_live, paddle_sandbox, kms, kms_env):
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | kms_env)).start()
    try:
        credential_id, api_key = create_through_slack(bot, slack, paddle_live, "Rotated")
        bot.stop()
        ((old,),) = bot.sql("SELECT encryption_key_id FROM credentials")
        rotated = cli(bot, ["keys", "rotate"])
        assert rotated.returncode == 0 and "new data key" in rotated.stdout, rotated.stderr
        ((new,),) = bot.sql("SELECT encryption_key_id FROM credentials")
        assert new != old and new.startswith("dk-")
        revealed = cli(bot, ["credentials", "reveal", credential_id])
        assert revealed.stdout.strip() == api_key, revealed.stderr
    finally:
        bot.stop()
        bot.close_database()


def test_a_kms_outage_after_start_does_not_stop_the_bot(database, tmp_path, slack, paddle_live, paddle_sandbox):
    own = threaded_moto()
    own.start()
    host, port = own.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = kms_client(endpoint)
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    env = {**AWS, "AWS_ENDPOINT_URL": endpoint, "CREDBOT_KMS_KEY_ID": key_id, "CREDBOT_ENCRYPTION_KEYS": ""}
    workdir = tmp_path / "bot"
    bot = BotProcess(workdir, slack, paddle_live, paddle_sandbox, **(database.provision(workdir) | env)).start()
    try:
        own.stop()  # KMS gone: the data key is already in memory
        create_through_slack(bot, slack, paddle_live, "During the outage")
        assert bot.process.poll() is None
        assert bot.sql("SELECT encryption_key_id FROM credentials")[0][0].startswith("dk-")
    finally:
        bot.stop()
        bot.close_database()
