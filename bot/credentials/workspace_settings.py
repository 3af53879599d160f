"""Each workspace's settings in effect: who is told (notification channels, the board), who may manage and view,
and how long before a key expires its reminder goes. A team's own saved value wins over its Enterprise org's,
which wins over the deployment's default (the environment, handed in as ``SettingDefaults``: the core reads no
settings). Saving is in bot.credentials.workspace_settings_save.

The rest of the product asks :func:`settings_in_effect` (one indexed query) and reads the fields of the
``WorkspaceSettings`` it returns; each field's ``sources`` entry says where its value came from."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.expiry import REMIND_BEFORE
from bot.credentials.key_shapes import key_shaped
from bot.credentials.models import WorkspaceSetting
from bot.credentials.slack_ids import CHANNEL_ID_PATTERN, PRINCIPAL_PATTERN, WORKSPACE_ID_PATTERN
from bot.credentials.types import Workspace

log = logging.getLogger(__name__)

NAMES = ("notify_channels", "board_channel", "admins", "viewers", "reminder_days")
DEFAULT_REMINDER_DAYS = REMIND_BEFORE.days  # what the reminders have always used
REMINDER_DAYS = (1, 60)
# A saved list's bounds: each change is audited with its old and new value in one event (detail ≤ 1000
# characters); more people than this are a user group's job.
MOST_IDS, LONGEST_ID = 20, 20
SAVED, DEFAULT = "saved", "default"


@dataclass(frozen=True)
class SettingDefaults:
    """The deployment's defaults (CREDBOT_NOTIFY_CHANNELS, CREDBOT_BOARD_CHANNEL, CREDBOT_ADMINS, CREDBOT_VIEWERS
    and the reminder lead), for a workspace that saved nothing. Empty ``admins``: everyone may manage; ``viewers``
    None: everyone in the workspace may view."""

    notify_channels: tuple[str, ...] = ()
    board_channel: str | None = None
    admins: tuple[str, ...] = ()
    viewers: tuple[str, ...] | None = None
    reminder_days: int = DEFAULT_REMINDER_DAYS


@dataclass(frozen=True)
class Source:
    """Where a value in effect comes from: ``saved`` on a team (T…) or an org (E…), or the ``default``."""

    kind: str
    saved_on: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"source": self.kind, "saved_on": self.saved_on}


@dataclass(frozen=True)
class WorkspaceSettings:
    """The settings in effect for one workspace. ``versions``: each saved row's version at the workspace's own
    scope (its team, or its org for an org-wide install; 0 for none), for a save that must not overwrite a
    change made since it was read (``expected`` in save_settings)."""

    workspace: Workspace
    notify_channels: tuple[str, ...]
    board_channel: str | None
    admins: tuple[str, ...]
    viewers: tuple[str, ...] | None
    reminder_days: int
    sources: Mapping[str, Source] = field(default_factory=dict)
    versions: Mapping[str, int] = field(default_factory=dict)

    @property
    def reminder_lead(self) -> timedelta:
        return timedelta(days=self.reminder_days)

    def value(self, name: str) -> Any:
        return getattr(self, name)

    def as_dict(self) -> dict[str, Any]:
        """The settings as `credbot workspaces show --json` prints them (lists for tuples)."""
        return {
            name: {"value": _plain(self.value(name)), **self.sources.get(name, Source(DEFAULT)).as_dict()}
            for name in NAMES
        }


class SettingsInvalid(ValueError):
    """Values that cannot be saved; ``problems``: one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def own_scope(workspace: Workspace) -> str:
    """Where a workspace's own settings are saved: its team, or its org for an org-wide install."""
    return workspace.team_id or workspace.enterprise_id


def settings_in_effect(
    sessions: sessionmaker[Session], workspace: Workspace, defaults: SettingDefaults
) -> WorkspaceSettings:
    """The settings in effect for ``workspace`` (its team's saved values, else its org's, else the defaults), read
    in one query on the primary key."""
    scopes = [scope for scope in (workspace.team_id, workspace.enterprise_id) if scope]
    if not scopes:
        return compose(workspace, {}, defaults)
    with sessions() as session:
        rows = session.execute(
            select(
                WorkspaceSetting.scope_id, WorkspaceSetting.name, WorkspaceSetting.value, WorkspaceSetting.version
            ).where(WorkspaceSetting.scope_id.in_(scopes))
        ).all()
    return compose(workspace, saved_rows(rows), defaults)


