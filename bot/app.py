"""build_app: the Bolt app with every listener registered."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.listeners import register_listeners
from bot.services import Services


def build_app(services: Services) -> App:
    settings = services.settings
    app = App(
        client=services.slack,
        # Socket Mode traffic is authenticated by the app token; HTTP by the v0 request signature.
        signing_secret=settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None,
        request_verification_enabled=not settings.socket_mode,
        # auth.test is checked once at start-up by `serve`, not by every worker.
        token_verification_enabled=False,
        listener_executor=services.executor,
        logger=logging.getLogger("slack_bolt.App"),
    )
    register_listeners(app, services)
    return app
