"""build_app: the Bolt app with every listener registered."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.slack.listeners import register_listeners
from bot.slack.middleware import RequestSetup
from bot.slack.services import Services


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (built from that very token) wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


NOT_INSTALLED = (
    "Credbot is not installed in this workspace (or was uninstalled). Ask a workspace admin to "
    "install it with the app's Add to Slack link (/slack/install), then try again."
)


def oauth_arguments(services: Services) -> dict:
    """OAuth mode: Bolt's install flow and per-workspace authorize over our sealed store (never Bolt's file
    stores); single-workspace mode: nothing, the client's token serves every request."""
    if services.installations is None:
        return {}
    from bot.infra.db import session_factory
    from bot.slack.oauth.install_flow import oauth_settings

    settings = oauth_settings(
        services.settings, services.installations, session_factory(services.engine), services.slack
    )
    # authorize given outright: otherwise App builds one whose token rotator calls slack.com, not SLACK_API_URL.
    return {
        "oauth_settings": settings,
        "installation_store": services.installations,
        "installation_store_bot_only": True,
        "authorize": settings.authorize,
        "user_facing_authorize_error_message": NOT_INSTALLED,
    }


def build_app(services: Services, *, app_class: type[App] = App) -> App:
    """The app ``serve`` runs. ``app_class`` is Bolt's ``App`` or a subclass of it: a test passes one that records
    what is registered (the manifest must subscribe to every event listened for)."""
    settings = services.settings
    bolt_logger = logging.getLogger("slack_bolt.App")
    bolt_logger.addFilter(_SameTokenNotice())
    app = app_class(
        # The name Bolt would derive from this file (its loggers' names, "app.py:…"), given: deriving it calls
        # inspect.stack(), which reads the source of every frame and maps files to modules by scanning every loaded
        # module (0.1 CPU-seconds per gunicorn worker and per in-process test app).
        name="app.py",
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
        **oauth_arguments(services),
    )
    if services.installations is not None:
        # app_uninstalled and tokens_revoked forget the workspace's tokens at once (in the database: every
        # instance sees it); its credentials stay.
        app.enable_token_revocation_listeners()
    # Names each request's kind for the metrics (in Socket Mode, with no WSGI layer, it also times the ack), puts
    # the services, workspace and actor into the context.
    app.use(RequestSetup(services, time_acks=settings.socket_mode))
    register_listeners(app, single_workspace=services.installations is None, shortcuts=settings.library_shortcuts)
    return app
