"""Who may change a workspace's settings (issue 22): the people ``CREDBOT_ADMINS`` allows when it is set (users and
user groups, as the access policy reads them); otherwise the workspace's Slack admins and owners (users.info:
``is_admin``, ``is_owner``, ``is_primary_owner``) and, in OAuth mode, the user who installed the app (the
installation store's record). A single-workspace deployment has no installation record: there it is the Slack
admins and owners only.

Before any of that, the outsider rule of every listener (AccessPolicy.membership): someone of another organisation
(a Slack Connect channel) is refused unless ``CREDBOT_ADMINS`` names them by user id. Anything Slack cannot answer
is a refusal (fail closed). Answers are kept like group members (GROUP_CACHE_SECONDS), so drawing the Home tab
does not ask Slack each time."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.oauth.installation_store import InstallationStore

from bot.slack.access import GROUP_CACHE_SECONDS, OUTSIDER_REFUSAL, AccessPolicy, Decision
from bot.slack.requester import Requester
from bot.slack.slack_lookup import SlackLookup

ATTEMPT = "workspace_settings.change"  # what a refusal is audited as (outcome "denied")
ROLES = ("is_admin", "is_owner", "is_primary_owner")


def refusal(who_to_ask: str) -> str:
    ask = f" Ask {who_to_ask}." if who_to_ask else " Ask a workspace admin or owner."
    return f":no_entry: Only those allowed to manage Credbot's settings can change them.{ask}"


class SettingsRights:
    """The decision for one person to change their workspace's settings. ``env_admins``: CREDBOT_ADMINS;
    ``access``: the process's access policy (its outsider rule and Slack client); ``installations``: the OAuth
    installation store (None in single-workspace mode)."""

    def __init__(
        self,
        env_admins: Sequence[str],
        access: AccessPolicy,
        installations: InstallationStore | None,
        ttl: float = GROUP_CACHE_SECONDS,
    ) -> None:
        self.env_admins, self.access, self.installations = tuple(env_admins), access, installations
        # CREDBOT_ADMINS through the access policy's own reading (groups included), whatever a workspace saved
        self.listed = AccessPolicy(self.env_admins, None, access.client, ttl=ttl)
        self._roles = SlackLookup(ttl)

    def may_change(self, who: Requester, *, token: str | None = None) -> Decision:
        member = self.access.membership(who, token=token)
        if not member and who.user_id not in self.env_admins:
            return Decision(False, f"{member.reason}, not named", OUTSIDER_REFUSAL)
        if self.env_admins:
            decision = self.listed.may_manage(who.workspace, who.user_id, token=token)
            reason = f"CREDBOT_ADMINS: {decision.reason}"
            return (
                Decision(True, reason)
                if decision
                else Decision(False, reason, refusal(self.listed.who_to_ask("manage")))
            )
        if self._slack_admin(who, token):
            return Decision(True, "a Slack admin or owner of the workspace")
        if self._installer(who):
            return Decision(True, "installed the app")
        return Decision(False, "not a Slack admin, owner or the installer", refusal(""))

    def _slack_admin(self, who: Requester, token: str | None) -> bool:
        def read() -> bool:
            extra: dict = {"token": token} if token else {}
            user = self.access.client.users_info(user=who.user_id, **extra).get("user") or {}
            return any(user.get(role) is True for role in ROLES)

        workspace = who.workspace
        found = self._roles.get(
            ("role", workspace.enterprise_id, workspace.team_id, who.user_id),
            read,
            f"could not read the role of user {who.user_id} (%s): not treating them as an admin",
        )
        return found is True

    def _installer(self, who: Requester) -> bool:
        store = self.installations
        if store is None:  # single-workspace mode: no installation record, so no installer to name
            return False
        workspace = who.workspace

        def read() -> str:  # kept like the roles: the Home tab asks on every draw, and a lookup unseals a token
            try:
                bot = store.find_bot(
                    enterprise_id=workspace.enterprise_id or None,
                    team_id=workspace.team_id or None,
                    is_enterprise_install=who.org_wide,
                )
            except Exception as error:  # the store's database or its sealing: no installer, and the tab still draws
                raise ValueError(type(error).__name__) from error  # what SlackLookup reports as unreadable
            return str((bot.custom_values or {}).get("installer_user_id") or "") if bot is not None else ""

        installer = self._roles.get(
            ("installer", workspace.enterprise_id, workspace.team_id, who.org_wide),
            read,
            "could not read the installation's installer (%s): nobody is the installer",
        )
        return isinstance(installer, str) and bool(installer) and installer == who.user_id
