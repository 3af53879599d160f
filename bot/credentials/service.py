"""Changing credentials: create, test, replace, rename, delete, reveal. One transaction per operation, audited.

Plain values in, plain values or domain errors (bot.credentials.errors) out. The provider, the clock, metrics
and log redaction arrive through ports (bot.credentials.ports); nothing here knows Slack or settings.
"""

from __future__ import annotations

import logging
import uuid
from functools import lru_cache
from typing import Any, Unpack, cast

from sqlalchemy import CursorResult, Delete, Insert, Update, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials import catalog
from bot.credentials.audit import AuditLog
from bot.credentials.errors import CredentialGone, KeyUnreadable, NameTaken, StorageFailed
from bot.credentials.key_records import RECORD_COLUMNS, record_values
from bot.credentials.key_verification import KeyVerification
from bot.credentials.models import AuditEvent, Credential, HomeViewer, table_of
from bot.credentials.ports import (
    Clock,
    KeyRotator,
    KeyVerifier,
    NoRotation,
    NoScrub,
    Observer,
    Residue,
    Unobserved,
    utc_now,
)
from bot.credentials.queries import CredentialQueries, Paging, in_workspace, summary_of, verification_column
from bot.credentials.types import (
    CredentialPage,
    CredentialSummary,
    KeyCheck,
    KeyRecord,
    Outcome,
    Verification,
    Workspace,
)
from bot.credentials.names import name_key
from bot.credentials.validation import check_api_key, validate_destination, validate_entity_type, validate_name
from bot.credentials.vault import KeyRing, Sealed, VaultError, associated_data
from bot.infra.secret import Secret

log = logging.getLogger(__name__)


def binding(credential_id: str, workspace: Workspace, destination: str, entity_type: str) -> bytes:
    """Associated data tying a ciphertext to its row: copied into another row it no longer decrypts."""
    return associated_data(
        credential_id=credential_id,
        enterprise_id=workspace.enterprise_id,
        team_id=workspace.team_id,
        destination=destination,
        entity_type=entity_type,
    )


def row_binding(row: Credential) -> bytes:
    return binding(row.id, Workspace(row.enterprise_id, row.team_id), row.destination, row.entity_type)


def check_message(check: KeyCheck, provider: str) -> str:
    """What a Test connection tells the person (the key is stored either way); ``provider`` is its name."""
    if check.accepted:
        return f"{provider} accepted the key."
    if check.outcome is Outcome.REJECTED:  # the provider's words say what to do; its code is shown apart
        return f"{check.message} Then use Replace API key."
    return (
        f"{provider} could not be reached, or did not answer as {provider} does, so the key was not checked. Try "
        "again in a few minutes."
    )


