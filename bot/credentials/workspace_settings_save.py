"""Saving a workspace's settings: checked, audited with the old and new value of each setting changed, and safe
with several instances. One row per (scope, setting), so saves of different settings never meet; each row's
version is compared and set, so of two saves of one setting neither is lost unseen: the second either sees the
first (and its audit event names the first's value as the old one) or, given ``expected``, is refused as stale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.audit import AuditLog
from bot.credentials.models import WorkspaceSetting, table_of
from bot.credentials.ports import Clock, utc_now
from bot.credentials.types import Workspace
from bot.credentials.workspace_settings import SettingsInvalid, check, own_scope, scope_workspace

CHANGED = "workspace_settings.changed"
ATTEMPTS = 20  # a save that loses a race reads again and retries; this many losses in a row is not a race
INHERIT: Any = object()  # a change that clears the saved value: the org's, or the default, applies again


class SettingsChanged(Exception):
    """``expected`` versions that are no longer current: someone saved these settings meanwhile."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"changed since they were read: {', '.join(names)}")
        self.names = names


class _Raced(Exception):
    """A row's version moved between the read and the write: read again."""


def save_settings(
    sessions: sessionmaker[Session],
    audit: AuditLog,
    workspace: Workspace,
    changes: Mapping[str, Any],
    actor: str,
    *,
    expected: Mapping[str, int] | None = None,
    clock: Clock = utc_now,
) -> dict[str, int]:
    """Save ``changes`` (setting name -> value, or INHERIT) at the workspace's own scope (its team; its org for
    an org-wide install); one audit event per setting that changed, in the same transaction. With ``expected``
    (name -> version, as read in WorkspaceSettings.versions), a setting saved meanwhile refuses the whole save
    (SettingsChanged). Returns the versions now. SettingsInvalid names every value that cannot be saved."""
    scope = own_scope(workspace)
    target = scope_workspace(scope, workspace.enterprise_id)
    checked = _checked(changes)
    for _ in range(ATTEMPTS):
        try:
            with sessions.begin() as session:
                return _apply(session, audit, target, checked, actor, expected, clock)
        except (_Raced, IntegrityError):  # another instance wrote one of these rows first: read it again
            continue
    raise SettingsChanged(sorted(checked))


def _checked(changes: Mapping[str, Any]) -> dict[str, str | None]:
    """Each change as the JSON text it is stored as (None: cleared); every problem at once."""
    problems: list[str] = []
    texts: dict[str, str | None] = {}
    for name, value in changes.items():
        try:
            texts[name] = None if value is INHERIT else _json(check(name, value))
        except SettingsInvalid as invalid:
            problems += invalid.problems
    if problems or not texts:
        raise SettingsInvalid(problems or ["nothing to save"])
    return texts


def _apply(
    session: Session,
    audit: AuditLog,
    target: Workspace,
    checked: Mapping[str, str | None],
    actor: str,
    expected: Mapping[str, int] | None,
    clock: Clock,
) -> dict[str, int]:
    scope = own_scope(target)
    rows = {
        name: (value, version)
        for name, value, version in session.execute(
            select(WorkspaceSetting.name, WorkspaceSetting.value, WorkspaceSetting.version).where(
                WorkspaceSetting.scope_id == scope, WorkspaceSetting.name.in_(list(checked))
            )
        )
    }
    if expected is not None:
        stale = sorted(name for name in checked if rows.get(name, (None, 0))[1] != expected.get(name, 0))
        if stale:
            raise SettingsChanged(stale)
    versions = {name: rows.get(name, (None, 0))[1] for name in checked}
    for name, text in checked.items():
        old, version = rows.get(name, (None, 0))
        if old == text:
            continue
        org = "" if scope == target.enterprise_id else target.enterprise_id  # a team's org, for an org's purge
        values = {"value": text, "updated_at": clock(), "updated_by": actor[:100], "enterprise_id": org}
        if version == 0:  # IntegrityError if another save inserted it first
            session.execute(insert(_TABLE).values(scope_id=scope, name=name, version=1, **values))
        elif _count(session, _update(scope, name, version).values(**values)) != 1:
            raise _Raced()
        versions[name] = version + 1
        detail = _json({"setting": name, "old": _loaded(old), "new": _loaded(text)})
        audit.append(session, target, actor, CHANGED, "ok", detail=detail)
    return versions


def forget_settings(session: Session, workspace_id: str) -> int:
    """Delete a team's saved settings (T…), or an org's and its teams' (E…), in the caller's transaction."""
    owned = WorkspaceSetting.scope_id == workspace_id
    if workspace_id.startswith("E"):
        owned = or_(owned, WorkspaceSetting.enterprise_id == workspace_id)
    return _count(session, delete(WorkspaceSetting).where(owned))


_TABLE = table_of(WorkspaceSetting)


def _update(scope: str, name: str, version: int) -> Any:
    """The row's next version, only over the version read (compare and set)."""
    where = (_TABLE.c.scope_id == scope) & (_TABLE.c.name == name) & (_TABLE.c.version == version)
    return update(_TABLE).where(where).values(version=version + 1)


def _count(session: Session, statement: Any) -> int:
    """Rows a DML statement touched (its result is a CursorResult; Session.execute is typed as Result)."""
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)


def _json(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, separators=(",", ":"), ensure_ascii=False)


def _loaded(text: str | None) -> Any:
    return None if text is None else json.loads(text)
