"""Once per request, before any listener: the process's services, the request's workspace and its actor.

Listeners read them from ``context["services"]``, ``context["workspace"]`` and ``context["actor"]``; nothing
rebuilds them. The workspace comes from Bolt's context, which takes it from the signed payload (an org-wide
install's interaction payload carries no team, so the user's team is used there).
"""

from __future__ import annotations

from typing import Any, Callable

from bot.credentials.types import Workspace


def workspace_of(context: Any, body: dict) -> Workspace:
    """The workspace a request belongs to, from Bolt's context with the payload as fallback."""
    enterprise = context.enterprise_id or body.get("enterprise_id") or ""
    team = context.team_id or (body.get("user") or {}).get("team_id") or body.get("team_id") or ""
    return Workspace(enterprise_id=str(enterprise), team_id=str(team))


def actor_of(context: Any, body: dict) -> str:
    user = body.get("user")
    return str(context.user_id or body.get("user_id") or (user.get("id") if isinstance(user, dict) else "") or "")


def outsider(body: dict, workspace: Workspace, home_team_of: Callable[[str], str | None]) -> bool:
    """Whether the person acting belongs to another workspace than the one the request is for (a Slack Connect
    channel shared with another organisation). An interaction carries the person's own workspace in
    ``user.team_id``; a slash command does not, so in a channel Slack marks as externally shared the person's
    workspace is read with users.info (an unreadable answer counts as an outsider: fail closed). An org-wide
    install serves every workspace of its organisation, so there nobody of the organisation is an outsider."""
    if not workspace.team_id or body.get("is_enterprise_install") in (True, "true"):
        return False
    user = body.get("user")
    if isinstance(user, dict):
        home = user.get("team_id")
    elif body.get("is_ext_shared_channel") in (True, "true") and body.get("user_id"):
        home = home_team_of(str(body["user_id"])) or "unknown"
    else:
        home = None
    return bool(home) and str(home) != workspace.team_id


def request_context(services: Any) -> Callable[..., None]:
    """A Bolt middleware that puts the services, workspace and actor into the request's context."""

    def attach(context: Any, body: dict, next: Callable[[], None]) -> None:  # noqa: A002 (Bolt's name)
        context["services"] = services
        context["workspace"] = workspace_of(context, body)
        context["actor"] = actor_of(context, body)
        context["outsider"] = outsider(body, context["workspace"], services.access.home_team)
        next()

    return attach
