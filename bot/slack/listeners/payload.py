"""Reading Slack payloads defensively: everything here came from outside."""

from __future__ import annotations

from typing import Any

from bot.slack.access import Decision
from bot.credentials.service import Workspace


def acknowledge(ack: Any) -> None:
    """The whole synchronous part of listeners whose work happens after Slack has its answer."""
    ack()


def workspace_of(context: Any, body: dict) -> Workspace:
    """The workspace a request belongs to, from Bolt's context with the payload as fallback."""
    enterprise = context.enterprise_id or body.get("enterprise_id") or ""
    team = context.team_id or (body.get("user") or {}).get("team_id") or body.get("team_id") or ""
    return Workspace(enterprise_id=str(enterprise), team_id=str(team))


def actor_of(context: Any, body: dict) -> str:
    return str(context.user_id or body.get("user_id") or (body.get("user") or {}).get("id") or "")


def permitted(services: Any, kind: str, context: Any, body: dict, attempt: str, *, audit: bool = True) -> Decision:
    """May this request's user do ``kind`` (manage/view) here? Refusals are audited with what was attempted."""
    workspace, actor = workspace_of(context, body), actor_of(context, body)
    decision = services.access.may(kind, workspace, actor)
    if not decision and audit:
        services.credentials.record(workspace, actor, attempt, "denied", detail=decision.reason)
    return decision


def read_input(view: dict, field: str) -> str | None:
    """The value of the input block ``field`` (text or selected option), or None."""
    block = ((view.get("state") or {}).get("values") or {}).get(field)
    if not isinstance(block, dict):
        return None
    element = block.get(f"{field}_input")
    if not isinstance(element, dict):
        return None
    if isinstance(element.get("selected_option"), dict):
        value = element["selected_option"].get("value")
    else:
        value = element.get("value")
    return value if isinstance(value, str) else None
