"""A slack-sdk WebClient whose calls reuse kept-alive connections (bot/infra/http_pool.py, urllib3's pool).

A shortcut around a library internal (docs/decisions/library-internals.md): CREDBOT_LIBRARY_SHORTCUTS=false gives
slack-sdk's plain WebClient instead (``client_class``), which opens a connection per call.

slack-sdk sends every call through ``BaseClient._perform_urllib_http_request_internal(url, req)``, which opens a
new connection with urllib each time. This subclass overrides that one method and keeps its contract: a 2xx
answer comes back as ``{"status", "headers", "body"}`` and any other status is raised as urllib's HTTPError, so
slack-sdk's retry handlers (rate limits, server errors, dropped connections) work as before. It is an internal
method: pyproject pins slack-sdk below 4, and tests/unit/test_http_pool.py fails if its name or signature
changes. Calls through a proxy (``proxy=`` or HTTPS_PROXY) keep slack-sdk's own path.
"""

from __future__ import annotations

import io
import logging
from typing import Any, cast
from http.client import HTTPMessage
from urllib.error import HTTPError
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.infra.http_pool import SHARED, Pool, proxied


def client_class(shortcuts: bool) -> type[WebClient]:
    """The Web API client class for the process: the pooled one, or (shortcuts off) slack-sdk's own."""
    return PooledWebClient if shortcuts else WebClient


class PooledWebClient(WebClient):
    def __init__(self, *args: Any, pool: Pool = SHARED, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool

    @classmethod
    def adopt(cls, plain: WebClient, pool: Pool = SHARED) -> PooledWebClient:
        """``plain`` (every setting slack-sdk's constructor gave it: token, base URL, timeout, headers, team,
        logger, retry handlers, proxy) as a client that calls through ``pool``. Bolt builds a plain client for
        each request; constructing a second one ran slack-sdk's constructor again (the user agent and the proxy
        environment looked up anew, about 25 us), and dropped the team it adds to every call for an org-wide
        install."""
        client = cls.__new__(cls)
        client.__dict__.update(vars(plain))
        client.pool = pool
        return client

    def __deepcopy__(self, memo: dict) -> PooledWebClient:
        # Bolt deep-copies a request's context (its client included) for lazy listeners: a new client with the
        # same settings (its own headers, team and retry handlers), sharing the process's pool (which holds
        # sockets and a lock, and is meant to be shared).
        copied = PooledWebClient.adopt(self, self.pool)
        copied.headers, copied.default_params = dict(self.headers), dict(self.default_params)
        copied.retry_handlers = list(self.retry_handlers)
        return copied

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None or proxied(url) or self.ssl is not None:
            return super()._perform_urllib_http_request_internal(url, req)
        status, raw_headers, body = self.pool.request(
            req.get_method(),
            url,
            body=cast(bytes | None, req.data),
            headers=dict(req.header_items()),
            timeout=self.timeout,
        )
        # slack-sdk reads urllib's header object (get_content_type, Retry-After), which this module's pool gives
        headers = raw_headers if isinstance(raw_headers, HTTPMessage) else _message(raw_headers)
        if not 200 <= status < 300:  # urllib raises these; slack-sdk's retry handlers expect that
            raise HTTPError(url, status, headers.get("Status", "") or str(status), headers, io.BytesIO(body))
        if headers.get_content_type() == "application/gzip":
            return {"status": status, "headers": headers, "body": body}
        text = body.decode(headers.get_content_charset() or "utf-8")
        if self._logger.level <= logging.DEBUG:
            self._logger.debug(f"Received the following response - status: {status}, body: {text}")
        return {"status": status, "headers": headers, "body": text}


def _message(headers: Any) -> HTTPMessage:
    """urllib3's headers as the http.client message urllib gives slack-sdk."""
    message = HTTPMessage()
    for name, value in headers.items():
        message[name] = value
    return message


class CountedRateLimitRetries(RateLimitErrorRetryHandler):
    """slack-sdk's rate-limit handler (it sleeps Slack's ``Retry-After`` seconds, plus up to one at random, then
    sends the call again), counting each wait in ``credbot_slack_rate_limited_total``."""

    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        from bot.infra import metrics  # when used: importing it here would fix its mode before `serve` chooses it

        metrics.SLACK_RATE_LIMITED.inc()
        super().prepare_for_next_attempt(**kwargs)


# A background send waits out this many 429s in a row before it gives up (Slack answers 429 per method, app and
# workspace; a pass spreads its sends, so a long run of them means Slack is throttling hard).
BACKGROUND_RATE_LIMIT_RETRIES = 8


def background_client(shortcuts: bool, base_url: str, token: str) -> WebClient:
    """A client for one workspace's background work (its own bot token): rate limits waited out as Slack says,
    5xx and dropped connections retried twice."""
    return client_class(shortcuts)(
        token=token,
        base_url=base_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            CountedRateLimitRetries(max_retry_count=BACKGROUND_RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
