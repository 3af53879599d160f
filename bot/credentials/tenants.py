"""The workspaces a deployment knows, each with its settings in effect, for `credbot workspaces list|show`.

In OAuth mode a workspace is known from its installation (installed while its token is stored) or from the
settings it saved (kept after an uninstall until `credentials purge`). A single-workspace deployment records no
installation: its workspaces are those its credentials and saved settings name, and ``installed`` is None (the
one bot token serves them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import Credential, SlackInstallation
from bot.credentials.types import Workspace
from bot.credentials.workspace_settings import (
    SAVED,
    SettingDefaults,
    WorkspaceSettings,
    all_saved,
    compose,
    own_scope,
    scope_workspace,
)


@dataclass(frozen=True)
class KnownWorkspace:
    workspace: Workspace
    installed: bool | None  # None: single-workspace mode, where no installation is recorded
    org_wide: bool
    name: str
    settings: WorkspaceSettings

    @property
    def scope_id(self) -> str:
        """Where the workspace's own settings are saved: its team, or its org for an org-wide install."""
        return own_scope(self.workspace)

    def saved_references(self) -> list[tuple[str, str]]:
        """Each channel and user group its saved settings in effect name (its own or its org's, not the defaults),
        for `credbot check`: ("notification channel" | "board channel" | "user group", id)."""
        settings, found = self.settings, []
        if settings.sources["notify_channels"].kind == SAVED:
            found += [("notification channel", channel) for channel in settings.notify_channels]
        if settings.sources["board_channel"].kind == SAVED and settings.board_channel:
            found.append(("board channel", settings.board_channel))
        for name in ("admins", "viewers"):
            if settings.sources[name].kind == SAVED:
                found += [("user group", group) for group in settings.value(name) or () if group.startswith("S")]
        return list(dict.fromkeys(found))

    def as_dict(self) -> dict[str, object]:
        """One workspace as `credbot workspaces list --json` prints it (README, "Command line contract")."""
        return {
            "workspace_id": own_scope(self.workspace),
            "enterprise_id": self.workspace.enterprise_id or None,
            "team_id": self.workspace.team_id or None,
            "org_wide": self.org_wide,
            "name": self.name,
            "installed": self.installed,
            "settings": self.settings.as_dict(),
        }


def known_workspaces(sessions: sessionmaker[Session], defaults: SettingDefaults, oauth: bool) -> list[KnownWorkspace]:
    """Every known workspace with its settings in effect, ordered by org and team (three queries in all)."""
    saved, orgs = all_saved(sessions)
    found: dict[str, tuple[Workspace, bool | None, bool, str]] = {}
    with sessions() as session:
        if oauth:
            for enterprise, team, org_wide, name, token in session.execute(
                select(
                    SlackInstallation.enterprise_id,
                    SlackInstallation.team_id,
                    SlackInstallation.is_enterprise_install,
                    SlackInstallation.team_name,
                    SlackInstallation.encrypted_bot_token.is_not(None),
                )
            ):
                workspace = Workspace(enterprise, "" if org_wide else team)
                found[own_scope(workspace)] = (workspace, bool(token), bool(org_wide), name)
        else:
            for enterprise, team in session.execute(select(Credential.enterprise_id, Credential.team_id).distinct()):
                workspace = Workspace(enterprise, team)
                if own_scope(workspace):
                    found.setdefault(own_scope(workspace), (workspace, None, not team, ""))
    for scope in saved:
        workspace = scope_workspace(scope, orgs.get(scope, ""))
        found.setdefault(scope, (workspace, False if oauth else None, scope.startswith("E"), ""))
    return sorted(
        (
            KnownWorkspace(workspace, installed, org_wide, name, compose(workspace, saved, defaults))
            for workspace, installed, org_wide, name in found.values()
        ),
        key=lambda known: (known.workspace.enterprise_id, known.workspace.team_id),
    )


def find_workspace(known: list[KnownWorkspace], workspace_id: str) -> KnownWorkspace | None:
    """The known workspace whose own id (team, or org for an org-wide install) is ``workspace_id``."""
    return next((item for item in known if own_scope(item.workspace) == workspace_id), None)
