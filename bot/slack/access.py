"""Who may do what: credential admins (create and change) and viewers (list).

``CREDBOT_ADMINS`` and ``CREDBOT_VIEWERS`` list Slack user ids (U…, W…) and
user-group ids (S…). Group members come from ``usergroups.users.list`` and are
cached per workspace for five minutes; when membership cannot be read the
answer is "no" (fail closed), and the failure is not cached, so the next
request asks Slack again. No admins configured: everyone may manage. No
viewers configured: everyone in the workspace may list.

The cache only saves Slack calls: every instance reaches the same answer from
Slack, so nothing a later request needs lives in one process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from collections.abc import Callable, Sequence

from slack_sdk import WebClient

from bot.credentials.types import Workspace
from bot.slack.slack_lookup import SlackLookup
from bot.slack.ui.text import mention


GROUP_CACHE_SECONDS = 300
MANAGE = "manage"
VIEW = "view"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # for the audit trail: how the answer was reached

    def __bool__(self) -> bool:
        return self.allowed


class AccessPolicy:
    def __init__(
        self,
        admins: Sequence[str],
        viewers: Sequence[str] | None,
        client: WebClient,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = GROUP_CACHE_SECONDS,
    ) -> None:
        self.admins = tuple(admins)
        self.viewers = None if viewers is None else tuple(viewers)
        self.client = client
        self.clock = clock
        self.ttl = ttl
        self._lookups = SlackLookup(ttl, clock)

    @property
    def open_to_everyone(self) -> bool:
        return not self.admins

    def may_manage(self, workspace: Workspace, user_id: str) -> Decision:
        """Create, replace, rename, delete."""
        if not self.admins:
            return Decision(True, "no admins configured")
        return self._member(workspace, user_id, self.admins)

    def may_view(self, workspace: Workspace, user_id: str) -> Decision:
        """List credentials, copy an id. Admins may always view."""
        if self.viewers is None:
            return Decision(True, "everyone may view")
        return self._member(workspace, user_id, self.viewers + self.admins)

    def may(self, kind: str, workspace: Workspace, user_id: str, *, outsider: bool = False) -> Decision:
        """``outsider``: the person's own workspace is not this one (a Slack Connect channel shared with another
        organisation). They are refused unless a setting names them by user id: a group of ours or "everyone"
        never reaches into another organisation."""
        if outsider:
            named = self.admins if kind == MANAGE else (self.viewers or ()) + self.admins
            if user_id not in named:
                return Decision(False, "from another organisation's workspace (Slack Connect), not named")
        return self.may_manage(workspace, user_id) if kind == MANAGE else self.may_view(workspace, user_id)

    def who_to_ask(self, kind: str) -> str:
        """The people and groups to name in a refusal."""
        principals = self.admins if kind == MANAGE or not self.viewers else self.viewers
        return ", ".join(f"<!subteam^{p}>" if p.startswith("S") else mention(p) for p in principals[:10])

    def refusal(self, kind: str) -> str:
        if not self.who_to_ask(kind):  # open to everyone here, so the refused person is from elsewhere
            return (
                ":no_entry: Credentials are shown only to people of the workspace that owns them. If you "
                "need access from another organisation, ask the bot's operators to name you in CREDBOT_VIEWERS."
            )
        action = "create or change credentials" if kind == MANAGE else "see credentials"
        holders = "credential admins" if kind == MANAGE else "credential viewers"
        return f":no_entry: Only {holders} can {action}. Ask {self.who_to_ask(kind)} if you need access."

    def home_team(self, user_id: str) -> str | None:
        """The workspace a person belongs to (users.info), kept like group members; None when unreadable."""

        def read() -> str:
            team = (self.client.users_info(user=user_id).get("user") or {}).get("team_id")
            if not isinstance(team, str) or not team:
                raise ValueError("no team_id in the answer")
            return team

        team = self._lookups.get(
            ("home", user_id),
            read,
            f"could not read the workspace of user {user_id} (%s): treating them as an outsider",
        )
        return team if isinstance(team, str) else None  # else UNREADABLE

    # -- internals ----------------------------------------------------------------------

    def _member(self, workspace: Workspace, user_id: str, principals: Sequence[str]) -> Decision:
        if not user_id:
            return Decision(False, "no user in the request")
        if user_id in principals:
            return Decision(True, "listed")
        unreadable = []
        for group in (p for p in principals if p.startswith("S")):
            members = self._members(workspace, group)
            if members is None:
                unreadable.append(group)
            elif user_id in members:
                return Decision(True, f"member of {group}")
        if unreadable:
            return Decision(False, f"membership of {', '.join(unreadable)} could not be read")
        return Decision(False, "not listed")

    def _members(self, workspace: Workspace, group: str) -> frozenset[str] | None:
        def read() -> frozenset[str]:
            # org-wide installs must name the workspace (slack-sdk leaves a None team_id out)
            team_id = workspace.team_id if workspace.enterprise_id and workspace.team_id else None
            users = self.client.usergroups_users_list(usergroup=group, team_id=team_id).get("users")
            if not isinstance(users, list):
                raise ValueError("no users list in the response")
            return frozenset(u for u in users if isinstance(u, str))

        members = self._lookups.get(
            ("group", workspace.enterprise_id, workspace.team_id, group),
            read,
            f"could not read members of user group {group} (%s): denying",
        )
        return members if isinstance(members, frozenset) else None  # else UNREADABLE
