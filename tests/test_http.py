"""The HTTP door itself: signatures, replays, sizes, paths."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request

from tests.harness import SIGNING_SECRET


def command_body(team: str = "T0HTTP") -> bytes:
    return urllib.parse.urlencode({"command": "/create-credential", "text": "", "team_id": team, "user_id": "U1",
                                   "trigger_id": "trg-forged", "channel_id": "C1", "response_url": "http://127.0.0.1:1/"}).encode()


def test_forged_signature_is_refused_and_nothing_happens(bot, slack):
    reply = bot.sender.post(command_body(), "application/x-www-form-urlencoded",
                            headers={"X-Slack-Signature": "v0=" + "0" * 64, "X-Slack-Request-Timestamp": str(int(time.time()))},
                            sign=False)
    assert reply.status == 401
    time.sleep(0.3)
    assert slack.count("views.open") == 0


def test_signature_with_another_secret_is_refused(bot, slack):
    from tests.fakes import SlackSender

    reply = SlackSender(bot.url, "not-" + SIGNING_SECRET).post(command_body(), "application/x-www-form-urlencoded")
    assert reply.status == 401


def test_stale_timestamp_is_refused(bot, slack):
    reply = bot.sender.post(command_body(), "application/x-www-form-urlencoded", timestamp=int(time.time()) - 6 * 60)
    assert reply.status == 401
    time.sleep(0.3)
    assert slack.count("views.open") == 0


def test_missing_signature_is_refused(bot):
    assert bot.sender.post(command_body(), "application/x-www-form-urlencoded", sign=False).status == 401


def test_oversized_body_is_refused(bot):
    """Refused on its Content-Length alone: the answer comes before the body is sent (so no broken pipe)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    connection.putrequest("POST", "/slack/events")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(1024 * 1024 + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()


def test_unknown_path_and_wrong_method(bot):
    for path, method, status in (("/nope", "GET", 404), ("/slack/events", "GET", 405)):
        request = urllib.request.Request(bot.url + path, method=method)
        try:
            urllib.request.urlopen(request)
            raise AssertionError("expected an HTTP error")
        except urllib.error.HTTPError as error:
            assert error.code == status
