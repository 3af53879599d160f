"""Reading credentials: pages for Slack, single rows, listings for operators. Never the key, never a write."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials import catalog
from bot.credentials.errors import CredentialGone
from bot.credentials.models import Credential, HomeViewer
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

SHOWN_COLUMNS = (Credential.id, Credential.name, Credential.entity_type, Credential.destination, Credential.created_by,
                 Credential.created_at, Credential.key_hint, Credential.last_verified_at, Credential.last_verification,
                 Credential.key_expires_at, Credential.key_status, Credential.enterprise_id, Credential.team_id)
NEWEST_FIRST = (Credential.created_at.desc(), Credential.id.desc())
UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stored_verification(at: datetime | None, column: str | None) -> Verification:
    """The ``last_verification`` column (``ok``, ``rejected:<reason>``, ``unavailable:<reason>``) as a value.

    This is the one place that reads the stored form; ``verification_column`` is the one that writes it."""
    if not column:
        return Verification(utc(at))
    kind, _, reason = column.partition(":")
    outcome = next((o for o in Outcome if o.value == kind), Outcome.UNAVAILABLE)
    return Verification(utc(at), outcome, reason)


def verification_column(verification: Verification) -> str | None:
    if verification.outcome is None:
        return None
    return verification.label[:60]


def summary_of(row) -> CredentialSummary:
    """A row of SHOWN_COLUMNS (or a Credential) as the value shown to people."""
    entity = catalog.entity_type(row.entity_type) or catalog.EntityType(row.entity_type, row.entity_type, "")
    return CredentialSummary(row.id, row.name, entity, row.destination, catalog.destination_label(row.destination),
                             catalog.is_sandbox(row.destination), row.created_by, utc(row.created_at), row.key_hint,
                             stored_verification(row.last_verified_at, row.last_verification),
                             utc(row.key_expires_at), row.key_status, row.enterprise_id, row.team_id)


def credential_id(value: object) -> str:
    """A credential id from outside (a button, a modal, a command line): a lowercase UUID, else CredentialGone."""
    if isinstance(value, str) and UUID_TEXT.match(value):
        return value
    raise CredentialGone()


def in_workspace(workspace: Workspace) -> tuple:
    return Credential.enterprise_id == workspace.enterprise_id, Credential.team_id == workspace.team_id


class CredentialQueries:
    """Reads, each in a short read-only session."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def name_holder(self, workspace: Workspace, name: str) -> str | None:
        """The name of the workspace's credential that ``name`` collides with (the same, or looking the same)."""
        with self.sessions() as session:
            return session.scalar(select(Credential.name).where(
                *in_workspace(workspace), Credential.name_key == name_key(name)).limit(1))

    def get(self, workspace: Workspace, raw_id: object) -> CredentialSummary:
        """One credential of the workspace; CredentialGone otherwise (also for an id that is not an id)."""
        with self.sessions() as session:
            row = session.execute(select(*SHOWN_COLUMNS).where(
                *in_workspace(workspace), Credential.id == credential_id(raw_id))).first()
        if row is None:
            raise CredentialGone()
        return summary_of(row)

    def find(self, raw_id: object) -> CredentialSummary:
        """One credential of any workspace (operators and integrations)."""
        with self.sessions() as session:
            row = session.execute(select(*SHOWN_COLUMNS).where(Credential.id == credential_id(raw_id))).first()
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

    def list(self, workspace: Workspace, *, text: str = "", after: Cursor | None = None,
             before: Cursor | None = None, offset: int = 0, limit: int = PAGE_SIZE) -> CredentialPage:
        """A page of the workspace's credentials, newest first; ``text`` filters by name or destination.

        Keyset paging on the (workspace, created_at, id) index: ``after`` gives the page following that row,
        ``before`` the page preceding it, neither the first page, so the cost is the same however deep the page.
        ``offset`` is only carried for the "21–40" label. The total is counted up to COUNT_CAP rows, and not
        at all for a filter (which cannot use the index): a filtered page stops reading at limit + 1 matches.
        """
        conditions = [*in_workspace(workspace), *_matching(text.strip())]
        # The capped count rides along with the page as an uncorrelated scalar subquery: one statement, one
        # round trip (the database evaluates it once); an empty first page counts 0.
        total = [] if text.strip() else [_bounded_count_column(conditions, COUNT_CAP + 1)]
        with self.sessions() as session:
            if before is not None:
                rows, has_previous, has_next = _page_before(session, conditions, before, limit, total)
                offset = max(offset, limit) if has_previous else 0
            else:
                rows, has_next = _page_after(session, conditions, after, limit, total)
                has_previous = after is not None
                offset = max(offset, limit) if has_previous else 0
        if not rows and (after is not None or before is not None):  # the rows around a stale button are gone
            return self.list(workspace, text=text, limit=limit)
        counted = None if not total else (rows[0].total if rows else 0)
        items = [summary_of(r) for r in rows]
        if counted is None:
            return CredentialPage(items, None, offset, limit, has_next=has_next, has_previous=has_previous)
        return CredentialPage(items, min(counted, COUNT_CAP), offset, limit, has_next=has_next,
                              has_previous=has_previous, total_capped=counted > COUNT_CAP)

    def home_page(self, workspace: Workspace, page: int = 0, per_page: int = 40) -> HomePage:
        """App Home: by destination (catalog order), newest first within each; a page reads about as many rows
        as it shows, however large the workspace (one destination after another on its index)."""
        scope = in_workspace(workspace)
        with self.sessions() as session:
            total = _bounded_count(session, scope, COUNT_CAP + 1)
            if total <= COUNT_CAP:
                page = max(0, min(page, max(total - 1, 0) // per_page))
            skip, wanted, rows = page * per_page, per_page + 1, []
            for destination in catalog.DESTINATIONS:
                in_group = (*scope, Credential.destination == destination.value)
                if skip:
                    before_page = _bounded_count(session, in_group, skip)
                    if before_page < skip:  # the whole group is on earlier pages
                        skip -= before_page
                        continue
                found = session.execute(select(*SHOWN_COLUMNS).where(*in_group).order_by(*NEWEST_FIRST)
                                        .offset(skip).limit(wanted)).all()
                skip, wanted = 0, wanted - len(found)
                rows += found
                if wanted <= 0:
                    break
        return HomePage([summary_of(r) for r in rows[:per_page]], page, per_page, min(total, COUNT_CAP),
                        has_next=len(rows) > per_page, total_capped=total > COUNT_CAP)

    def has_opened_home(self, workspace: Workspace, user_id: str) -> bool:
        with self.sessions() as session:
            return session.get(HomeViewer, (workspace.enterprise_id, workspace.team_id, user_id)) is not None

    def board_listing(self, limit: int, team_id: str | None = None) -> tuple[list[CredentialSummary], int]:
        """The first ``limit`` credentials (by destination, newest first) of every workspace, or of the workspace
        ``team_id`` names, and how many in all."""
        scope = [Credential.team_id == team_id] if team_id else []
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Credential).where(*scope)) or 0
            rows = session.execute(select(*SHOWN_COLUMNS).where(*scope).order_by(Credential.destination, *NEWEST_FIRST)
                                   .limit(limit)).all()
        return [summary_of(r) for r in rows], total

    def all_credentials(self, destination: str | None = None) -> list[CredentialSummary]:
        """Every credential of every workspace, optionally of one destination."""
        query = select(*SHOWN_COLUMNS).order_by(Credential.destination, *NEWEST_FIRST)
        if destination:
            query = query.where(Credential.destination == destination)
        with self.sessions() as session:
            return [summary_of(r) for r in session.execute(query).all()]

    def key_usage(self) -> dict[str, int]:
        """How many credentials each encryption key id protects."""
        with self.sessions() as session:
            rows = session.execute(select(Credential.encryption_key_id, func.count())
                                   .group_by(Credential.encryption_key_id)).all()
        return {key_id: count for key_id, count in rows}


