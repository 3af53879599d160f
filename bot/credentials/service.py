"""Create, list and read credentials: one transaction per operation, each audited."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.infra.settings import Settings
from bot.credentials import catalog
from bot.infra import metrics
from bot.credentials.errors import (
    CredentialGone,
    InvalidInput,
    KeyRejected,
    NameTaken,
    ProviderUnavailable,
    StorageFailed,
)
from bot.credentials.models import AuditEvent, Credential, HomeViewer
from bot.credentials.validation import (
    check_api_key,
    normalise_name,
    validate_destination,
    validate_entity_type,
    validate_name,
)
from bot.credentials.vault import KeyRing, Sealed, associated_data
from bot.credentials.wizard_state import stage_named
from bot.providers.paddle import KeyRecord, PaddleVerifier, read_key_record
from bot.infra.logs import REDACTOR
from bot.infra.secret import Secret

log = logging.getLogger(__name__)

PAGE_SIZE = 20
COUNT_CAP = 1000  # beyond this the list says "1,000+" instead of counting every row on every page


@dataclass(frozen=True)
class Workspace:
    """Where a request comes from. Org-wide installs may carry no team id."""

    enterprise_id: str = ""
    team_id: str = ""


@dataclass(frozen=True)
class CredentialSummary:
    """Everything about a credential that may be shown: never the key."""

    id: str
    name: str
    entity_type: catalog.EntityType
    destination: str
    destination_label: str
    sandbox: bool
    created_by: str
    created_at: datetime
    key_hint: str
    last_verified_at: datetime | None = None
    last_verification: str | None = None  # "ok", "rejected:<reason>", "unavailable:<reason>"
    key_expires_at: datetime | None = None
    key_status: str | None = None
    enterprise_id: str = ""
    team_id: str = ""

    @property
    def workspace(self) -> "Workspace":
        return Workspace(self.enterprise_id, self.team_id)


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a key with Paddle, as stored on the credential."""

    at: datetime | None
    result: str | None  # see CredentialSummary.last_verification
    record: KeyRecord | None = None

    @property
    def ok(self) -> bool:
        return self.result == "ok"


@dataclass(frozen=True)
class HomePage:
    """One page of App Home: credentials grouped by destination (Paddle first), newest first in each."""

    items: list[CredentialSummary]
    page: int
    per_page: int
    total: int  # exact up to COUNT_CAP
    has_next: bool = False
    total_capped: bool = False


