"""Kept-alive connections (urllib3's pool): one connection per host reused, slack-sdk's retries intact, a connection
the server closed while idle replaced, redirects not followed, and the library hooks we depend on still there."""

from __future__ import annotations

import inspect
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.infra.http_pool import ConnectionPool
from bot.infra.urllib3_pool import Urllib3Pool
from bot.slack.web_client import PooledWebClient


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answers: list[tuple[int, dict, dict]] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.accepted = 0
        self.requests: list[tuple[str, str]] = []
        self.answers = list(answers or [])
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def get_request(self):
        self.accepted += 1
        return super().get_request()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Slack and Paddle speak it

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.requests.append((self.command, self.path))
        status, headers, body = self.server.answers.pop(0) if self.server.answers else (200, {}, {"ok": True})
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


POOLS = pytest.mark.parametrize("pool_class", [ConnectionPool, Urllib3Pool], ids=["shortcut", "urllib3"])


@pytest.fixture
def server():
    instance = CountingServer()
    yield instance
    instance.shutdown()


@POOLS
def test_ten_calls_from_several_threads_share_a_few_connections(server, pool_class):
    pool = pool_class(max_idle_per_host=2)
    for _ in range(10):
        assert pool.request("GET", server.url + "/event-types")[0] == 200
    assert server.accepted == 1
    threads = [threading.Thread(target=pool.request, args=("GET", server.url + "/x")) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.accepted <= 9 and len(server.requests) == 18
    pool.close()


class ClosingHandler(Handler):
    """Answers as keep-alive, then closes the connection anyway (as a server's idle timeout does)."""

    def _answer(self) -> None:
        super()._answer()
        self.close_connection = True

    do_GET = do_POST = _answer


@POOLS
def test_a_connection_closed_while_idle_is_replaced_without_an_error(pool_class):
    server = CountingServer()
    server.RequestHandlerClass = ClosingHandler
    pool = pool_class()
    try:
        for path in ("/a", "/b", "/c"):
            assert pool.request("GET", server.url + path)[0] == 200
        assert server.accepted == 3  # each kept connection was found closed and replaced
    finally:
        pool.close()
        server.shutdown()


@POOLS
def test_when_every_kept_connection_was_closed_while_idle_the_retry_takes_a_new_one(pool_class):
    """Several connections kept from a burst all go stale together (the server's idle timeout): the one retry must
    not take another of them (a BrokenPipeError reached the access check, which then refused a member)."""
    server = CountingServer()
    server.RequestHandlerClass = ClosingHandler
    pool = pool_class()
    try:
        barrier = threading.Barrier(4)

        def burst() -> None:
            barrier.wait()
            pool.request("GET", server.url + "/burst")

        threads = [threading.Thread(target=burst) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for path in ("/a", "/b"):
            assert pool.request("GET", server.url + path)[0] == 200
    finally:
        pool.close()
        server.shutdown()


@POOLS
def test_a_redirect_is_returned_not_followed(server, pool_class):
    server.answers.append((302, {"Location": server.url + "/elsewhere"}, {"moved": True}))
    pool = pool_class()
    status, headers, body = pool.request("GET", server.url + "/event-types")
    assert status == 302 and headers["Location"].endswith("/elsewhere") and json.loads(body) == {"moved": True}
    assert server.requests == [("GET", "/event-types")]
    pool.close()


def test_urllib3s_connection_hook_the_deadline_relies_on_is_still_there():
    """Urllib3Pool's whole-request deadline finds a request's connection through urllib3's documented
    ConnectionCls and the connection's public request(method, url, body, headers, ...): an upgrade that changes
    either fails here."""
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import HTTPConnectionPool

    assert HTTPConnectionPool.ConnectionCls is HTTPConnection
    assert list(inspect.signature(HTTPConnection.request).parameters)[:5] == [
        "self",
        "method",
        "url",
        "body",
        "headers",
    ]


def test_the_pooled_web_client_reuses_one_connection_and_keeps_slack_sdks_retries():
    server = CountingServer([(429, {"Retry-After": "0"}, {"ok": False, "error": "ratelimited"})])
    try:
        client = PooledWebClient(
            token="xoxb-test",
            base_url=server.url + "/api/",
            pool=ConnectionPool(),
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
        )
        assert client.auth_test()["ok"] is True  # the 429 was retried by slack-sdk's handler
        for _ in range(5):
            client.chat_postMessage(channel="C1", text="hi")
        assert len(server.requests) == 7 and server.accepted == 1
    finally:
        server.shutdown()


def test_the_overridden_slack_sdk_internal_still_has_its_name_and_signature():
    """PooledWebClient overrides BaseClient._perform_urllib_http_request_internal(url, req): an upgrade that
    renames it or changes its parameters must fail here, not silently fall back to a connection per call."""
    original = inspect.signature(WebClient._perform_urllib_http_request_internal)
    assert list(original.parameters) == ["self", "url", "req"]
    assert "_perform_urllib_http_request_internal" in vars(PooledWebClient)


def test_a_plain_client_adopted_into_the_pool_keeps_every_setting():
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler as Handler

    pool = ConnectionPool()
    plain = WebClient(
        token="xoxb-adopt",
        base_url="http://127.0.0.1:9/api/",
        timeout=7,
        headers={"X-A": "1"},
        team_id="T0ORG",
        retry_handlers=[Handler(max_retry_count=2)],
    )
    adopted = PooledWebClient.adopt(plain, pool)
    assert type(adopted) is PooledWebClient and adopted.pool is pool
    assert vars(adopted) == {**vars(plain), "pool": pool}
    assert (
        adopted.default_params == {"team_id": "T0ORG"} and adopted.headers["User-Agent"] == plain.headers["User-Agent"]
    )


def test_bolt_can_copy_the_client_for_lazy_listeners_and_the_copy_shares_the_pool():
    import copy

    pool = ConnectionPool()
    client = PooledWebClient(token="xoxb-copy", base_url="http://127.0.0.1:9/api/", pool=pool)
    copied = copy.deepcopy({"client": client})["client"]
    assert copied is not client and copied.pool is pool and copied.token == "xoxb-copy"
    org = PooledWebClient.adopt(WebClient(token="xoxb-org", team_id="T0ORG"), pool)
    assert copy.deepcopy(org).default_params == {"team_id": "T0ORG"}


def test_whether_a_url_goes_through_a_proxy_follows_the_environment_read_once(monkeypatch):
    from bot.infra.http_pool import proxied

    for name in (
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    proxied.cache_clear()
    assert not proxied("https://slack.com/api/chat.postMessage")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "paddle.test")
    proxied.cache_clear()
    assert proxied("https://slack.com/api/chat.postMessage")
    assert not proxied("https://paddle.test/event-types")
    assert not proxied("http://127.0.0.1:9/api/x")  # no proxy for plain http here
    proxied.cache_clear()


def test_the_process_pool_follows_the_switch_and_closes_what_the_other_kept(server):
    from bot.infra.http_pool import SharedPool

    shared = SharedPool()
    assert shared.request("GET", server.url + "/a")[0] == 200 and isinstance(shared.pool, ConnectionPool)
    shared.choose(False)
    assert isinstance(shared.pool, Urllib3Pool) and shared.request("GET", server.url + "/b")[0] == 200
    shared.choose(True)
    assert isinstance(shared.pool, ConnectionPool)
    shared.close()
