"""The typed way into what the middleware (bot.slack.middleware.RequestSetup) put in a request's context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from bot.slack.requester import Requester
    from bot.slack.services import Services

SERVICES = "services"
REQUESTER = "requester"


def services_of(context: Mapping[str, Any]) -> Services:
    """The process's services, as the middleware set them for this request."""
    return cast("Services", context[SERVICES])


def requester_of_request(context: Mapping[str, Any]) -> Requester:
    """Who is asking (bot.slack.requester), as the middleware read it from this request's payload."""
    return cast("Requester", context[REQUESTER])


def token_of(context: Any) -> str | None:
    """The request's bot token (OAuth mode: its installation's), for the access checks' Slack calls."""
    client = getattr(context, "client", None)
    return getattr(client, "token", None)