@dataclass(frozen=True)
class Cursor:
    """A position in a workspace's newest-first list: the (created_at, id) of one row."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class CredentialPage:
    items: list[CredentialSummary]
    total: int | None  # exact up to COUNT_CAP (see total_capped); None for a filtered list, which is not counted
    offset: int  # position of the first item, for "21–40 of N"
    limit: int
    has_next: bool = False
    has_previous: bool = False
    total_capped: bool = False  # more than COUNT_CAP credentials match: ``total`` is COUNT_CAP

    @property
    def first_cursor(self) -> Cursor | None:
        return Cursor(self.items[0].created_at, self.items[0].id) if self.items else None

    @property
    def last_cursor(self) -> Cursor | None:
        return Cursor(self.items[-1].created_at, self.items[-1].id) if self.items else None


SHOWN_COLUMNS = (Credential.id, Credential.name, Credential.entity_type, Credential.destination, Credential.created_by,
          Credential.created_at, Credential.key_hint, Credential.last_verified_at, Credential.last_verification,
          Credential.key_expires_at, Credential.key_status, Credential.enterprise_id, Credential.team_id)


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def summary_of(row) -> CredentialSummary:
    entity = catalog.entity_type(row.entity_type) or catalog.EntityType(row.entity_type, row.entity_type, "")
    return CredentialSummary(row.id, row.name, entity, row.destination, catalog.destination_label(row.destination),
                             catalog.is_sandbox(row.destination), row.created_by, utc(row.created_at), row.key_hint,
                             utc(row.last_verified_at), row.last_verification, utc(row.key_expires_at), row.key_status,
                             row.enterprise_id, row.team_id)


UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _id(value: object) -> str:
    """A credential id from outside (a button, a modal, a command line): a lowercase UUID or nothing at all."""
    if isinstance(value, str) and UUID_TEXT.match(value):
        return value
    raise CredentialGone()


def verification_message(checked: Verification) -> str:
    if checked.ok:
        return "Paddle accepted the key."
    kind, _, reason = (checked.result or "").partition(":")
    if kind == "rejected":
        return f"Paddle refused the key ({reason}): it is wrong, revoked or expired. Replace the API key."
    return f"Paddle could not be reached ({reason}); the key was not checked. Try again in a few minutes."


def binding(credential_id: str, workspace: Workspace, destination: str, entity_type: str) -> bytes:
    """Associated data tying a ciphertext to its row."""
    return associated_data(
        credential_id=credential_id,
        enterprise_id=workspace.enterprise_id,
        team_id=workspace.team_id,
        destination=destination,
        entity_type=entity_type,
    )


class CredentialService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        key_ring: KeyRing,
        verifier: PaddleVerifier,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.key_ring = key_ring
        self.verifier = verifier
        self.clock = clock

    # -- checks used by the wizard before the final step ------------------------------

    def check_name_available(self, workspace: Workspace, raw_name: str | None) -> str:
        """Validate a name and check no credential in the workspace has it; returns the trimmed name."""
        name = validate_name(raw_name)
        if self._name_taken(workspace, name):
            raise NameTaken(name)
        return name

    def check_answer(self, workspace: Workspace, field: str, value: str | None) -> str:
        """Check one wizard stage's answer; returns the value to carry forward."""
        if field == "name":
            return self.check_name_available(workspace, value)
        if field == "entity_type":
            return validate_entity_type(value).value
        if field == "destination":
            return validate_destination(value).value
        raise InvalidInput(stage_named(field), "The key is checked with the final submission, not as a stage answer.")

    def check_carried_answers(self, state) -> None:
        """Stages 1-3 again, without the database: raises InvalidInput for the first bad one."""
        validate_name(state.name)
        validate_entity_type(state.entity_type)
        validate_destination(state.destination)

    def check_key(self, destination: str, value: str | None, *, destination_fixed: bool = False) -> Secret:
        """The offline key check of the final stage (shape and environment)."""
        return check_api_key(value, validate_destination(destination), live_verification=self.settings.verify_keys,
                             destination_fixed=destination_fixed)

    # -- create -----------------------------------------------------------------------

    def create(
        self,
        workspace: Workspace,
        actor: str,
        *,
        name: str,
        entity_type: str,
        destination: str,
        api_key: Secret,
    ) -> CredentialSummary:
        """Check, verify with the provider, encrypt and store a credential.

        Raises a :class:`~bot.credentials.errors.CredentialError` the user can
        act on; on any error nothing is stored.
        """
        name = validate_name(name)
        entity = validate_entity_type(entity_type)
        dest = validate_destination(destination)
        api_key = check_api_key(api_key.reveal(), dest, live_verification=self.settings.verify_keys)

        if self._name_taken(workspace, name):  # taken since stage 1: say so before bothering Paddle
            self.record(workspace, actor, "credential.create", "refused", detail="name taken")
            raise NameTaken(name)
        checked = self._verify(workspace, actor, dest, api_key, raise_on_failure=True) if self.settings.verify_keys \
            else Verification(None, None)

        credential_id = str(uuid.uuid4())
        sealed = self.key_ring.encrypt(api_key, binding(credential_id, workspace, dest.value, entity.value))
        row = Credential(
            id=credential_id,
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            name=name,
            name_key=normalise_name(name),
            entity_type=entity.value,
            destination=dest.value,
            encrypted_key=sealed.blob,
            encryption_key_id=sealed.key_id,
            key_hint=api_key.hint(),
            created_by=actor,
            created_at=self.clock(),
            last_verified_at=checked.at,
            last_verification=checked.result,
            key_expires_at=checked.record.expires_at if checked.record else None,
            key_status=checked.record.status if checked.record else None,
        )
        try:
            with self.sessions.begin() as session:
                session.add(row)
                session.flush()  # the unique index decides a name race here
                session.add(self._event(workspace, actor, "credential.create", "created", credential_id,
                                        f"{entity.value} -> {dest.value}"))
        except IntegrityError as error:
            if self._name_taken(workspace, name):  # lost the race on the unique index
                self.record(workspace, actor, "credential.create", "refused", detail="name taken")
                raise NameTaken(name) from None
            raise self._storage_failed(workspace, actor, error) from None
        except SQLAlchemyError as error:
            raise self._storage_failed(workspace, actor, error) from None
        metrics.CREDENTIALS_CREATED.labels(dest.value).inc()
        return summary_of(row)

    # -- read -------------------------------------------------------------------------

    def list(self, workspace: Workspace, *, text: str = "", after: Cursor | None = None,
             before: Cursor | None = None, offset: int = 0, limit: int = PAGE_SIZE) -> CredentialPage:
        """A page of the workspace's credentials, newest first; ``text`` filters by name or destination.

        Keyset paging on the (workspace, created_at, id) index: ``after`` gives
        the page following that row, ``before`` the page preceding it, neither
        the first page. Cost stays the same however deep the page and however
        many credentials the workspace has; ``offset`` is only carried for the
        "21–40" label. The total is counted up to COUNT_CAP rows.
        """
        conditions = list(self._scope(workspace))
        text = text.strip()
        if text:
            needle = "%" + normalise_name(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            matches = [Credential.name_key.like(needle, escape="\\")]
            destinations = catalog.destinations_matching(text)
            if destinations:
                matches.append(Credential.destination.in_(destinations))
            conditions.append(or_(*matches))
        position = tuple_(Credential.created_at, Credential.id)
        newest_first = (Credential.created_at.desc(), Credential.id.desc())
        shown = select(*SHOWN_COLUMNS).where(*conditions)  # only what is displayed: never the ciphertext
        with self.sessions() as session:
            # A filter cannot use the index (it matches inside names), so a filtered list is not counted: the
            # page stops reading at limit + 1 matches instead of scanning the whole workspace.
            counted = None if text else session.scalar(select(func.count()).select_from(
                select(Credential.id).where(*conditions).limit(COUNT_CAP + 1).subquery())) or 0
            if before is not None:
                rows = list(reversed(session.execute(
                    shown.where(position > tuple_(before.created_at, before.id))
                    .order_by(Credential.created_at.asc(), Credential.id.asc()).limit(limit + 1)).all()))
                has_previous = len(rows) > limit
                rows = rows[-limit:]
                has_next = True
                offset = max(offset, limit) if has_previous else 0
            else:
                query = shown
                if after is not None:
                    query = query.where(position < tuple_(after.created_at, after.id))
                rows = session.execute(query.order_by(*newest_first).limit(limit + 1)).all()
                has_next = len(rows) > limit
                rows = rows[:limit]
                has_previous = after is not None
                offset = max(offset, limit) if after is not None else 0
            if not rows and (after is not None or before is not None):  # the rows around a stale button are gone
                return self.list(workspace, text=text, limit=limit)
        if counted is None:
            return CredentialPage([summary_of(r) for r in rows], None, offset, limit,
                                  has_next=has_next, has_previous=has_previous)
        return CredentialPage([summary_of(r) for r in rows], min(counted, COUNT_CAP), offset, limit,
                              has_next=has_next, has_previous=has_previous, total_capped=counted > COUNT_CAP)

    # -- one credential: read, test, replace, rename, delete -------------------------

    def get(self, workspace: Workspace, credential_id: object) -> CredentialSummary:
        """One credential of the workspace; raises CredentialGone (also for an id that is not a credential id)."""
        with self.sessions() as session:
            row = session.execute(select(*SHOWN_COLUMNS).where(*self._scope(workspace), Credential.id == _id(credential_id))
                                  ).first()
        if row is None:
            raise CredentialGone()
        return summary_of(row)

    def test_connection(self, workspace: Workspace, actor: str, credential_id: object) -> tuple[CredentialSummary, str]:
        """Decrypt the key just in time, call Paddle, store the result and when; returns it with a message."""
        row = self._row(workspace, credential_id)
        dest = validate_destination(row.destination)
        api_key = self._decrypt(row)
        with REDACTOR.holding(api_key):
            checked = self._verify(workspace, actor, dest, api_key, raise_on_failure=False, credential_id=row.id)
        self._store_verification(workspace, row.id, checked)
        self.record(workspace, actor, "credential.test", checked.result or "unknown", row.id)
        return self.get(workspace, row.id), verification_message(checked)

    def replace_key(self, workspace: Workspace, actor: str, credential_id: object, raw_key: str | None) -> CredentialSummary:
        """A new key for the same credential (same id, so integrations keep working); old key never shown.

        The same offline and live checks as the wizard; encrypted under the primary key.
        """
        row = self._row(workspace, credential_id)
        dest = validate_destination(row.destination)
        api_key = check_api_key(raw_key, dest, live_verification=self.settings.verify_keys, destination_fixed=True)
        with REDACTOR.holding(api_key):
            checked = self._verify(workspace, actor, dest, api_key, raise_on_failure=True, credential_id=row.id) \
                if self.settings.verify_keys else Verification(None, None)
            sealed = self.key_ring.encrypt(api_key, binding(row.id, workspace, row.destination, row.entity_type))
        self._change(workspace, actor, row.id, ("credential.replace", "replaced", f"key ending {api_key.hint()}"),
                     update(Credential).values(
                         encrypted_key=sealed.blob, encryption_key_id=sealed.key_id, key_hint=api_key.hint(),
                         key_replaced_at=self.clock(), last_verified_at=checked.at, last_verification=checked.result,
                         key_expires_at=checked.record.expires_at if checked.record else None,
                         key_status=checked.record.status if checked.record else None))
        return self.get(workspace, row.id)

    def rename(self, workspace: Workspace, actor: str, credential_id: object, raw_name: str | None) -> CredentialSummary:
        """Stage 1's rules; the unique index decides a race with another rename or create."""
        row = self._row(workspace, credential_id)
        name = validate_name(raw_name)
        try:
            self._change(workspace, actor, row.id, ("credential.rename", "renamed", f"{row.name} -> {name}"),
                         update(Credential).values(name=name, name_key=normalise_name(name)))
        except IntegrityError:
            raise NameTaken(name) from None
        return self.get(workspace, row.id)

    def delete(self, workspace: Workspace, actor: str, credential_id: object) -> CredentialSummary:
        """Delete the row and its ciphertext (and its reminders); returns what was deleted."""
        gone = self.get(workspace, credential_id)
        self._change(workspace, actor, gone.id, ("credential.delete", "deleted", f"{gone.name} ({gone.destination})"),
                     delete(Credential))
        return gone

    def home_page(self, workspace: Workspace, page: int = 0, per_page: int = 40) -> HomePage:
        """App Home: by destination (Paddle, then Paddle (Sandbox Mode)), newest first within each."""
        scope = self._scope(workspace)

        def bounded_count(session, *conditions, cap: int) -> int:  # reads at most ``cap`` index entries
            return session.scalar(select(func.count()).select_from(
                select(Credential.id).where(*scope, *conditions).limit(cap).subquery())) or 0

        with self.sessions() as session:
            total = bounded_count(session, cap=COUNT_CAP + 1)
            page = max(0, min(page, max(min(total, COUNT_CAP) - 1, 0) // per_page)) if total <= COUNT_CAP else page
            skip, wanted, rows = page * per_page, per_page + 1, []
            # One destination after another, each newest first on the (workspace, destination, created_at)
            # index: a page reads about as many rows as it shows, however large the workspace.
            for destination in catalog.DESTINATIONS:
                in_group = Credential.destination == destination.value
                if skip:
                    before_page = bounded_count(session, in_group, cap=skip)
                    if before_page < skip:  # the whole group is on earlier pages
                        skip -= before_page
                        continue
                found = session.execute(select(*SHOWN_COLUMNS).where(*scope, in_group)
                                        .order_by(Credential.created_at.desc(), Credential.id.desc())
                                        .offset(skip).limit(wanted)).all()
                skip, wanted = 0, wanted - len(found)
                rows += found
                if wanted <= 0:
                    break
        return HomePage([summary_of(r) for r in rows[:per_page]], page, per_page, min(total, COUNT_CAP),
                        has_next=len(rows) > per_page, total_capped=total > COUNT_CAP)

    def note_home_viewer(self, workspace: Workspace, user_id: str) -> None:
        """Remember that this user has opened the Credentials tab (idempotent)."""
        try:
            with self.sessions.begin() as session:
                if session.get(HomeViewer, (workspace.enterprise_id, workspace.team_id, user_id)) is None:
                    session.add(HomeViewer(enterprise_id=workspace.enterprise_id, team_id=workspace.team_id,
                                           user_id=user_id[:32]))
        except IntegrityError:
            pass  # opened on two instances at once

    def has_opened_home(self, workspace: Workspace, user_id: str) -> bool:
        with self.sessions() as session:
            return session.get(HomeViewer, (workspace.enterprise_id, workspace.team_id, user_id)) is not None

    # -- for operators and integrations (any workspace, by id) -------------------------

    def find(self, credential_id: object) -> CredentialSummary:
        with self.sessions() as session:
            row = session.execute(select(*SHOWN_COLUMNS).where(Credential.id == _id(credential_id))).first()
        if row is None:
            raise CredentialGone()
        return summary_of(row)

    def board_listing(self, limit: int) -> tuple[list[CredentialSummary], int]:
        """The first ``limit`` credentials of every workspace (by destination, newest first) and how many in all."""
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Credential)) or 0
            rows = session.execute(select(*SHOWN_COLUMNS).order_by(Credential.destination, Credential.created_at.desc(),
                                                                   Credential.id.desc()).limit(limit)).all()
        return [summary_of(r) for r in rows], total

    def all_credentials(self, destination: str | None = None) -> list[CredentialSummary]:
        query = select(*SHOWN_COLUMNS).order_by(Credential.destination, Credential.created_at.desc(), Credential.id.desc())
        if destination:
            query = query.where(Credential.destination == destination)
        with self.sessions() as session:
            return [summary_of(r) for r in session.execute(query).all()]

    def reveal(self, credential_id: object, actor: str) -> Secret:
        """The decrypted key, for an integration or an operator; audited as revealed."""
        with self.sessions() as session:
            row = session.scalar(select(Credential).where(Credential.id == _id(credential_id)))
        if row is None:
            raise CredentialGone()
        secret = self._decrypt(row)
        self.record(Workspace(row.enterprise_id, row.team_id), actor, "credential.reveal", "revealed", row.id)
        return secret

    def reveal_api_key(self, workspace: Workspace, credential_id: str) -> Secret:
        """Decrypt one credential's key (for integrations); raises VaultError or LookupError."""
        with self.sessions() as session:
            row = session.scalar(select(Credential).where(*self._scope(workspace), Credential.id == credential_id))
        if row is None:
            raise LookupError(f"no credential {credential_id} in this workspace")
        return self.key_ring.decrypt(
            Sealed(row.encryption_key_id, row.encrypted_key),
            binding(row.id, workspace, row.destination, row.entity_type),
        )

    # -- internals --------------------------------------------------------------------

    def _change(self, workspace: Workspace, actor: str, credential_id: str, event: tuple[str, str, str],
                statement) -> None:
        """Apply an UPDATE or DELETE to one credential of the workspace, with its audit event, in one transaction.

        CredentialGone when the row vanished meanwhile; IntegrityError passes through (a name race)."""
        action, outcome, detail = event
        try:
            with self.sessions.begin() as session:
                changed = session.execute(statement.where(*self._scope(workspace), Credential.id == credential_id))
                if not changed.rowcount:
                    raise CredentialGone()
                session.add(self._event(workspace, actor, action, outcome, credential_id, detail))
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            raise self._storage_failed(workspace, actor, error) from None

    def _row(self, workspace: Workspace, credential_id: object) -> Credential:
        with self.sessions() as session:
            row = session.scalar(select(Credential).where(*self._scope(workspace), Credential.id == _id(credential_id)))
        if row is None:
            raise CredentialGone()
        return row

    def _decrypt(self, row: Credential) -> Secret:
        return self.key_ring.decrypt(Sealed(row.encryption_key_id, row.encrypted_key),
                                     binding(row.id, Workspace(row.enterprise_id, row.team_id), row.destination,
                                             row.entity_type))

    def _verify(self, workspace: Workspace, actor: str, dest: catalog.Destination, api_key: Secret, *,
                raise_on_failure: bool, credential_id: str | None = None) -> Verification:
        """Check the key with Paddle, then read its own record (expiry, status). Failures are counted and audited."""
        base_url = dest.base_url(self.settings)
        try:
            self.verifier.verify(base_url, api_key)
        except (KeyRejected, ProviderUnavailable) as failure:
            kind = "rejected" if isinstance(failure, KeyRejected) else "unavailable"
            metrics.VERIFICATION_FAILURES.labels(metrics.label(failure.reason)).inc()
            self.record(workspace, actor, "credential.verify", kind, credential_id, f"{dest.value}: {failure.reason}")
            if raise_on_failure:
                raise
            return Verification(self.clock(), f"{kind}:{failure.reason}"[:60])
        record_id = catalog.key_record_id(dest, api_key.reveal())
        record = read_key_record(base_url, api_key, record_id, self.verifier.timeout) if record_id else None
        return Verification(self.clock(), "ok", record)

    def _store_verification(self, workspace: Workspace, credential_id: str, checked: Verification) -> None:
        values = {"last_verified_at": checked.at, "last_verification": checked.result}
        if checked.record is not None:
            values |= {"key_expires_at": checked.record.expires_at, "key_status": checked.record.status}
        with self.sessions.begin() as session:
            session.execute(update(Credential).where(*self._scope(workspace), Credential.id == credential_id)
                            .values(**values))

    def _name_taken(self, workspace: Workspace, name: str) -> bool:
        with self.sessions() as session:
            return session.scalar(
                select(Credential.id).where(*self._scope(workspace), Credential.name_key == normalise_name(name)).limit(1)
            ) is not None

    def _storage_failed(self, workspace: Workspace, actor: str, error: SQLAlchemyError) -> StorageFailed:
        # The statement and its parameters stay out of the log: they hold the ciphertext.
        cause = type(error.orig).__name__ if getattr(error, "orig", None) is not None else "-"
        log.error("storing a credential failed: %s (%s)", type(error).__name__, cause)
        self.record(workspace, actor, "credential.create", "failed", detail=f"database error: {type(error).__name__}")
        return StorageFailed("The credential could not be saved (database error). Nothing was stored; "
                             "try again, and tell the bot's operators if it keeps happening.")

    @staticmethod
    def _scope(workspace: Workspace):
        return (Credential.enterprise_id == workspace.enterprise_id, Credential.team_id == workspace.team_id)

    def _event(self, workspace: Workspace, actor: str, action: str, outcome: str,
               credential_id: str | None = None, detail: str = "") -> AuditEvent:
        return AuditEvent(at=self.clock(), action=action[:40], outcome=outcome[:40], actor=actor[:32],
                          enterprise_id=workspace.enterprise_id[:32], team_id=workspace.team_id[:32],
                          credential_id=credential_id, detail=detail[:1000])

    def record(self, workspace: Workspace, actor: str, action: str, outcome: str,
               credential_id: str | None = None, detail: str = "") -> None:
        """Append one event to the audit trail (in its own transaction). Never pass a secret here."""
        try:
            with self.sessions.begin() as session:
                session.add(self._event(workspace, actor, action, outcome, credential_id, detail))
        except SQLAlchemyError as error:  # an audit write must not hide the user's real answer
            log.error("audit write failed for %s/%s: %s", action, outcome, type(error).__name__)


def key_usage(sessions: sessionmaker[Session]) -> dict[str, int]:
    """How many credentials each encryption key id protects."""
    with sessions() as session:
        rows = session.execute(
            select(Credential.encryption_key_id, func.count()).group_by(Credential.encryption_key_id)
        ).all()
    return {key_id: count for key_id, count in rows}
