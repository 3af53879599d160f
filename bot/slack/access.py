"""Who may do what: credential admins (create and change) and viewers (list), and before either the outsider
rule: someone of another organisation (a Slack Connect channel) is refused unless named by user id.

Who may manage and who may view are the request's workspace's settings in effect (``rules``: its saved
``admins`` and ``viewers``, else ``CREDBOT_ADMINS`` and ``CREDBOT_VIEWERS``, bot.slack.settings_book), each a list
of Slack user ids (U…, W…) and user-group ids (S…); settings that cannot be read refuse (fail closed).
Group members come from ``usergroups.users.list`` and are
cached per workspace for five minutes; when membership cannot be read the
answer is "no" (fail closed), and the failure is not cached, so the next
request asks Slack again. No admins configured: everyone may manage. No
viewers configured: everyone in the workspace may list.

``may`` is the one decision for everything that shows or changes credentials: every listener asks it (through
bot.slack.listeners.common.permitted) and so does every redraw of a Credentials tab (broadcast.home_tab_refresh).

The group cache only saves Slack calls: every instance reaches the same answer from Slack. The settings are read
from the database for each request (bot.slack.settings_book): a change saved on any instance governs the next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from collections.abc import Callable, Sequence

from slack_sdk import WebClient

from bot.credentials.types import Workspace
from bot.slack.requester import Requester
from bot.slack.slack_lookup import SlackLookup
from bot.slack.ui.text import mention

Rules = tuple[tuple[str, ...], tuple[str, ...] | None]  # (admins, viewers) in effect for a workspace


GROUP_CACHE_SECONDS = 300
MANAGE = "manage"
VIEW = "view"
OUTSIDER = "from another organisation's workspace (Slack Connect)"
OUTSIDER_REFUSAL = (
    ":no_entry: Credbot is for members of this workspace: credentials are shown only to people of the workspace "
    "that owns them. If you need access from another organisation, ask the bot's operators to name you in "
    "CREDBOT_VIEWERS (or CREDBOT_ADMINS to manage them)."
)
UNREADABLE_RULES = (
    ":warning: Credbot cannot read this workspace's settings just now, so it cannot say who may do this. "
    "Try again in a minute."
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # for the audit trail: how the answer was reached
    message: str = ""  # a refusal, as the person is told it

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Person:
    """What users.info says of someone: their own workspace, every workspace of theirs in an Enterprise
    organisation, that organisation, and whether Slack calls them a stranger to the asking workspace."""

    team_id: str
    teams: frozenset[str]
    enterprise_id: str
    stranger: bool


class AccessPolicy:
    def __init__(
        self,
        admins: Sequence[str],
        viewers: Sequence[str] | None,
        client: WebClient,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = GROUP_CACHE_SECONDS,
        rules: Callable[[Workspace], Rules] | None = None,
    ) -> None:
        """``admins``/``viewers``: the rules of a workspace when ``rules`` (each workspace's in effect) is not
        given."""
        self.rules_of = rules
        self.admins = tuple(admins)
        self.viewers = None if viewers is None else tuple(viewers)
        self.client = client
        self.clock = clock
        self.ttl = ttl
        self._lookups = SlackLookup(ttl, clock)

    def rules(self, workspace: Workspace) -> Rules:
        """(admins, viewers) in effect for ``workspace``; raises when its settings cannot be read."""
        if self.rules_of is None:
            return self.admins, self.viewers
        admins, viewers = self.rules_of(workspace)
        return tuple(admins), None if viewers is None else tuple(viewers)

    def may_manage(
        self, workspace: Workspace, user_id: str, *, token: str | None = None, rules: Rules | None = None
    ) -> Decision:
        """Create, replace, rename, delete (admins only; ``may`` adds the outsider rule)."""
        admins, _ = rules or self.rules(workspace)
        if not admins:
            return Decision(True, "no admins configured")
        return self._member(workspace, user_id, admins, token)

    def may_view(
        self, workspace: Workspace, user_id: str, *, token: str | None = None, rules: Rules | None = None
    ) -> Decision:
        """List credentials, copy an id. Admins may always view (``may`` adds the outsider rule)."""
        admins, viewers = rules or self.rules(workspace)
        if viewers is None:
            return Decision(True, "everyone may view")
        return self._member(workspace, user_id, viewers + admins, token)

    def may(self, kind: str, who: Requester, *, token: str | None = None) -> Decision:
        """The decision for ``who`` to ``kind`` (manage/view) the credentials of their request's workspace: first
        the outsider rule (``membership``; someone of another organisation is refused unless a setting names them by
        user id: a group of ours or "everyone" never reaches into another organisation), then admins/viewers, as
        the workspace's settings in effect say (unreadable: refused).
        ``token``: the request's (OAuth mode: the installation's) for the Slack calls it may need."""
        try:
            rules = self.rules(who.workspace)
        except Exception as error:  # fail closed: nobody is let in on settings nobody could read
            return Decision(False, f"workspace settings could not be read ({type(error).__name__})", UNREADABLE_RULES)
        admins, viewers = rules
        member = self.membership(who, token=token)
        if not member:
            named = admins if kind == MANAGE else (viewers or ()) + admins
            if who.user_id not in named:
                return Decision(False, f"{member.reason}, not named", OUTSIDER_REFUSAL)
        if kind == MANAGE:
            decision = self.may_manage(who.workspace, who.user_id, token=token, rules=rules)
        else:
            decision = self.may_view(who.workspace, who.user_id, token=token, rules=rules)
        return decision if decision else Decision(False, decision.reason, self.refusal(kind, rules))

    def membership(self, who: Requester, *, token: str | None = None) -> Decision:
        """Whether ``who`` belongs where their request acts: in a workspace install, to its workspace; in an
        org-wide install, to its organisation. Their own workspace comes from the payload where Slack names it,
        else from users.info (unreadable: an outsider, fail closed)."""
        workspace = who.workspace
        if not who.user_id:
            return Decision(False, "no user in the request")
        if not who.ask_slack:
            if who.own_team in (None, workspace.team_id):
                return Decision(True, "member")
            return Decision(False, f"{OUTSIDER}: of {who.own_team}, not {workspace.team_id}")
        person = self.person(who, token=token)
        if person is None:
            return Decision(False, f"{OUTSIDER}: treated so, as users.info could not say")
        if who.org_wide:
            if workspace.enterprise_id and person.enterprise_id == workspace.enterprise_id:
                return Decision(True, "member of the organisation")
            elsewhere = person.enterprise_id or person.team_id
            return Decision(False, f"{OUTSIDER}: of {elsewhere}, not organisation {workspace.enterprise_id or '?'}")
        own = who.own_team or workspace.team_id
        if person.stranger or workspace.team_id not in person.teams or own not in person.teams:
            return Decision(False, f"{OUTSIDER}: of {person.team_id}, not {workspace.team_id}")
        return Decision(True, "member")

    def who_to_ask(self, kind: str, rules: Rules | None = None) -> str:
        """The people and groups to name in a refusal (``rules``: the workspace's; else the defaults)."""
        admins, viewers = rules or (self.admins, self.viewers)
        principals = admins if kind == MANAGE or not viewers else viewers
        return ", ".join(f"<!subteam^{p}>" if p.startswith("S") else mention(p) for p in principals[:10])

    def refusal(self, kind: str, rules: Rules | None = None) -> str:
        if not self.who_to_ask(kind, rules):  # open to everyone here, so the refused person is from elsewhere
            return OUTSIDER_REFUSAL
        action = "create or change credentials" if kind == MANAGE else "see credentials"
        holders = "credential admins" if kind == MANAGE else "credential viewers"
        return f":no_entry: Only {holders} can {action}. Ask {self.who_to_ask(kind, rules)} if you need access."

    def person(self, who: Requester, *, token: str | None = None) -> Person | None:
        """users.info on ``who``, kept like group members (per workspace and person); None when unreadable."""

        def read() -> Person:
            user = self.client.users_info(user=who.user_id, **_as(token)).get("user") or {}
            team = user.get("team_id")
            if not isinstance(team, str) or not team:
                raise ValueError("no team_id in the answer")
            grid = user.get("enterprise_user")
            grid = grid if isinstance(grid, dict) else {}
            teams = [t for t in grid.get("teams") or [] if isinstance(t, str)]
            enterprise = str(grid.get("enterprise_id") or "")
            return Person(team, frozenset([team, *teams]), enterprise, user.get("is_stranger") is True)

        workspace = who.workspace
        found = self._lookups.get(
            ("person", workspace.enterprise_id, workspace.team_id, who.user_id),
            read,
            f"could not read the workspace of user {who.user_id} (%s): treating them as from another organisation",
        )
        return found if isinstance(found, Person) else None  # else UNREADABLE

    # -- internals ----------------------------------------------------------------------

    def _member(self, workspace: Workspace, user_id: str, principals: Sequence[str], token: str | None) -> Decision:
        if not user_id:
            return Decision(False, "no user in the request")
        if user_id in principals:
            return Decision(True, "listed")
        unreadable = []
        for group in (p for p in principals if p.startswith("S")):
            members = self._members(workspace, group, token)
            if members is None:
                unreadable.append(group)
            elif user_id in members:
                return Decision(True, f"member of {group}")
        if unreadable:
            return Decision(False, f"membership of {', '.join(unreadable)} could not be read")
        return Decision(False, "not listed")

    def _members(self, workspace: Workspace, group: str, token: str | None) -> frozenset[str] | None:
        def read() -> frozenset[str]:
            # org-wide installs must name the workspace (slack-sdk leaves a None team_id out)
            team_id = workspace.team_id if workspace.enterprise_id and workspace.team_id else None
            users = self.client.usergroups_users_list(usergroup=group, team_id=team_id, **_as(token)).get("users")
            if not isinstance(users, list):
                raise ValueError("no users list in the response")
            return frozenset(u for u in users if isinstance(u, str))

        members = self._lookups.get(
            ("group", workspace.enterprise_id, workspace.team_id, group),
            read,
            f"could not read members of user group {group} (%s): denying",
        )
        return members if isinstance(members, frozenset) else None  # else UNREADABLE


def _as(token: str | None) -> dict:
    """The request's token for a call (OAuth mode: the process has none of its own); nothing when there is none."""
    return {"token": token} if token else {}
