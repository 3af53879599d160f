"""The typed way into what the middleware (bot.slack.middleware.RequestSetup) put in a request's context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from bot.slack.services import Services

SERVICES = "services"


def services_of(context: Mapping[str, Any]) -> Services:
    """The process's services, as the middleware set them for this request."""
    return cast("Services", context[SERVICES])
