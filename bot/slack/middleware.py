"""Once per request, before any listener: the request's kind named for the metrics, the process's services,
the request's workspace, its actor and who is asking (bot.slack.requester), and (CREDBOT_LIBRARY_SHORTCUTS) a Web
API client that keeps its connections.

Listeners read them with ``services_of(context)`` and ``requester_of_request(context)`` (bot.slack.request_context),
``context["workspace"]`` and ``context["actor"]``; nothing rebuilds them. The workspace comes from Bolt's context,
which takes it from the signed payload (an org-wide install's interaction payload carries no team, so the user's
team is used there).
"""

from __future__ import annotations

import time
from typing import Any, TYPE_CHECKING
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.credentials.types import Workspace
from bot.infra import metrics
from bot.slack.request_context import REQUESTER, SERVICES
from bot.slack.requester import requester_of
from bot.slack.settings_book import request_scope
from bot.slack.web_client import PooledWebClient

if TYPE_CHECKING:
    from bot.slack.services import Services


def workspace_of(context: Any, body: dict) -> Workspace:
    """The workspace a request belongs to, from Bolt's context with the payload as fallback."""
    enterprise = context.enterprise_id or body.get("enterprise_id") or ""
    team = context.team_id or (body.get("user") or {}).get("team_id") or body.get("team_id") or ""
    return Workspace(enterprise_id=str(enterprise), team_id=str(team))


def actor_of(context: Any, body: dict) -> str:
    user = body.get("user")
    return str(context.user_id or body.get("user_id") or (user.get("id") if isinstance(user, dict) else "") or "")


class RequestSetup(Middleware):
    """Bolt's one global middleware of ours. A ``Middleware`` subclass, not a decorated function: Bolt calls its
    ``process`` directly, where each function middleware cost a pass of Bolt's keyword-argument builder (every
    payload accessor over the body) per request. ``time_acks``: in Socket Mode (no WSGI layer that times the
    answer) it times the ack too."""

    def __init__(self, services: Services, *, time_acks: bool) -> None:
        self.services, self.time_acks = services, time_acks

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        kind = metrics.name_request(req.body)
        context, body = req.context, req.body
        context[SERVICES] = self.services
        context["workspace"] = workspace_of(context, body)
        context["actor"] = actor_of(context, body)
        # who is asking and what the payload says of where they belong; checked (with users.info where the
        # payload does not say) only when a listener asks, after the ack where the listener's work is
        context[REQUESTER] = requester_of(context, body, context["workspace"], context["actor"])
        if self.services.settings.library_shortcuts:
            pooled_client(context)
        with request_scope():  # the workspace's settings are read once for this ack, fresh (bot.slack.settings_book)
            if not self.time_acks:
                return next()
            started = time.perf_counter()
            try:
                return next()
            finally:
                metrics.observe(kind, "ack", time.perf_counter() - started)


def pooled_client(context: Any) -> None:
    """Bolt gives each request a plain WebClient of its own (with the request's token); swap in one whose calls
    reuse kept-alive connections. It is a standard context property, so lazy listeners get it too."""
    plain = context.client
    if plain is not None and plain.proxy is None and plain.ssl is None:
        context["client"] = PooledWebClient.adopt(plain)
