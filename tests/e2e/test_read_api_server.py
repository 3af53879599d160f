"""The read API (/v1) through the real server, on SQLite and PostgreSQL: access tokens issued from the real CLI,
reads audited before the key leaves, scope and address refusals that say nothing about other credentials,
revocation on one instance refused on another at once, ETags that change with the key."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from bot.credentials.access_token_rules import TOKEN_SHAPE
from tests.kit import Workspace, cli_env, core_service, run_cli, seed
from tests.kit.bots import socket_mode_bot
from tests.kit.integration_access import Answer, get
from tests.kit.processes import REPO, run_python
from tests.kit.waiting import settled


def reachable(bot, path: str, token: str) -> Answer:
    """``get``, or status 0 while nothing listens on the port yet."""
    try:
        return get(bot, path, token)
    except urllib.error.URLError:
        return Answer(0, {}, b"")


def issue(bot, tmp_path, *args: str) -> str:
    result = run_cli(["tokens", "issue", *args], cli_env(bot), tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert TOKEN_SHAPE.fullmatch(token), "stdout holds the token and nothing else"
    assert token not in result.stderr and "shown only now" in result.stderr
    return token


@pytest.fixture
def two(bot, workspace, slack):
    """Two credentials of the workspace, one of another workspace."""
    core = core_service(bot)
    mine = seed(core, workspace, "Billing live")
    also = seed(core, workspace, "Billing sandbox", "paddle_sandbox")
    other = seed(core, Workspace(bot, slack, team_id="T0OTHER"), "Theirs")
    return core, mine, also, other


def test_a_token_reads_exactly_its_credentials_and_each_read_is_audited(bot, tmp_path, two):
    core, mine, also, other = two
    token = issue(bot, tmp_path, "--name", "nightly billing", "--credential", mine.id)
    listed = get(bot, "/v1/credentials", token)
    assert listed.status == 200 and [c["id"] for c in listed.json()["credentials"]] == [mine.id]
    assert set(listed.json()["credentials"][0]) == {
        "id", "name", "entity_type", "destination", "environment", "key_expires_at", "paddle_status", "version"
    }  # fmt: skip
    secret = get(bot, f"/v1/credentials/{mine.id}/secret", token)
    assert secret.status == 200 and secret.headers["Cache-Control"] == "no-store"
    key = core.reveal(mine.id, "test", mine.workspace).reveal()
    assert secret.json()["api_key"] == key and secret.json()["environment"] == "live"
    refusals = [
        get(bot, f"/v1/credentials/{cid}/secret", token)
        for cid in (also.id, other.id, "0" * 8 + "-0000-4000-8000-" + "0" * 12)
    ]
    assert {r.status for r in refusals} == {403} and len({r.body for r in refusals}) == 1
    assert "api_key" not in refusals[0].body.decode()
    reads = bot.sql("SELECT actor, credential_id, detail FROM audit_events WHERE action = 'credential.read'")
    [(actor, credential, detail)] = reads
    assert actor.startswith("token:tok_") and credential == mine.id and "127.0.0.1" in detail
    listing = json.loads(run_cli(["tokens", "list", "--json"], cli_env(bot), tmp_path).stdout)
    assert listing[0]["last_used_from"] == "127.0.0.1" and listing[0]["status"] == "active"
    shown = {
        m: json.loads(run_cli(["credentials", "show", m, "--json"], cli_env(bot), tmp_path).stdout)
        for m in (mine.id, also.id)
    }
    assert shown[mine.id]["last_read_at"] == listing[0]["last_used_at"] and shown[also.id]["last_read_at"] is None


def test_missing_unknown_expired_and_revoked_tokens_are_401(bot, tmp_path, two):
    _, mine, _, _ = two
    token = issue(bot, tmp_path, "--name", "short", "--credential", mine.id, "--expires-in", "1s")
    assert get(bot, "/v1/credentials").status == 401
    assert get(bot, "/v1/credentials", "cbt_" + "A" * 43).status == 401
    assert get(bot, "/v1/credentials", "not-a-token").status == 401
    bot.sql("UPDATE access_tokens SET expires_at = created_at")
    expired = get(bot, "/v1/credentials", token)
    assert expired.status == 401 and expired.headers["WWW-Authenticate"].startswith("Bearer")
    other = issue(bot, tmp_path, "--name", "revoked", "--credential", mine.id)
    [token_id] = [row[0] for row in bot.sql("SELECT id FROM access_tokens WHERE name = 'revoked'")]
    revoked = run_cli(["tokens", "revoke", token_id], cli_env(bot), tmp_path)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert get(bot, f"/v1/credentials/{mine.id}/secret", other).status == 401
    again = run_cli(["tokens", "revoke", token_id], cli_env(bot), tmp_path)
    assert again.returncode == 0 and "already revoked" in again.stdout


def test_an_address_outside_allow_from_is_refused(bot, tmp_path, two):
    _, mine, _, _ = two
    elsewhere = issue(bot, tmp_path, "--name", "vpc only", "--credential", mine.id, "--allow-from", "10.0.0.0/8")
    refused = get(bot, f"/v1/credentials/{mine.id}/secret", elsewhere)
    assert refused.status == 403 and refused.json()["error"]["code"] == "forbidden"
    here = issue(bot, tmp_path, "--name", "loopback", "--credential", mine.id, "--allow-from", "127.0.0.0/8")
    assert get(bot, f"/v1/credentials/{mine.id}/secret", here).status == 200


def test_replaced_key_gets_a_new_version_and_etag_and_if_none_match_is_304(bot, tmp_path, two, paddle_live):
    core, mine, _, _ = two
    token = issue(bot, tmp_path, "--name", "poller", "--credential", mine.id)
    first = get(bot, f"/v1/credentials/{mine.id}/secret", token)
    same = get(bot, f"/v1/credentials/{mine.id}/secret", token, **{"If-None-Match": first.headers["ETag"]})
    assert same.status == 304 and same.body == b"" and same.headers["ETag"] == first.headers["ETag"]
    new_key = paddle_live.new_key("live")
    core.replace_key(mine.workspace, "U0TEST", mine.id, new_key)
    after = get(bot, f"/v1/credentials/{mine.id}/secret", token, **{"If-None-Match": first.headers["ETag"]})
    assert after.status == 200 and after.json()["api_key"] == new_key
    assert after.json()["version"] > first.json()["version"] and after.headers["ETag"] != first.headers["ETag"]
    core.delete(mine.workspace, "U0TEST", mine.id)
    assert get(bot, f"/v1/credentials/{mine.id}/secret", token).status == 404


def test_no_audit_no_key(bot, tmp_path, two):
    """The audit row is written before the key leaves: with the audit table unwritable the read is 503."""
    _, mine, _, _ = two
    token = issue(bot, tmp_path, "--name", "audited", "--credential", mine.id)
    bot.sql("ALTER TABLE audit_events RENAME TO audit_events_away")
    try:
        refused = get(bot, f"/v1/credentials/{mine.id}/secret", token)
    finally:
        bot.sql("ALTER TABLE audit_events_away RENAME TO audit_events")
    assert refused.status == 503 and b"pdl_" not in refused.body and refused.headers.get("Retry-After")
    assert bot.sql("SELECT last_used_at FROM access_tokens") == [(None,)]


def test_revoked_on_one_instance_is_refused_on_the_other_at_once(database, start_bot, slack, tmp_path):
    shared = database.shared()
    a, b = start_bot(**shared), start_bot(**shared)
    item = seed(core_service(a), Workspace(a, slack), "Shared")
    token = issue(a, tmp_path, "--name", "both", "--credential", item.id)
    assert get(b, f"/v1/credentials/{item.id}/secret", token).status == 200
    [token_id] = [row[0] for row in a.sql("SELECT id FROM access_tokens")]
    assert run_cli(["tokens", "revoke", token_id], cli_env(a), tmp_path).returncode == 0
    assert get(b, f"/v1/credentials/{item.id}/secret", token).status == 401
    assert get(a, f"/v1/credentials/{item.id}/secret", token).status == 401


def test_neither_token_nor_key_reaches_the_debug_log_metrics_or_database_bytes(start_bot, slack, tmp_path):
    bot = start_bot(LOG_LEVEL="DEBUG")
    core = core_service(bot)
    mine = seed(core, Workspace(bot, slack), "Leak check")
    token = issue(bot, tmp_path, "--name", "leak check", "--credential", mine.id)
    key = core.reveal(mine.id, "test", mine.workspace).reveal()
    assert get(bot, f"/v1/credentials/{mine.id}/secret", token).status == 200
    assert get(bot, f"/v1/credentials/{mine.id}/secret", token[:-1] + "x").status == 401
    with urllib.request.urlopen(bot.url + "/metrics", timeout=5) as response:
        metrics = response.read().decode()
    for secret in (token, key):
        assert secret not in bot.log() and secret not in metrics
    rows = " ".join(str(row) for table in ("access_tokens", "access_token_scopes", "audit_events")
                    for row in bot.sql(f"SELECT * FROM {table}"))  # fmt: skip
    assert token not in rows and key not in rows and token[4:20] not in rows
    if bot.database_kind == "sqlite":  # the files themselves, journal included
        path = bot.database_url.removeprefix("sqlite:///")
        stored = b"".join(open(f, "rb").read() for f in (path, path + "-wal") if os.path.exists(f))
        assert token.encode() not in stored and key.encode() not in stored


def test_past_the_per_token_rate_a_read_is_429_with_retry_after(start_bot, slack, tmp_path):
    bot = start_bot(CREDBOT_API_READS_PER_MINUTE="2", CREDBOT_HTTP_WORKERS="1")
    mine = seed(core_service(bot), Workspace(bot, slack), "Busy")
    token = issue(bot, tmp_path, "--name", "busy", "--credential", mine.id)
    answers = [get(bot, f"/v1/credentials/{mine.id}/secret", token) for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60 and "api_key" not in answers[2].body.decode()
    assert len(bot.sql("SELECT id FROM audit_events WHERE action = 'credential.read'")) == 2


def test_two_instances_sharing_the_database_together_refuse_past_the_per_token_rate(
    database, start_bot, slack, tmp_path
):
    """The rate is the token's, not each instance's: reads spread over two servers are counted together."""
    shared = database.shared() | {"CREDBOT_API_READS_PER_MINUTE": "3"}
    a, b = start_bot(**shared), start_bot(**shared)
    mine = seed(core_service(a), Workspace(a, slack), "Spread")
    token = issue(a, tmp_path, "--name", "spread", "--credential", mine.id)
    answers = [get(bot, f"/v1/credentials/{mine.id}/secret", token) for bot in (a, b, a, b, a)]
    assert [answer.status for answer in answers] == [200, 200, 200, 429, 429]
    assert all(1 <= int(answer.headers["Retry-After"]) <= 60 for answer in answers[3:])
    assert all(b"api_key" not in answer.body for answer in answers[3:])
    assert a.sql("SELECT count(*) FROM audit_events WHERE action = 'credential.read'") == [(3,)]
    other = issue(b, tmp_path, "--name", "another", "--credential", mine.id)  # each token has its own minute
    assert get(b, f"/v1/credentials/{mine.id}/secret", other).status == 200


@pytest.mark.parametrize(
    "args, status, said",
    [
        (["--name", "x", "--credential", "nope"], 1, "no credential"),
        (["--name", "x", "--credential", "{mine}", "--expires-in", "90"], 2, "a number and a unit"),
        (["--name", "x", "--credential", "{mine}", "--expires-in", "400d"], 2, "at most 365 days"),
        (["--name", "x", "--credential", "{mine}", "--allow-from", "10.0.0.300/8"], 2, "not an address or a CIDR"),
        (["--name", " ", "--credential", "{mine}"], 2, "give the token a name"),
        (["--name", "x", "--credential", "{mine}", "--credential", "{other}"], 2, "one workspace"),
    ],
)
def test_a_token_that_cannot_be_issued_is_one_line_and_nothing_is_stored(bot, tmp_path, two, args, status, said):
    _, mine, _, other = two
    result = run_cli(
        ["tokens", "issue", *(a.format(mine=mine.id, other=other.id) for a in args)], cli_env(bot), tmp_path
    )
    assert (result.returncode, result.stdout) == (status, "") and said in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3 and "Traceback" not in result.stderr
    assert bot.sql("SELECT count(*) FROM access_tokens") == [(0,)]


def test_revoking_an_unknown_token_is_exit_1(bot, tmp_path):
    for token_id in ("tok_0123456789abcdef", "cbt_" + "A" * 43):
        result = run_cli(["tokens", "revoke", token_id], cli_env(bot), tmp_path)
        assert result.returncode == 1 and "no token" in result.stderr and "cbt_" not in result.stderr


def test_the_openapi_document_lists_exactly_the_routes_served(bot):
    document = get(bot, "/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/v1/credentials",
        "/v1/credentials/{id}",
        "/v1/credentials/{id}/secret",
        "/v1/openapi.json",
    }
    for path in document["paths"]:  # each is served: no token is 401 (or the document itself), never 404
        answer = get(bot, path.replace("{id}", "00000000-0000-4000-8000-000000000000"))
        assert answer.status == (200 if path == "/v1/openapi.json" else 401), path
    assert get(bot, "/v1/nothing").status == 404 and get(bot, "/v1/credentials/x/y/z").status == 404


API_PROGRAM = (
    "import json, sys\n"
    "from bot.api import CredbotUnavailable, get_api_key, list_credentials\n"
    "answer = {'listed': [c.id for c in list_credentials()]}\n"
    "for credential_id in sys.argv[1:]:\n"
    "    try:\n"
    "        answer[credential_id] = get_api_key(credential_id)\n"
    "    except CredbotUnavailable as error:\n"
    "        answer[credential_id] = [error.status, str(error)]\n"
    "print(json.dumps(answer))\n"
)


def test_bot_api_with_only_the_url_and_a_token_reads_over_the_api(bot, tmp_path, two):
    """An integration's host: no database, no key file, no Credbot settings but CREDBOT_URL and CREDBOT_TOKEN
    (the token from a file); the reads are the token's, audited by the bot."""
    core, mine, also, _ = two
    token = issue(bot, tmp_path, "--name", "integration host", "--credential", mine.id)
    host = tmp_path / "integration"
    host.mkdir()
    (host / "token").write_text(token + "\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(host)}
    env |= {"CREDBOT_URL": bot.url, "CREDBOT_TOKEN_FILE": str(host / "token")}
    result = run_python(["-c", API_PROGRAM, mine.id, also.id], env, host)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["listed"] == [mine.id]
    assert answer[mine.id] == core.reveal(mine.id, "test", mine.workspace).reveal()
    status, message = answer[also.id]
    assert status == 403 and "may not read" in message and len(message.splitlines()) == 1
    assert sorted(p.name for p in host.iterdir()) == ["token"]  # nothing created on the integration's host
    assert bot.sql("SELECT count(*) FROM audit_events WHERE action = 'credential.read'") == [(1,)]


def test_bot_api_says_in_one_line_when_the_token_is_refused_or_the_bot_is_away(bot, tmp_path, closed_port):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    for url, status in ((bot.url, 401), (f"http://127.0.0.1:{closed_port}", 0)):
        program = API_PROGRAM.replace("answer = {'listed': [c.id for c in list_credentials()]}", "answer = {}")
        run = run_python(
            ["-c", program, "00000000-0000-4000-8000-000000000000"],
            env | {"CREDBOT_URL": url, "CREDBOT_TOKEN": "cbt_" + "A" * 43},
            tmp_path,
        )
        assert run.returncode == 0, run.stderr
        [(got, message)] = json.loads(run.stdout).values()
        assert got == status and len(message.splitlines()) == 1 and "cbt_" not in message
    half = run_python(["-c", API_PROGRAM], env | {"CREDBOT_URL": bot.url}, tmp_path)
    assert half.returncode == 1 and "CREDBOT_URL and CREDBOT_TOKEN go together" in half.stderr


def test_in_socket_mode_the_read_api_is_served_on_port(tmp_path, database, slack, paddle_live, paddle_sandbox):
    with socket_mode_bot(tmp_path, slack, paddle_live, paddle_sandbox, **database.provision(tmp_path)) as (bot, _):
        item = seed(core_service(bot), Workspace(bot, slack), "Over the socket")
        token = issue(bot, tmp_path, "--name", "socket", "--credential", item.id)
        answer = settled(lambda: reachable(bot, f"/v1/credentials/{item.id}/secret", token), lambda a: a.status)
        assert answer.status == 200 and answer.json()["id"] == item.id
        assert get(bot, "/slack/events").status == 404  # events come over the socket only