class CredentialService:
    """The core's operations. ``queries`` holds the reads."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        key_ring: KeyRing,
        verifier: KeyVerifier,
        *,
        verify_keys: bool = True,
        clock: Clock = utc_now,
        observer: Observer | None = None,
        audit: AuditLog | None = None,
        reads: sessionmaker[Session] | None = None,
        residue: Residue | None = None,
        rotator: KeyRotator | None = None,
    ) -> None:
        self.sessions, self.key_ring, self.verifier = sessions, key_ring, verifier
        self.rotator = rotator or NoRotation()  # the provider's rotation of a key (bot.credentials.key_rotation)
        self.residue = residue or NoScrub()  # told of old ciphertexts a replace or delete leaves in the files
        self.verify_keys, self.clock = verify_keys, clock
        self.observer = observer or Unobserved()
        self.queries = CredentialQueries(reads or sessions)  # reads: sessions without a transaction, if given
        self.audit = audit or AuditLog(sessions, clock)
        self.verification = KeyVerification(verifier, self.audit, self.observer, clock, verify_keys=verify_keys)

    # -- create -------------------------------------------------------------------------

    def create(
        self, workspace: Workspace, actor: str, *, name: str, entity_type: str, destination: str, api_key: Secret
    ) -> CredentialSummary:
        """Check, verify with the provider, encrypt and store a credential; on any error nothing is stored."""
        name, entity, dest = validate_name(name), validate_entity_type(entity_type), validate_destination(destination)
        api_key = check_api_key(api_key.reveal(), dest, live_verification=self.verify_keys)
        holder = self.queries.name_holder(workspace, name)
        if holder is not None:  # taken since stage 1: say so before bothering Paddle
            self.audit.record(workspace, actor, "credential.create", "refused", detail="name taken")
            raise NameTaken(name, holder)
        verification, record = self.verification.verified(workspace, actor, dest, api_key)
        credential_id = str(uuid.uuid4())
        sealed = self.key_ring.encrypt(api_key, binding(credential_id, workspace, dest.value, entity.value))
        row = {
            "id": credential_id,
            "enterprise_id": workspace.enterprise_id,
            "team_id": workspace.team_id,
            "name": name,
            "name_key": name_key(name),
            "entity_type": entity.value,
            "destination": dest.value,
            "encrypted_key": sealed.blob,
            "encryption_key_id": sealed.key_id,
            "key_hint": api_key.hint(),
            "key_record_id": catalog.key_record_id(dest, api_key.reveal()) or "",
            "created_by": actor,
            "created_at": self.clock(),
            **_verification_values(verification, record),
        }
        self._insert(workspace, actor, row, name, f"{entity.value} -> {dest.value}")
        self.observer.credential_created(dest.value)
        return summary_of(row)

    def _insert(self, workspace: Workspace, actor: str, row: dict[str, Any], name: str, detail: str) -> None:
        """The row and its audit event, both or neither, as Core INSERTs (the ORM's unit of work cost more than
        the rest of the save); the unique index decides a name race.

        On PostgreSQL they are one statement (the event inserted from a data-modifying CTE that inserts the row),
        atomic on its own: one round trip instead of BEGIN, two INSERTs and COMMIT. SQLite has no INSERT in a CTE;
        there they share a transaction, which never leaves the process."""
        created = ("credential.create", "created", row["id"], detail)
        try:
            if self.queries.engine.dialect.name == "postgresql":
                event = self.audit.values(workspace, actor, *created)
                with self.queries.engine.begin() as connection:  # sends nothing more in autocommit
                    connection.execute(
                        _create_with_event(tuple(row)),
                        {
                            **{f"c_{key}": value for key, value in row.items()},
                            **{f"e_{key}": value for key, value in event.items() if key != "credential_id"},
                        },
                    )
            else:
                with self.sessions.begin() as session:
                    session.execute(_INSERT_CREDENTIAL, row)
                    self.audit.append(session, workspace, actor, *created)
        except IntegrityError as error:
            holder = self.queries.name_holder(workspace, name)
            if holder is not None:  # lost the race on the unique index
                self.audit.record(workspace, actor, "credential.create", "refused", detail="name taken")
                raise NameTaken(name, holder) from None
            raise _storage_failed(self.audit, workspace, actor, error) from None
        except SQLAlchemyError as error:
            raise _storage_failed(self.audit, workspace, actor, error) from None

    # -- one credential ---------------------------------------------------------------------

    def test_connection(self, workspace: Workspace, actor: str, raw_id: object) -> tuple[CredentialSummary, str]:
        """Decrypt the key just in time, ask the provider, store the outcome; returns it with a message."""
        row = self.queries.row(raw_id, workspace)
        api_key = self._open(row, actor, "credential.test")
        with self.observer.holding(api_key):
            dest = validate_destination(row.destination)
            check = self.verification.check(workspace, actor, dest, api_key, row.id)
        verification = Verification(self.clock(), check.outcome, check.reason)
        values = _verification_values(verification, check.record)
        if check.record is None:  # keep what we knew of the key's record when the provider did not say
            values = {k: v for k, v in values.items() if k not in RECORD_COLUMNS}
        with self.sessions.begin() as session:
            session.execute(update(Credential).where(*in_workspace(workspace), Credential.id == row.id).values(values))
            self.audit.append(session, workspace, actor, "credential.test", verification.label, row.id)
        return self.queries.get(workspace, row.id), check_message(check, dest.provider_label)

    def replace_key(self, workspace: Workspace, actor: str, raw_id: object, raw_key: str | None) -> CredentialSummary:
        """A new key for the same credential (same id: integrations keep working); the old key is never shown."""
        row = self.queries.row(raw_id, workspace)
        dest = validate_destination(row.destination)
        api_key = check_api_key(raw_key, dest, live_verification=self.verify_keys, destination_fixed=True)
        with self.observer.holding(api_key):
            verification, record = self.verification.verified(workspace, actor, dest, api_key, row.id)
            sealed = self.key_ring.encrypt(api_key, row_binding(row))
        self._change(
            workspace,
            actor,
            row.id,
            ("credential.replace", "replaced", f"key ending {api_key.hint()}"),
            update(Credential).values(
                encrypted_key=sealed.blob,
                encryption_key_id=sealed.key_id,
                key_hint=api_key.hint(),
                key_replaced_at=self.clock(),
                key_record_id=catalog.key_record_id(dest, api_key.reveal()) or "",
                key_status_at=None,  # the new key has had no notification yet
                key_exposed_at=None,
                **_verification_values(verification, record),
            ),
        )
        self.residue.left("credentials")  # the old ciphertext, in the row's previous version
        return self.queries.get(workspace, row.id)

    def rename(self, workspace: Workspace, actor: str, raw_id: object, raw_name: str | None) -> CredentialSummary:
        """Stage 1's rules; the unique index decides a race with another rename or create."""
        row = self.queries.row(raw_id, workspace)
        name = validate_name(raw_name)
        try:
            self._change(
                workspace,
                actor,
                row.id,
                ("credential.rename", "renamed", f"{row.name} -> {name}"),
                update(Credential).values(name=name, name_key=name_key(name)),
            )
        except IntegrityError:
            raise NameTaken(name, self.queries.name_holder(workspace, name)) from None
        return self.queries.get(workspace, row.id)

    def delete(self, workspace: Workspace, actor: str, raw_id: object) -> CredentialSummary:
        """Delete the row and its ciphertext (and its reminders); returns what was deleted."""
        gone = self.queries.get(workspace, raw_id)
        self._change(
            workspace,
            actor,
            gone.id,
            ("credential.delete", "deleted", f"{gone.name} ({gone.destination})"),
            delete(Credential),
        )
        self.residue.left("credentials")
        return gone

    def reveal(self, raw_id: object, actor: str, workspace: Workspace | None = None) -> Secret:
        """The decrypted key, for an integration or an operator (any workspace unless one is given); audited."""
        row = self.queries.row(raw_id, workspace)
        secret = self._open(row, actor, "credential.reveal")
        self.audit.record(Workspace(row.enterprise_id, row.team_id), actor, "credential.reveal", "revealed", row.id)
        return secret

    def decrypt_for_reader(self, row: Credential, actor: str) -> Secret:
        """The key of a row whose read the caller has audited already (the read API: bot.credentials.access_tokens)."""
        return self._open(row, actor, "credential.read")

    # -- audited reads and notes ---------------------------------------------------------------

    def list(self, workspace: Workspace, actor: str, *, text: str = "", **paging: Unpack[Paging]) -> CredentialPage:
        """A page of ``/list-credentials`` (see CredentialQueries.list), audited after the answer has gone."""
        page = self.queries.list(workspace, text=text, **paging)
        shown = f"{len(page.items)} shown" + (f" from {page.offset + 1}" if paging else "")
        self.audit.record(
            workspace, actor, "credential.list", "listed", detail=shown + (", filtered" if text else ""), later=True
        )
        return page

    def denied(self, workspace: Workspace, actor: str, attempt: str, reason: str) -> None:
        """A refusal by the access policy, for the trail."""
        self.audit.record(workspace, actor, attempt, "denied", detail=reason)

    def note_home_viewer(self, workspace: Workspace, user_id: str) -> None:
        """Remember that this user has opened the Credentials tab (idempotent)."""
        try:
            with self.sessions.begin() as session:
                if session.get(HomeViewer, (workspace.enterprise_id, workspace.team_id, user_id)) is None:
                    session.add(
                        HomeViewer(
                            enterprise_id=workspace.enterprise_id, team_id=workspace.team_id, user_id=user_id[:32]
                        )
                    )
        except IntegrityError:
            pass  # opened on two instances at once

    # -- internals ------------------------------------------------------------------------------

    def _open(self, row: Credential, actor: str, action: str) -> Secret:
        """The one decrypt path. A ciphertext that does not decrypt is logged and audited under a reference."""
        try:
            return self.key_ring.decrypt(Sealed(row.encryption_key_id, row.encrypted_key), row_binding(row))
        except VaultError as error:
            reference = uuid.uuid4().hex[:10]
            log.error("credential %s could not be decrypted (reference %s): %s", row.id, reference, error)
            self.audit.record(
                Workspace(row.enterprise_id, row.team_id),
                actor,
                action,
                "undecryptable",
                row.id,
                f"reference {reference}: {error}",
            )
            raise KeyUnreadable(reference) from None

    def _change(
        self,
        workspace: Workspace,
        actor: str,
        credential_id: str,
        event: tuple[str, str, str],
        statement: Update | Delete,
    ) -> None:
        """An UPDATE or DELETE of one credential of the workspace with its audit event, in one transaction.

        CredentialGone when the row vanished meanwhile; IntegrityError passes through (a name race)."""
        try:
            with self.sessions.begin() as session:
                # a DML statement's result is a CursorResult (Session.execute is typed as the general Result)
                changed = cast(
                    CursorResult[Any],
                    session.execute(statement.where(*in_workspace(workspace), Credential.id == credential_id)),
                )
                if not changed.rowcount:
                    raise CredentialGone()
                self.audit.append(session, workspace, actor, *event[:2], credential_id, event[2])
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            raise _storage_failed(self.audit, workspace, actor, error) from None


