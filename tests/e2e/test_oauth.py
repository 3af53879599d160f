"""OAuth mode end to end through the real server: install, per-workspace tokens, states, sealed storage,
uninstall, refresh. Both databases (the ``database`` fixture)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.kit import test_key
from tests.kit import Workspace, created_id, run_cli
from tests.e2e.test_lifecycle import stored_bytes

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "oauth-client-secret-" + "5" * 12
OAUTH = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}


def get(bot, path: str, cookie: str = "") -> tuple[int, dict, str]:
    connection = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    headers = {k.lower(): v for k, v in response.getheaders()}
    body = response.read().decode()
    connection.close()
    return response.status, headers, body


def start_install(bot) -> tuple[str, str]:
    """GET /slack/install: the state in Slack's authorize URL, and the browser's cookie."""
    status, headers, _ = get(bot, "/slack/install")
    assert status == 302, status
    location = urlsplit(headers["location"])
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert "commands" in query["scope"][0].split(",")
    return query["state"][0], headers["set-cookie"].split(";", 1)[0]


def grant(
    team_id: str,
    token: str,
    *,
    enterprise_id: str | None = None,
    org_wide: bool = False,
    refresh: str | None = None,
    expires_in: int | None = None,
) -> dict:
    """What oauth.v2.access answers for a workspace (token rotation on when ``refresh`` is given)."""
    answer = {
        "ok": True,
        "app_id": "A0001",
        "token_type": "bot",
        "access_token": token,
        "scope": "commands,chat:write",
        "bot_user_id": "U0BOT" + team_id[-4:],
        "team": None if org_wide else {"id": team_id, "name": f"Team {team_id}"},
        "enterprise": {"id": enterprise_id, "name": "Org"} if enterprise_id else None,
        "is_enterprise_install": org_wide,
        "authed_user": {"id": "U0INSTALLER"},
    }
    if refresh:
        answer.update(refresh_token=refresh, expires_in=expires_in)
    return answer


def install(bot, slack, team_id: str, token: str, **options) -> str:
    state, cookie = start_install(bot)
    code = "code-" + uuid.uuid4().hex
    slack.oauth_codes[code] = grant(team_id, token, **options)
    status, _, body = get(bot, "/slack/oauth_redirect?" + urlencode({"code": code, "state": state}), cookie)
    assert status == 200, body
    assert "/create-credential" in body and "Home tab" in body
    return body


def web_api_calls(slack) -> list:
    return [call.method for call in slack.calls if not call.method.startswith("response_url:")]


def tokens_of_web_api_calls(slack, but: str = "") -> list[str]:
    """The Authorization header of every Web API call (an empty one for a call without a token)."""
    return [
        call.header("Authorization", "")
        for call in slack.calls
        if not call.method.startswith("response_url:") and call.method != but
    ]


def tokens_used(slack, method: str) -> list[str]:
    return [call.header("Authorization", "") for call in slack.calls_to(method)]


@pytest.fixture
def oauth_bot(start_bot):
    return start_bot(**OAUTH)


def test_two_workspaces_each_use_their_own_token_and_a_third_makes_no_call(oauth_bot, slack):
    first, second = Workspace(oauth_bot, slack), Workspace(oauth_bot, slack)
    install(oauth_bot, slack, first.team_id, "xoxb-first-" + "1" * 20)
    install(oauth_bot, slack, second.team_id, "xoxb-second-" + "2" * 20)
    assert len(slack.calls_to("oauth.v2.access")) == 2

    first.open_wizard()
    second.open_wizard()
    assert tokens_used(slack, "views.open") == ["Bearer xoxb-first-" + "1" * 20, "Bearer xoxb-second-" + "2" * 20]

    stranger = Workspace(oauth_bot, slack)
    slack.reset()
    reply = stranger.command(
        "/create-credential", trigger_id="trg-stranger", response_url=slack.response_url("stranger")
    )
    assert reply.status == 200
    told = slack.wait_for("response_url:stranger")  # the person is told; not a Web API call, no token
    assert "not installed in this workspace" in told.params["text"]
    first.open_wizard()  # a positive sign: a command sent after the stranger's has been handled
    assert set(tokens_of_web_api_calls(slack)) == {"Bearer xoxb-first-" + "1" * 20}  # none for the stranger


def test_states_that_are_missing_unknown_forged_reused_or_expired_store_nothing(oauth_bot, slack):
    from bot.slack.oauth.signed_state import STATE_SECONDS, StateSigner

    team = "T" + uuid.uuid4().hex[:10].upper()
    state, cookie = start_install(oauth_bot)
    slack.oauth_codes["good"] = grant(team, "xoxb-state-" + "3" * 20)
    tampered = state[:-1] + ("A" if state[-1] != "A" else "B")
    longer = str(int(state.split(".", 1)[0]) + 3600) + "." + state.split(".", 1)[1]  # its expiry moved on
    other_secret = StateSigner("not-" + CLIENT_SECRET).issue(time.time())
    expired = StateSigner(CLIENT_SECRET).issue(time.time() - STATE_SECONDS - 5)  # signed right, too old
    cases = [
        ("/slack/oauth_redirect?code=good", cookie),  # no state
        ("/slack/oauth_redirect?code=good&state=forged", "slack-app-oauth-state=forged"),  # unknown
        *[
            (f"/slack/oauth_redirect?code=good&state={bad}", f"slack-app-oauth-state={bad}")
            for bad in (tampered, longer, other_secret, expired, state + "x", "")
        ],
        (f"/slack/oauth_redirect?code=good&state={state}", ""),  # another browser: no cookie
    ]
    for path, jar in cases:
        status, _, body = get(oauth_bot, path, jar)
        assert status >= 400 and "was not installed" in body, (path, status, body)
    ok, _, _ = get(oauth_bot, f"/slack/oauth_redirect?code=good&state={state}", cookie)
    assert ok == 200
    slack.oauth_codes["again"] = grant(team, "xoxb-state-" + "4" * 20)
    status, _, body = get(oauth_bot, f"/slack/oauth_redirect?code=again&state={state}", cookie)
    assert status == 401 and "expired or was already used" in body  # reused
    assert slack.count("oauth.v2.access") == 1
    assert oauth_bot.sql("SELECT count(*) FROM slack_installations") == [(1,)]


def row_counts(bot) -> dict[str, int]:
    from bot.credentials.models import Base

    return {table.name: bot.sql(f"SELECT count(*) FROM {table.name}")[0][0] for table in Base.metadata.sorted_tables}


def test_anonymous_installs_store_nothing_and_each_state_is_good_once(oauth_bot, slack):
    """Finding 11: every anonymous GET /slack/install stored a state row (1,131 in 5 s). Now the state is signed
    and expiring, and only a callback that presents one (from the browser that got it) writes its single use."""
    before = row_counts(oauth_bot)
    started = [start_install(oauth_bot) for _ in range(300)]
    assert len({state for state, _ in started}) == 300
    assert row_counts(oauth_bot) == before  # nothing stored, in any table

    state, cookie = started[-1]  # any of them still installs, once, even when used at the same moment
    team = "T" + uuid.uuid4().hex[:10].upper()
    codes = [f"race-{i}-" + uuid.uuid4().hex for i in range(4)]
    for code in codes:
        slack.oauth_codes[code] = grant(team, "xoxb-race-" + "8" * 20)
    with ThreadPoolExecutor(len(codes)) as pool:
        answers = list(
            pool.map(lambda code: get(oauth_bot, f"/slack/oauth_redirect?code={code}&state={state}", cookie), codes)
        )
    assert sorted(status for status, _, _ in answers) == [200, 401, 401, 401], [a[:1] + a[2:] for a in answers]
    assert slack.count("oauth.v2.access") == 1
    assert oauth_bot.sql("SELECT count(*) FROM slack_installations") == [(1,)]


def test_the_error_parameter_is_logged_and_shown_only_as_a_known_code(oauth_bot):
    status, _, body = get(oauth_bot, "/slack/oauth_redirect?error=access_denied")
    assert status == 200 and "cancelled in Slack" in body
    assert "an installation failed: access_denied" in oauth_bot.log()
    before = len(oauth_bot.log())
    forged = "evil\n2030-01-01 00:00:00,000 ERROR bot: forged line <b>bold</b>"
    status, _, body = get(oauth_bot, "/slack/oauth_redirect?" + urlencode({"error": forged}))
    assert status == 200 and "was not installed" in body
    written = oauth_bot.log()[before:]
    assert "an installation failed" in written, written  # logged, as a code Credbot does not know
    for part in ("evil", "forged", "<b>", "&lt;b&gt;"):
        assert part not in written and part not in body, (part, written, body)
    assert len(written.splitlines()) == 1, written


def test_a_refused_code_stores_nothing(oauth_bot, slack):
    state, cookie = start_install(oauth_bot)
    status, _, body = get(oauth_bot, f"/slack/oauth_redirect?code=unknown&state={state}", cookie)
    assert status == 401 and "did not accept the authorization code" in body
    assert oauth_bot.sql("SELECT count(*) FROM slack_installations") == [(0,)]


def test_the_database_holds_no_token(oauth_bot, slack):
    team = "T" + uuid.uuid4().hex[:10].upper()
    token, refresh = "xoxe.xoxb-1-" + "6" * 24, "xoxe-1-" + "7" * 30
    install(oauth_bot, slack, team, token, refresh=refresh, expires_in=43200)
    assert oauth_bot.sql("SELECT count(*) FROM slack_installations") == [(1,)]
    stored = stored_bytes(oauth_bot)
    for secret in (token, refresh, CLIENT_SECRET):
        assert secret.encode() not in stored
        assert secret not in oauth_bot.log()
    assert not (Path(oauth_bot.env["HOME"]) / ".bolt-app-installation").exists()  # Bolt's file store: unused


def test_uninstall_and_revocation_forget_the_tokens(oauth_bot, slack):
    gone, revoked = Workspace(oauth_bot, slack), Workspace(oauth_bot, slack)
    install(oauth_bot, slack, gone.team_id, "xoxb-gone-" + "8" * 20)
    install(oauth_bot, slack, revoked.team_id, "xoxb-revoked-" + "9" * 20)
    event(oauth_bot, gone.team_id, {"type": "app_uninstalled"})
    event(oauth_bot, revoked.team_id, {"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}})
    rows = oauth_bot.sql("SELECT team_id, encrypted_bot_token FROM slack_installations ORDER BY team_id")
    assert [token for _, token in rows] == [None, None]
    slack.reset()
    gone.command("/create-credential", trigger_id="trg-gone", response_url=slack.response_url("gone"))
    revoked.command("/create-credential", trigger_id="trg-revoked", response_url=slack.response_url("revoked"))
    slack.wait_for("response_url:gone")
    slack.wait_for("response_url:revoked")
    install(oauth_bot, slack, gone.team_id, "xoxb-again-" + "8" * 20)  # reinstalling restores access
    gone.open_wizard()  # also the positive sign that the two refused commands have been handled
    assert tokens_used(slack, "views.open") == ["Bearer xoxb-again-" + "8" * 20]
    # the Web API was called only for the install and with the new token: none with the forgotten ones
    assert set(tokens_of_web_api_calls(slack, but="oauth.v2.access")) == {"Bearer xoxb-again-" + "8" * 20}


def event(bot, team_id: str, inner: dict) -> None:
    body = {
        "type": "event_callback",
        "team_id": team_id,
        "api_app_id": "A0001",
        "event": inner,
        "event_id": "Ev" + uuid.uuid4().hex[:8],
        "event_time": int(time.time()),
    }
    reply = bot.sender.event(body)
    assert reply.status == 200, reply.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if bot.sql("SELECT encrypted_bot_token FROM slack_installations WHERE team_id = :t", t=team_id) == [(None,)]:
            return
        time.sleep(0.1)
    raise AssertionError("the tokens were not forgotten")


def test_a_token_in_its_refresh_window_is_refreshed_once_by_two_instances(start_bot, oauth_bot, slack, tmp_path):
    team = Workspace(oauth_bot, slack)
    install(oauth_bot, slack, team.team_id, "xoxb-old-" + "a" * 20, refresh="xoxe-1-old", expires_in=600)
    shared = {
        name: oauth_bot.env[name]
        for name in ("DATABASE_URL", "CREDBOT_DATA_DIR", "CREDBOT_ENCRYPTION_KEYS")
        if name in oauth_bot.env
    }
    other = start_bot(tmp_path / "other", **(OAUTH | shared))
    slack.oauth_refreshes["xoxe-1-old"] = {
        "ok": True,
        "access_token": "xoxb-new-" + "b" * 20,
        "refresh_token": "xoxe-1-new",
        "expires_in": 43200,
        "token_type": "bot",
        "team": {"id": team.team_id},
    }
    there = Workspace(other, slack, team_id=team.team_id)
    import threading

    threads = [threading.Thread(target=w.open_wizard) for w in (team, there)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grants = [call.params.get("grant_type") for call in slack.calls_to("oauth.v2.access")]
    assert grants == [None, "refresh_token"]  # the install's exchange, then exactly one refresh
    assert "Failed to call find_bot" not in oauth_bot.log() + other.log()
    sealed = other.sql("SELECT bot_token_expires_at, version, refresh_claimed_at FROM slack_installations")
    assert len(sealed) == 1 and sealed[0][1] == 2 and sealed[0][2] is None  # the install's save, the refresh's
    assert set(tokens_used(slack, "views.open")) == {"Bearer xoxb-new-" + "b" * 20}


def test_installations_list_remove_purge_and_key_rotation(start_bot, database, slack, live_key, tmp_path):
    key_a, key_b = test_key("keyA"), test_key("keyB")
    db = {"DATABASE_URL": database.new_url("oauthcli"), "CREDBOT_ENCRYPTION_KEYS": key_a}
    bot = start_bot(**(OAUTH | db))
    kept, gone = Workspace(bot, slack), Workspace(bot, slack)
    install(bot, slack, kept.team_id, "xoxb-kept-" + "e" * 20, refresh="xoxe-1-kept", expires_in=43200)
    install(bot, slack, gone.team_id, "xoxb-gone-" + "f" * 20)
    install(bot, slack, "T0ORGWIDE", "xoxb-org-" + "0" * 20, enterprise_id="E0ORG", org_wide=True)
    gone.run_wizard("Gone Co billing", "paddle", live_key)
    assert bot.stop() == 0

    listed = run_cli(["installations", "list", "--json"], db, tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {row["team_id"] or row["enterprise_id"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {kept.team_id, gone.team_id, "E0ORG"} and rows["E0ORG"]["org_wide"] is True
    assert rows[kept.team_id]["installed_by"] == "U0INSTALLER" and rows[kept.team_id]["token_expires_at"]
    assert "xoxb-" not in listed.stdout and "xoxe-" not in listed.stdout

    rotated = run_cli(["keys", "rotate"], db | {"CREDBOT_ENCRYPTION_KEYS": f"{key_b},{key_a}"}, tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "Slack tokens of 3 installation(s)" in rotated.stdout
    keys = bot.sql("SELECT DISTINCT bot_token_key_id FROM slack_installations")
    assert keys == [("keyB",)]

    removed = run_cli(["installations", "remove", gone.team_id], db, tmp_path)
    assert removed.returncode == 0 and "its credentials stay" in removed.stdout
    again = run_cli(["installations", "remove", gone.team_id], db, tmp_path)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "no installation" in again.stderr
    unsure = run_cli(["credentials", "purge", "--workspace", gone.team_id], db, tmp_path)
    assert unsure.returncode == 2 and "--yes" in unsure.stderr
    still = run_cli(["credentials", "list", "--json"], db, tmp_path)
    assert [item["team_id"] for item in json.loads(still.stdout)] == [gone.team_id]
    purged = run_cli(["credentials", "purge", "--workspace", gone.team_id, "--yes"], db, tmp_path)
    assert purged.returncode == 0 and "deleted 1 credential(s)" in purged.stdout
    assert json.loads(run_cli(["credentials", "list", "--json"], db, tmp_path).stdout) == []
    trail = run_cli(["audit", "--json"], db, tmp_path)
    assert any(event["action"] == "credentials_purged" for event in json.loads(trail.stdout)), trail.stdout

    after = start_bot(**(OAUTH | db | {"CREDBOT_ENCRYPTION_KEYS": key_b}))  # the old key gone: tokens still open
    Workspace(after, slack, team_id=kept.team_id).open_wizard()
    assert tokens_used(slack, "views.open")[-1] == "Bearer xoxb-kept-" + "e" * 20


def test_the_wizard_in_each_workspace_sees_only_its_own_credentials(oauth_bot, slack, live_key):
    first, second = Workspace(oauth_bot, slack), Workspace(oauth_bot, slack)
    install(oauth_bot, slack, first.team_id, "xoxb-wiz-one-" + "c" * 20)
    install(oauth_bot, slack, second.team_id, "xoxb-wiz-two-" + "d" * 20)
    created_id(first, "First Co billing", live_key)
    created_id(second, "Second Co billing", live_key)
    for workspace, mine, theirs in ((first, "First Co", "Second Co"), (second, "Second Co", "First Co")):
        listed = workspace.command("/list-credentials").text
        assert mine in listed and theirs not in listed


def test_socket_mode_with_oauth_installs_over_http_and_answers_over_the_socket(
    tmp_path, database, slack, paddle_live, paddle_sandbox
):
    from tests.kit import FakeSocketMode
    from tests.kit import BotProcess

    with FakeSocketMode() as socket_mode:
        slack.socket_url = socket_mode.url
        bot = BotProcess(
            tmp_path,
            slack,
            paddle_live,
            paddle_sandbox,
            SLACK_APP_TOKEN="xapp-1-A0001-test-token",
            **(OAUTH | database.provision(tmp_path)),
        )
        bot.env.pop("SLACK_SIGNING_SECRET")
        bot.start()
        try:
            socket_mode.wait_connected(timeout=20)
            wait_for_port(bot)
            install(bot, slack, "T0SOCKOAUTH", "xoxb-socket-" + "5" * 20)
            assert get(bot, "/slack/events")[0] == 404  # events come over the socket only
            socket_mode.send(
                {
                    "envelope_id": "env-oauth",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": {
                        "command": "/create-credential",
                        "text": "",
                        "team_id": "T0SOCKOAUTH",
                        "user_id": "U0SOCK",
                        "channel_id": "C0001",
                        "trigger_id": "trg-socket-oauth",
                        "response_url": slack.response_url("socket"),
                        "api_app_id": "A0001",
                    },
                }
            )
            socket_mode.wait_ack("env-oauth")
            opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == "trg-socket-oauth")
            assert opened.header("Authorization") == "Bearer xoxb-socket-" + "5" * 20
        finally:
            assert bot.stop() == 0, bot.log()


def wait_for_port(bot, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get(bot, "/slack/nothing")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the install routes were never served:\n" + bot.log())


def test_an_org_wide_install_serves_every_workspace_of_the_org_with_credentials_kept_apart(oauth_bot, slack, live_key):
    install(oauth_bot, slack, "TUNUSED", "xoxb-org-" + "4" * 20, enterprise_id="E0GRID", org_wide=True)
    east = Workspace(oauth_bot, slack, team_id="T0EAST", enterprise_id="E0GRID", org_wide=True)
    west = Workspace(oauth_bot, slack, team_id="T0WEST", enterprise_id="E0GRID", org_wide=True)
    east.run_wizard("East billing", "paddle", live_key)
    west.run_wizard("West billing", "paddle", live_key)
    assert set(tokens_used(slack, "views.open")) == {"Bearer xoxb-org-" + "4" * 20}
    assert "East billing" in east.command("/list-credentials").text
    assert "East billing" not in west.command("/list-credentials").text
    oauth_bot.wait_idle()
    assert set(tokens_used(slack, "conversations.info")) <= {"Bearer xoxb-org-" + "4" * 20}
    outside = Workspace(oauth_bot, slack, team_id="T0OTHER", enterprise_id="E0OTHER")
    slack.reset()
    outside.command("/create-credential", trigger_id="trg-other", response_url=slack.response_url("other"))
    slack.wait_for("response_url:other")
    assert web_api_calls(slack) == []
