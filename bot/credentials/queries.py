"""Reading credentials: pages for Slack, single rows, listings for operators. Never the key, never a write."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from datetime import datetime, UTC
from functools import cache
from typing import Any, TypedDict, overload

from sqlalchemy import ColumnElement, Row, Select, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials import catalog
from bot.credentials.errors import CredentialGone
from bot.credentials.models import Credential, HomeViewer, table_of
from bot.credentials.types import (
    COUNT_CAP,
    PAGE_SIZE,
    CredentialPage,
    CredentialSummary,
    Cursor,
    HomePage,
    Outcome,
    Verification,
    Workspace,
)
from bot.credentials.names import name_key

SHOWN_COLUMNS = (
    Credential.id,
    Credential.name,
    Credential.entity_type,
    Credential.destination,
    Credential.created_by,
    Credential.created_at,
    Credential.key_hint,
    Credential.last_verified_at,
    Credential.last_verification,
    Credential.key_expires_at,
    Credential.key_status,
    Credential.enterprise_id,
    Credential.team_id,
    Credential.key_exposed_at,
    Credential.key_permissions,
    Credential.key_last_used_at,
    Credential.key_rotatable,
    Credential.key_looked_at,
)
NEWEST_FIRST = (Credential.created_at.desc(), Credential.id.desc())
_SHOWN_COUNT = len(SHOWN_COLUMNS)

# The reads on a Slack answer's path are built once, as Core statements over the table with every value a bound
# parameter: SQLAlchemy then makes their cache key and compiled form once, and no ORM layer runs per execution.
# Built per call through the ORM, the first page of /list-credentials spent about 380 us before the database saw
# it, against about 90 us this way (SQLite, 2-core machine).
_TABLE = table_of(Credential)
_SHOWN = tuple(_TABLE.c[column.key] for column in SHOWN_COLUMNS)
_NEWEST = (_TABLE.c.created_at.desc(), _TABLE.c.id.desc())
_OLDEST = (_TABLE.c.created_at.asc(), _TABLE.c.id.asc())
_IN_WORKSPACE = (_TABLE.c.enterprise_id == bindparam("enterprise_id"), _TABLE.c.team_id == bindparam("team_id"))
_ROW_KEY = tuple_(_TABLE.c.created_at, _TABLE.c.id)
_CURSOR = tuple_(bindparam("cursor_at", type_=_TABLE.c.created_at.type), bindparam("cursor_id"))
_NAME_HOLDER = select(_TABLE.c.name).where(*_IN_WORKSPACE, _TABLE.c.name_key == bindparam("name_key")).limit(1)
_ONE_IN_WORKSPACE = select(*_SHOWN).where(*_IN_WORKSPACE, _TABLE.c.id == bindparam("id"))
_ONE = select(*_SHOWN).where(_TABLE.c.id == bindparam("id"))
_IN_GROUP = (*_IN_WORKSPACE, _TABLE.c.destination == bindparam("destination"))
_COUNT_IN_WORKSPACE = select(func.count()).select_from(
    select(_TABLE.c.id).where(*_IN_WORKSPACE).limit(bindparam("cap")).subquery()
)
_COUNT_IN_GROUP = select(func.count()).select_from(
    select(_TABLE.c.id).where(*_IN_GROUP).limit(bindparam("cap")).subquery()
)
_GROUP_PAGE = select(*_SHOWN).where(*_IN_GROUP).order_by(*_NEWEST).offset(bindparam("skip")).limit(bindparam("limit"))
_VIEWER = table_of(HomeViewer)
_HAS_OPENED_HOME = select(_VIEWER.c.user_id).where(
    _VIEWER.c.enterprise_id == bindparam("enterprise_id"),
    _VIEWER.c.team_id == bindparam("team_id"),
    _VIEWER.c.user_id == bindparam("user_id"),
)
_OUTCOME_BY_VALUE = {outcome.value: outcome for outcome in Outcome}
UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
@overload
def utc(moment: datetime | None) -> datetime | None: ...
def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stored_verification(at: datetime | None, column: str | None) -> Verification:
    """The ``last_verification`` column (``ok``, ``rejected:<reason>``, ``unavailable:<reason>``) as a value.

    This is the one place that reads the stored form; ``verification_column`` is the one that writes it."""
    if not column:
        return Verification(utc(at))
    kind, _, reason = column.partition(":")
    return Verification(utc(at), _OUTCOME_BY_VALUE.get(kind, Outcome.UNAVAILABLE), reason)


def verification_column(verification: Verification) -> str | None:
    if verification.outcome is None:
        return None
    return verification.label[:60]


def summary_of(row: Row[*tuple[Any, ...]] | Credential | Mapping[str, Any]) -> CredentialSummary:
    """A row of SHOWN_COLUMNS (or a Credential, or the dict of its values) as the value shown to people."""
    if isinstance(row, Mapping):  # the values of a row just inserted
        values: builtins.list[Any] = [row.get(column.key) for column in SHOWN_COLUMNS]  # columns absent: None
        return _summary(*values)
    if isinstance(row, Credential):
        return _summary(*(getattr(row, column.key) for column in SHOWN_COLUMNS))
    return _summary(*row[:_SHOWN_COUNT])  # a Row unpacks far faster than it answers attribute lookups


def _summary(
    id_: str,
    name: str,
    entity_type: str,
    destination: str,
    created_by: str,
    created_at: datetime,
    key_hint: str,
    last_verified_at: datetime | None,
    last_verification: str | None,
    key_expires_at: datetime | None,
    key_status: str | None,
    enterprise_id: str,
    team_id: str,
    key_exposed_at: datetime | None = None,
    key_permissions: str | None = None,
    key_last_used_at: datetime | None = None,
    key_rotatable: bool | None = None,
    key_looked_at: datetime | None = None,
) -> CredentialSummary:
    entity = catalog.entity_type(entity_type) or catalog.EntityType(entity_type, entity_type, "")
    found = catalog.destination(destination)
    label, sandbox = (found.label, found.sandbox) if found else (destination, False)
    return CredentialSummary(
        id_,
        name,
        entity,
        destination,
        label,
        sandbox,
        created_by,
        utc(created_at),
        key_hint,
        stored_verification(last_verified_at, last_verification),
        utc(key_expires_at),
        key_status,
        enterprise_id,
        team_id,
        utc(key_exposed_at),
        tuple(key_permissions.split()) if key_permissions is not None else None,
        utc(key_last_used_at),
        key_rotatable,
        utc(key_looked_at),
    )


def credential_id(value: object) -> str:
    """A credential id from outside (a button, a modal, a command line): a lowercase UUID, else CredentialGone."""
    if isinstance(value, str) and UUID_TEXT.match(value):
        return value
    raise CredentialGone()


def in_workspace(workspace: Workspace) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return Credential.enterprise_id == workspace.enterprise_id, Credential.team_id == workspace.team_id


def _workspace_values(workspace: Workspace) -> dict[str, str]:
    return {"enterprise_id": workspace.enterprise_id, "team_id": workspace.team_id}


class Paging(TypedDict, total=False):
    """Which page of a list: the keyword arguments of CredentialQueries.list after the filter."""

    after: Cursor | None
    before: Cursor | None
    offset: int
    limit: int


class CredentialQueries:
    """Reads, each on a connection (or a session) of its own, held for one statement or a few."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        # The Core reads below run on a plain connection of the sessions' engine: a Session around one statement
        # cost about 60 us more per read (PostgreSQL, 2-core machine) and adds nothing to a Core statement.
        self.engine = sessions.kw["bind"]

    def name_holder(self, workspace: Workspace, name: str) -> str | None:
        """The name of the workspace's credential that ``name`` collides with (the same, or looking the same)."""
        values = {**_workspace_values(workspace), "name_key": name_key(name)}
        with self.engine.connect() as connection:
            holder: str | None = connection.execute(_NAME_HOLDER, values).scalar()
            return holder

    def get(self, workspace: Workspace, raw_id: object) -> CredentialSummary:
        """One credential of the workspace; CredentialGone otherwise (also for an id that is not an id)."""
        values = {**_workspace_values(workspace), "id": credential_id(raw_id)}
        with self.engine.connect() as connection:
            row = connection.execute(_ONE_IN_WORKSPACE, values).first()
        if row is None:
            raise CredentialGone()
        return summary_of(row)

    def find(self, raw_id: object) -> CredentialSummary:
        """One credential of any workspace (operators and integrations)."""
        with self.engine.connect() as connection:
            row = connection.execute(_ONE, {"id": credential_id(raw_id)}).first()
        if row is None:
            raise CredentialGone()
        return summary_of(row)

    def row(self, raw_id: object, workspace: Workspace | None = None) -> Credential:
        """The whole row (with its ciphertext), for the core's writes and its one decrypt path."""
        scope = in_workspace(workspace) if workspace is not None else ()
        with self.sessions() as session:
            row = session.scalar(select(Credential).where(*scope, Credential.id == credential_id(raw_id)))
        if row is None:
            raise CredentialGone()
        return row

    def list(
        self,
        workspace: Workspace,
        *,
        text: str = "",
        after: Cursor | None = None,
        before: Cursor | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> CredentialPage:
        """A page of the workspace's credentials, newest first; ``text`` filters by name or destination.

        Keyset paging on the (workspace, created_at, id) index: ``after`` gives the page following that row,
        ``before`` the page preceding it, neither the first page, so the cost is the same however deep the page.
        ``offset`` is only carried for the "21–40" label. The total is counted up to COUNT_CAP rows, and not
        at all for a filter (which cannot use the index): a filtered page stops reading at limit + 1 matches.
        """
        text = text.strip()
        needle, destinations = _matching(text)
        values = {**_workspace_values(workspace), "limit": limit + 1, "needle": needle, "destinations": destinations}
        # Unfiltered, the capped count rides along with the page as an uncorrelated scalar subquery: one statement,
        # one round trip (the database evaluates it once); an empty first page counts 0.
        counted = not text
        cursor = before if before is not None else after
        if cursor is not None:
            values |= {"cursor_at": cursor.created_at, "cursor_id": cursor.id}
        direction = "before" if before is not None else "after" if after is not None else "first"
        statement = _page_statement(direction, bool(text), bool(destinations), counted)
        with self.engine.connect() as connection:
            rows = connection.execute(statement, values).all()
        if before is not None:
            rows.reverse()
            has_previous, has_next = len(rows) > limit, True
            rows = rows[-limit:]
            offset = max(offset, limit) if has_previous else 0
        else:
            has_next, has_previous = len(rows) > limit, after is not None
            rows = rows[:limit]
            offset = max(offset, limit) if has_previous else 0
        if not rows and (after is not None or before is not None):  # the rows around a stale button are gone
            return self.list(workspace, text=text, limit=limit)
        items = [summary_of(r) for r in rows]
        if not counted:
            return CredentialPage(items, None, offset, limit, has_next=has_next, has_previous=has_previous)
        total = rows[0].total if rows else 0
        return CredentialPage(
            items,
            min(total, COUNT_CAP),
            offset,
            limit,
            has_next=has_next,
            has_previous=has_previous,
            total_capped=total > COUNT_CAP,
        )

    def home_page(self, workspace: Workspace, page: int = 0, per_page: int = 40) -> HomePage:
        """App Home: by destination (catalog order), newest first within each; a page reads about as many rows
        as it shows, however large the workspace (one destination after another on its index)."""
        values = _workspace_values(workspace)
        with self.engine.connect() as connection:
            total = connection.execute(_COUNT_IN_WORKSPACE, {**values, "cap": COUNT_CAP + 1}).scalar() or 0
            if total <= COUNT_CAP:
                page = max(0, min(page, max(total - 1, 0) // per_page))
            skip, wanted, rows = page * per_page, per_page + 1, []
            for destination in catalog.DESTINATIONS:
                in_group = {**values, "destination": destination.value}
                if skip:
                    before_page = connection.execute(_COUNT_IN_GROUP, {**in_group, "cap": skip}).scalar() or 0
                    if before_page < skip:  # the whole group is on earlier pages
                        skip -= before_page
                        continue
                found = connection.execute(_GROUP_PAGE, {**in_group, "skip": skip, "limit": wanted}).all()
                skip, wanted = 0, wanted - len(found)
                rows += found
                if wanted <= 0:
                    break
        return HomePage(
            [summary_of(r) for r in rows[:per_page]],
            page,
            per_page,
            min(total, COUNT_CAP),
            has_next=len(rows) > per_page,
            total_capped=total > COUNT_CAP,
        )

    def has_opened_home(self, workspace: Workspace, user_id: str) -> bool:
        values = {**_workspace_values(workspace), "user_id": user_id}
        with self.engine.connect() as connection:
            return connection.execute(_HAS_OPENED_HOME, values).first() is not None

    def board_listing(self, limit: int, team_id: str | None = None) -> tuple[builtins.list[CredentialSummary], int]:
        """The first ``limit`` credentials (by destination, newest first) of every workspace, or of the workspace
        ``team_id`` names, and how many in all."""
        scope = [Credential.team_id == team_id] if team_id else []
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Credential).where(*scope)) or 0
            rows = session.execute(
                select(*SHOWN_COLUMNS).where(*scope).order_by(Credential.destination, *NEWEST_FIRST).limit(limit)
            ).all()
        return [summary_of(r) for r in rows], total

    def all_credentials(self, destination: str | None = None) -> builtins.list[CredentialSummary]:
        """Every credential of every workspace, optionally of one destination."""
        query = select(*SHOWN_COLUMNS).order_by(Credential.destination, *NEWEST_FIRST)
        if destination:
            query = query.where(Credential.destination == destination)
        with self.sessions() as session:
            return [summary_of(r) for r in session.execute(query).all()]

    def key_usage(self) -> dict[str, int]:
        """How many credentials each encryption key id protects."""
        with self.sessions() as session:
            rows = session.execute(
                select(Credential.encryption_key_id, func.count()).group_by(Credential.encryption_key_id)
            ).all()
        return {key_id: count for key_id, count in rows}


def key_usage(sessions: sessionmaker[Session]) -> dict[str, int]:
    """How many credentials each encryption key id protects."""
    return CredentialQueries(sessions).key_usage()


def _matching(text: str) -> tuple[str, list[str]]:
    """A list's filter as values: the LIKE pattern over the folded name, and the destinations whose label matches."""
    if not text:
        return "", []
    needle = "%" + name_key(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return needle, list(catalog.destinations_matching(text))


@cache
def _page_statement(direction: str, filtered: bool, by_destination: bool, counted: bool) -> Select[*tuple[Any, ...]]:
    """The page query of one shape (first page, after or before a row; filtered by name, and by destination;
    with the capped count), made once; the workspace, filter, cursor and limit are bound parameters."""
    conditions = list(_IN_WORKSPACE)
    if filtered:
        matches = [_TABLE.c.name_key.like(bindparam("needle"), escape="\\")]
        if by_destination:
            matches.append(_TABLE.c.destination.in_(bindparam("destinations", expanding=True)))
        conditions.append(or_(*matches))
    columns: builtins.list[ColumnElement[Any]] = list(_SHOWN)
    if counted:  # uncorrelated: evaluated once, however many rows the page has
        columns.append(
            select(func.count())
            .select_from(select(_TABLE.c.id).where(*conditions).limit(COUNT_CAP + 1).subquery())
            .correlate(None)
            .scalar_subquery()
            .label("total")
        )
    query = select(*columns).where(*conditions)
    if direction == "after":
        return query.where(_ROW_KEY < _CURSOR).order_by(*_NEWEST).limit(bindparam("limit"))
    if direction == "before":
        return query.where(_ROW_KEY > _CURSOR).order_by(*_OLDEST).limit(bindparam("limit"))
    return query.order_by(*_NEWEST).limit(bindparam("limit"))