def saved_rows(rows: Iterable[Any]) -> dict[str, dict[str, tuple[str | None, int]]]:
    """Rows of (scope_id, name, value, version) as {scope: {name: (value, version)}}."""
    saved: dict[str, dict[str, tuple[str | None, int]]] = {}
    for scope_id, name, value, version in rows:
        saved.setdefault(scope_id, {})[name] = (value, version)
    return saved


def all_saved(sessions: sessionmaker[Session]) -> tuple[dict[str, dict[str, tuple[str | None, int]]], dict[str, str]]:
    """Every saved row by scope (for a listing of all workspaces, one query), and each team's recorded org."""
    with sessions() as session:
        rows = session.execute(
            select(
                WorkspaceSetting.scope_id,
                WorkspaceSetting.name,
                WorkspaceSetting.value,
                WorkspaceSetting.version,
                WorkspaceSetting.enterprise_id,
            )
        ).all()
    orgs = {row[0]: row[4] for row in rows if row[4]}
    return saved_rows(row[:4] for row in rows), orgs


def compose(
    workspace: Workspace, saved: Mapping[str, Mapping[str, tuple[str | None, int]]], defaults: SettingDefaults
) -> WorkspaceSettings:
    """The values in effect from the saved rows of the workspace's team and org, and the defaults."""
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for name in NAMES:
        values[name], sources[name] = getattr(defaults, name), Source(DEFAULT)
        for scope in (workspace.team_id, workspace.enterprise_id):
            text = saved.get(scope, {}).get(name, (None, 0))[0] if scope else None
            if text is None:
                continue
            try:
                values[name] = check(name, json.loads(text))
            except (ValueError, SettingsInvalid):  # written by hand, or by a newer Credbot: not used
                log.warning("the saved %s of %s is not usable; the next in line applies", name, scope)
                continue
            sources[name] = Source(SAVED, scope)
            break
    own = saved.get(own_scope(workspace), {})
    versions = {name: own[name][1] for name in NAMES if name in own}
    return WorkspaceSettings(workspace, **values, sources=sources, versions=versions)


def check(name: str, value: Any) -> Any:
    """A value for ``name`` as it is kept (tuples, ids de-duplicated in order), or SettingsInvalid."""
    if name == "reminder_days":
        low, high = REMINDER_DAYS
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingsInvalid([f"reminder_days: {value!r} is not a whole number of days from {low} to {high}"])
        return value
    if name == "board_channel":
        return None if value is None else _ids(name, [value], CHANNEL_ID_PATTERN, "a channel id (C…, G…)")[0]
    if name == "notify_channels":
        return _ids(name, value, CHANNEL_ID_PATTERN, "a channel id (C…, G…)")
    if name == "admins":
        return _ids(name, value, PRINCIPAL_PATTERN, "a user id (U…, W…) or user group id (S…)")
    if name == "viewers":  # None or nobody listed: everyone in the workspace (as CREDBOT_VIEWERS unset)
        return None if value is None else (_ids(name, value, PRINCIPAL_PATTERN, "a user or user group id") or None)
    raise SettingsInvalid([f"{name!r} is not a workspace setting (one of {', '.join(NAMES)})"])


def _ids(name: str, value: Any, pattern: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise SettingsInvalid([f"{name}: a list of ids, not {type(value).__name__}"])
    wrong = [
        f"{name}: {_shown(item, position)} is not {what}"
        for position, item in enumerate(value, start=1)
        if not isinstance(item, str) or len(item) > LONGEST_ID or not pattern.match(item)
    ]
    if wrong:
        raise SettingsInvalid(wrong)
    ids = tuple(dict.fromkeys(value))
    if len(ids) > MOST_IDS:
        raise SettingsInvalid([f"{name}: {len(ids)} ids, at most {MOST_IDS} (a user group holds more people)"])
    return ids


def _shown(item: Any, position: int) -> str:
    """A refused item as a problem may repeat it: only short text that holds no key (a key pasted into an id field
    is named by its place, never echoed into the modal or the exception)."""
    if isinstance(item, str) and len(item) <= LONGEST_ID and not key_shaped(item):
        return repr(item)
    return f"item {position}"


def scope_workspace(scope_id: str, enterprise_id: str = "") -> Workspace:
    """The Workspace a scope id names: an org (E…) or a team (T…, with its org when known)."""
    if not WORKSPACE_ID_PATTERN.match(scope_id):
        raise SettingsInvalid([f"{scope_id!r} is not a team id (T…) or an enterprise id (E…)"])
    if scope_id.startswith("E"):
        return Workspace(enterprise_id=scope_id)
    return Workspace(enterprise_id=enterprise_id, team_id=scope_id)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