def fill_key_record_ids(service: CredentialService) -> int:
    """Store the record id of each key stored before migration 0016 (it is inside the key, so only a decrypt
    finds it): what a provider's notification names. Returns how many were filled; one that does not
    decrypt is left for the next start (and audited by the decrypt path)."""
    filled = 0
    with service.sessions() as session:
        rows = session.execute(select(Credential).where(Credential.key_record_id.is_(None))).scalars().all()
    for row in rows:
        dest = catalog.destination(row.destination)
        try:
            key = service._open(row, "credbot", "credential.key_record_id")
        except KeyUnreadable:
            continue
        record_id = (catalog.key_record_id(dest, key.reveal()) if dest else None) or ""
        with service.sessions.begin() as session:
            session.execute(
                update(Credential)
                .where(Credential.id == row.id, Credential.key_record_id.is_(None))
                .values(key_record_id=record_id)
            )
        filled += 1
    return filled


_INSERT_CREDENTIAL = insert(table_of(Credential))
_EVENT_COLUMNS = ("at", "action", "outcome", "actor", "enterprise_id", "team_id", "detail")


@lru_cache(maxsize=8)
def _create_with_event(columns: tuple[str, ...]) -> Insert:
    """``INSERT INTO audit_events … SELECT …, created.id FROM (INSERT INTO credentials … RETURNING id) created``:
    a credential and its "created" event in one statement (PostgreSQL), built once per set of columns."""
    table, events = table_of(Credential), table_of(AuditEvent)
    created = (
        insert(table)
        .values({table.c[key]: bindparam(f"c_{key}", type_=table.c[key].type) for key in columns})
        .returning(table.c.id)
        .cte("created")
    )
    chosen = select(*(bindparam(f"e_{key}", type_=events.c[key].type) for key in _EVENT_COLUMNS), created.c.id)
    return insert(events).from_select([*_EVENT_COLUMNS, "credential_id"], chosen)


def _storage_failed(audit: AuditLog, workspace: Workspace, actor: str, error: SQLAlchemyError) -> StorageFailed:
    # The statement and its parameters stay out of the log: they hold the ciphertext.
    orig = getattr(error, "orig", None)  # the driver's error, on the DBAPIError kind
    cause = type(orig).__name__ if orig is not None else "-"
    log.error("storing a credential failed: %s (%s)", type(error).__name__, cause)
    audit.record(workspace, actor, "credential.create", "failed", detail=f"database error: {type(error).__name__}")
    return StorageFailed(
        "The credential could not be saved (database error). Nothing was stored; "
        "try again, and tell the bot's operators if it keeps happening."
    )


def _verification_values(verification: Verification, record: KeyRecord | None) -> dict[str, Any]:
    """The columns a verification (and the key's record, when known: else each of RECORD_COLUMNS is NULL) sets."""
    return {
        "last_verified_at": verification.at,
        "last_verification": verification_column(verification),
        **record_values(record, verification.at),
    }
