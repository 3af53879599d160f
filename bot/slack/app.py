"""build_app: the Bolt app with every listener registered."""

from __future__ import annotations

import logging

from typing import Callable

from slack_bolt import App, BoltContext

from bot.infra import metrics
from bot.slack.listeners import register_listeners
from bot.slack.middleware import request_context
from bot.slack.services import Services
from bot.slack.web_client import PooledWebClient


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (built from that very token) wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def pooled_client(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002 (Bolt's name)
    """Bolt gives each request a plain WebClient of its own (with the request's token); swap in one whose calls
    reuse kept-alive connections. It is a standard context property, so lazy listeners get it too."""
    plain = context.client
    if plain is not None and plain.proxy is None and plain.ssl is None:
        context["client"] = PooledWebClient(token=plain.token, base_url=plain.base_url, timeout=plain.timeout,
                                            headers=plain.headers, logger=plain.logger,
                                            retry_handlers=plain.retry_handlers)
    next()


def build_app(services: Services) -> App:
    settings = services.settings
    bolt_logger = logging.getLogger("slack_bolt.App")
    bolt_logger.addFilter(_SameTokenNotice())
    app = App(
        client=services.slack,
        # Socket Mode traffic is authenticated by the app token; HTTP by the v0 request signature.
        signing_secret=settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None,
        request_verification_enabled=not settings.socket_mode,
        # auth.test is checked once at start-up by `serve`, not by every worker.
        token_verification_enabled=False,
        listener_executor=services.executor,
        # Answer Slack as soon as the ack function returns; slow work runs in lazy listeners on the executor.
        # (Otherwise Bolt polls for the ack every 10 ms, which was most of our ack time.)
        process_before_response=True,
        logger=bolt_logger,
    )
    # Names each request's kind for the metrics; in Socket Mode (no WSGI layer) it also times the ack.
    app.use(metrics.bolt_middleware(record_here=settings.socket_mode))
    app.use(request_context(services))
    app.use(pooled_client)
    register_listeners(app)
    return app
