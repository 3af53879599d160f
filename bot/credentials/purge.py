"""Removing every credential of a workspace that is gone (uninstalled for good), on an operator's word."""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.audit import AuditLog
from bot.credentials.models import Credential, Reminder
from bot.credentials.types import Workspace
from bot.credentials.workspace_settings_save import forget_settings


def purge_workspace(sessions: sessionmaker[Session], audit: AuditLog, workspace_id: str, actor: str) -> tuple[int, int]:
    """Delete the credentials of a workspace (team id) or of an Enterprise org (enterprise id), with their
    reminders and its saved settings (an org's: its teams' too), in one transaction; audited as one event.
    Returns how many credentials and saved settings were deleted."""
    owned = or_(Credential.team_id == workspace_id, Credential.enterprise_id == workspace_id)
    scope = (
        Workspace(enterprise_id=workspace_id, team_id="")
        if workspace_id.startswith("E")
        else Workspace(enterprise_id="", team_id=workspace_id)
    )
    with sessions.begin() as session:  # the event in the same transaction: no purge goes unrecorded
        ids = list(session.scalars(select(Credential.id).where(owned)))
        if ids:
            session.execute(delete(Reminder).where(Reminder.credential_id.in_(ids)))
            session.execute(delete(Credential).where(Credential.id.in_(ids)))
        settings = forget_settings(session, workspace_id)
        detail = f"{len(ids)} credential(s), {settings} saved setting(s)"
        audit.append(session, scope, actor, "credentials_purged", "ok", detail=detail)
    return len(ids), settings
