"""Who is asking: the person behind a request and what Slack's signed payload says of where they belong, read
once per request by the middleware and carried to every check made for it (``AccessPolicy.may``) and to every
redraw of their Credentials tab.

Slack shows someone of another organisation (a Slack Connect channel) differently by kind of request. An
interaction names their own workspace in ``user.team_id``, while ``team``, ``enterprise`` and a view's
``app_installed_team_id`` name the installation's. A slash command names only the installation's workspace, and
marks a channel shared with another organisation with ``is_ext_shared_channel``. The Home tab's
``app_home_opened`` says nothing of the person. Where the payload does not settle it, users.info does
(``team_id``, ``enterprise_user``); an org-wide install always asks it, as a workspace id alone does not say which
organisation the workspace belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.credentials.types import Workspace


@dataclass(frozen=True)
class Requester:
    """A plain value (lazy listeners get a copy of the context): no client, no token."""

    user_id: str
    workspace: Workspace  # whose credentials the request would show or change
    org_wide: bool = False  # served by an org-wide installation: membership is of its organisation
    own_team: str | None = None  # the person's own workspace, where the payload names it
    ask_slack: bool = True  # the payload does not settle where they belong: users.info does


def requester_of(context: Any, body: dict, workspace: Workspace, actor: str) -> Requester:
    """The request's person, from the signed payload and Bolt's reading of it (``context.is_enterprise_install``
    comes from the payload's ``authorizations`` or ``is_enterprise_install``)."""
    org_wide = bool(getattr(context, "is_enterprise_install", False)) or body.get("is_enterprise_install") in (
        True,
        "true",
    )
    own_team = _own_team(body)
    command = isinstance(body.get("command"), str)
    shared = body.get("is_ext_shared_channel") in (True, "true")
    # A slash command in a channel Slack says is not shared with another organisation comes from the workspace's
    # own people; anything else that does not name the person's workspace is asked about.
    ask = org_wide or (own_team is None and (shared or not command))
    return Requester(actor, workspace, org_wide=org_wide, own_team=own_team, ask_slack=ask)


def _own_team(body: dict) -> str | None:
    user = body.get("user")
    if isinstance(user, dict) and isinstance(user.get("team_id"), str) and user["team_id"]:
        return user["team_id"]
    event = body.get("event")
    team = event.get("user_team") if isinstance(event, dict) else None  # message events name it; E… ids do not
    return team if isinstance(team, str) and team.startswith("T") else None