def key_usage(sessions: sessionmaker[Session]) -> dict[str, int]:
    """How many credentials each encryption key id protects."""
    return CredentialQueries(sessions).key_usage()


def _matching(text: str) -> list:
    """The filter of a list: the folded name contains ``text``, or the destination's label does."""
    if not text:
        return []
    needle = "%" + name_key(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matches = [Credential.name_key.like(needle, escape="\\")]
    destinations = catalog.destinations_matching(text)
    if destinations:
        matches.append(Credential.destination.in_(destinations))
    return [or_(*matches)]


def _capped_count(conditions, cap: int):
    """SELECT count over at most ``cap`` matching rows (reading at most ``cap`` index entries)."""
    return select(func.count()).select_from(select(Credential.id).where(*conditions).limit(cap).subquery())


def _bounded_count(session: Session, conditions, cap: int) -> int:
    """How many rows match, up to ``cap``."""
    return session.scalar(_capped_count(conditions, cap)) or 0


def _bounded_count_column(conditions, cap: int):
    """_bounded_count as a column (``total``) to add to another query of the same table, evaluated once."""
    return _capped_count(conditions, cap).correlate(None).scalar_subquery().label("total")


def _page_after(session: Session, conditions: list, after: Cursor | None, limit: int,
                extra: list = ()) -> tuple[list, bool]:
    query = select(*SHOWN_COLUMNS, *extra).where(*conditions)
    if after is not None:
        query = query.where(tuple_(Credential.created_at, Credential.id) < tuple_(after.created_at, after.id))
    rows = session.execute(query.order_by(*NEWEST_FIRST).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def _page_before(session: Session, conditions: list, before: Cursor, limit: int,
                 extra: list = ()) -> tuple[list, bool, bool]:
    rows = list(reversed(session.execute(
        select(*SHOWN_COLUMNS, *extra).where(*conditions)
        .where(tuple_(Credential.created_at, Credential.id) > tuple_(before.created_at, before.id))
        .order_by(Credential.created_at.asc(), Credential.id.asc()).limit(limit + 1)).all()))
    return rows[-limit:], len(rows) > limit, True
