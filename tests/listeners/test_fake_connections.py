"""The fakes speak HTTP/1.1 with keep-alive (as Slack and Paddle do) and count the connections they accept, so
that the bot's kept connections can be seen working; a stopped fake closes the connections still open to it."""

import http.client
import json

from bot.infra.http_pool import ConnectionPool
from tests.kit import FakePaddle, FakeSlack


def test_one_connection_carries_many_requests_and_is_counted_once():
    with FakeSlack() as slack:
        connection = http.client.HTTPConnection("127.0.0.1", slack.port, timeout=5)
        for _ in range(3):
            connection.request(
                "POST",
                "/api/auth.test",
                body=b"token=xoxb-1",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = connection.getresponse()
            assert json.loads(response.read())["ok"] is True
            assert response.version == 11 and not response.will_close
        connection.close()
        assert slack.accepts == 1
        assert slack.count("auth.test") == 3


def test_the_bots_pool_keeps_its_connection_to_the_fakes():
    pool = ConnectionPool()
    with FakePaddle() as paddle:
        key = paddle.new_key("live")
        for _ in range(4):
            status, _, body = pool.request(
                "GET", f"{paddle.url}/event-types", headers={"Authorization": f"Bearer {key}"}
            )
            assert status == 200 and json.loads(body)["data"]
        assert paddle.accepts == 1
        pool.close()


def test_errors_and_unknown_paths_keep_the_connection_usable():
    with FakePaddle() as paddle:
        connection = http.client.HTTPConnection("127.0.0.1", paddle.port, timeout=5)
        for path in ("/nowhere", "/event-types"):
            connection.request("GET", path, headers={"Authorization": "Bearer nope"})
            response = connection.getresponse()
            assert response.status in (403, 404) and json.loads(response.read())["error"]
        connection.close()
        assert paddle.accepts == 1


def test_stopping_a_fake_closes_the_connections_clients_keep():
    slack = FakeSlack().start()
    connection = http.client.HTTPConnection("127.0.0.1", slack.port, timeout=5)
    connection.request(
        "POST", "/api/auth.test", body=b"token=xoxb-1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    connection.getresponse().read()
    slack.stop()
    try:
        connection.request(
            "POST",
            "/api/auth.test",
            body=b"token=xoxb-1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        connection.getresponse()
    except (http.client.RemoteDisconnected, ConnectionError):
        pass
    else:
        raise AssertionError("the stopped fake still answered on a kept connection")
    finally:
        connection.close()


def test_the_fake_slack_expires_a_trigger_three_seconds_after_issuing_it_as_slack_does():
    """So a test that needs a modal to open in time asserts Slack's answer rather than a clock."""
    import time

    import pytest
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from tests.kit.fakes.slack import TRIGGER_LIFETIME

    view = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
    with FakeSlack() as slack:
        client = WebClient(token="xoxb-1", base_url=slack.api_url)
        assert client.views_open(trigger_id=slack.issue_trigger("trg-fresh"), view=view)["ok"]
        assert client.views_open(trigger_id="trg-never-issued", view=view)["ok"]  # only issued ones expire
        slack.issued_triggers["trg-old"] = time.monotonic() - TRIGGER_LIFETIME - 0.1
        with pytest.raises(SlackApiError) as refused:
            client.views_open(trigger_id="trg-old", view=view)
        assert refused.value.response["error"] == "expired_trigger_id"
