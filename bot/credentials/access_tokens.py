"""Access tokens: what an integration reads credentials with instead of the database and the key ring.

A token is ``cbt_`` and 43 characters of URL-safe base64 (256 random bits); the prefix lets secret scanners find
a leaked one. Only its SHA-256 is stored (a 256-bit random secret needs no slow hash: nothing to guess). Each
token belongs to one workspace and names the credentials it may read; it expires (90 days unless told, at most
a year), may be limited to client addresses (CIDRs), and is revoked by deleting nothing: ``revoked_at`` is set,
and every request looks the token up again, so a revocation holds on every instance at once.

A secret read is audited, and the token's and the credential's last read recorded, in one transaction that
commits before the key is decrypted: when the audit row cannot be written, no key leaves (``AuditUnavailable``).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.audit import AuditLog
from bot.credentials.access_token_rules import (
    DEFAULT_LIFETIME,
    FORBIDDEN,
    MOST_CREDENTIALS,
    RATE_WINDOW,
    TOKEN_ID_SHAPE,
    TOKEN_PREFIX,
    TOKEN_SHAPE,
    UNAUTHORIZED,
    AuditUnavailable,
    RateLimited,
    TokenInfo,
    TokenRefused,
    TokenRequestInvalid,
    checked_lifetime,
    checked_name,
    parse_networks,
    token_hash,
)
from bot.credentials.key_shapes import key_shaped
from bot.credentials.models import TOKEN_READS, AccessToken, AccessTokenScope, AuditEvent, Credential, table_of
from bot.credentials.ports import Clock, utc_now
from bot.credentials.queries import UUID_TEXT, utc
from bot.credentials.types import Workspace
from bot.infra.secret import Secret


class AccessTokens:
    """Issue, list, revoke and check tokens; the reads they make. ``decrypt`` opens a credential's row (the
    core's one decrypt path, CredentialService.decrypt_for_reader)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        audit: AuditLog,
        decrypt: Callable[[Credential, str], Secret],
        clock: Clock = utc_now,
    ) -> None:
        self.sessions, self.audit, self.decrypt, self.clock = sessions, audit, decrypt, clock

    # -- issuing and revoking ----------------------------------------------------------------------

    def issue(
        self,
        name: str,
        credential_ids: Sequence[str],
        actor: str,
        *,
        lifetime: timedelta = DEFAULT_LIFETIME,
        allow_from: Iterable[str] = (),
        workspace: Workspace | None = None,
    ) -> tuple[Secret, TokenInfo]:
        """A new token for these credentials (all of one workspace: ``workspace`` when given); audited. The token
        is returned once, here, and never stored."""
        name, lifetime, networks = checked_name(name), checked_lifetime(lifetime), parse_networks(allow_from)
        wanted = tuple(dict.fromkeys(credential_ids))
        if not wanted or len(wanted) > MOST_CREDENTIALS:
            raise TokenRequestInvalid(f"name between 1 and {MOST_CREDENTIALS} credentials the token may read")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with self.sessions.begin() as session:
            owner = self._one_workspace(session, wanted, workspace)
            token_id = "tok_" + secrets.token_hex(8)
            values = {
                "id": token_id,
                "token_hash": token_hash(token),
                "name": name,
                "enterprise_id": owner.enterprise_id,
                "team_id": owner.team_id,
                "allow_from": "\n".join(networks),
                "created_by": actor,
                "created_at": now,
                "expires_at": now + lifetime,
            }
            session.execute(insert(table_of(AccessToken)), values)
            session.execute(
                insert(table_of(AccessTokenScope)), [{"token_id": token_id, "credential_id": c} for c in wanted]
            )
            detail = f"{token_id} {name!r} for {len(wanted)} credential(s), expires {values['expires_at']:%Y-%m-%d}"
            self.audit.append(session, owner, actor, "access_token.issue", "issued", detail=detail)
        return Secret(token), TokenInfo(token_id, name, owner, wanted, networks, actor, now, now + lifetime)

    def _one_workspace(self, session: Session, wanted: Sequence[str], workspace: Workspace | None) -> Workspace:
        unknown = [c for c in wanted if not UUID_TEXT.match(c)]
        rows = session.execute(
            select(Credential.id, Credential.enterprise_id, Credential.team_id).where(Credential.id.in_(wanted))
        ).all()
        found = {row.id: Workspace(row.enterprise_id, row.team_id) for row in rows}
        unknown += [c for c in wanted if c not in found and c not in unknown]
        if unknown:
            shown = unknown[0] if len(unknown[0]) <= 40 and not key_shaped(unknown[0]) else "an id"
            raise TokenRequestInvalid(f"no credential {shown}: `credentials list` shows the ids")
        owners = set(found.values())
        if len(owners) > 1:
            raise TokenRequestInvalid("a token reads the credentials of one workspace: issue one per workspace")
        owner = owners.pop()
        if workspace is not None and owner != workspace:
            raise TokenRequestInvalid(FORBIDDEN)
        return owner

    def revoke(self, token_id: str, actor: str, workspace: Workspace | None = None) -> tuple[TokenInfo, bool]:
        """Revoke a token (any workspace's unless one is given); audited. Returns the token and whether this call
        revoked it (False: it was revoked already, and nothing changed)."""
        info = self.find(token_id, workspace)
        if info.revoked_at is not None:
            return info, False
        with self.sessions.begin() as session:
            changed = _rowcount(
                session.execute(
                    update(AccessToken)
                    .where(AccessToken.id == info.id, AccessToken.revoked_at.is_(None))
                    .values(revoked_at=self.clock(), revoked_by=actor)
                )
            )
            if changed:
                self.audit.append(session, info.workspace, actor, "access_token.revoke", "revoked", detail=info.id)
        return self.find(info.id), bool(changed)

    def revoke_reading(self, credential_id: str, actor: str, workspace: Workspace) -> list[str]:
        """Revoke every active token of ``workspace`` that may read this credential, in one transaction; each
        audited. A token that reads other credentials too loses them as well: whoever holds it could read this
        one, and it may have leaked. Returns the ids this call revoked (none: nothing was active)."""
        now = self.clock()
        with self.sessions.begin() as session:
            active = session.scalars(
                select(AccessToken.id)
                .join(AccessTokenScope, AccessTokenScope.token_id == AccessToken.id)
                .where(
                    AccessTokenScope.credential_id == credential_id,
                    AccessToken.enterprise_id == workspace.enterprise_id,
                    AccessToken.team_id == workspace.team_id,
                    AccessToken.revoked_at.is_(None),
                    AccessToken.expires_at > now,
                )
                .order_by(AccessToken.id)
            ).all()
            revoked = []
            for token_id in active:
                changed = _rowcount(
                    session.execute(
                        update(AccessToken)
                        .where(AccessToken.id == token_id, AccessToken.revoked_at.is_(None))
                        .values(revoked_at=now, revoked_by=actor)
                    )
                )
                if changed:
                    revoked.append(token_id)
                    detail = f"{token_id}: all access to the credential revoked at once"
                    self.audit.append(
                        session, workspace, actor, "access_token.revoke", "revoked", credential_id, detail
                    )
        return revoked

    # -- reading what exists -----------------------------------------------------------------------

    def find(self, token_id: str, workspace: Workspace | None = None) -> TokenInfo:
        found = self.all(workspace, only=token_id) if TOKEN_ID_SHAPE.fullmatch(token_id or "") else []
        if not found:
            shown = token_id if TOKEN_ID_SHAPE.fullmatch(token_id or "") else "that id"
            raise TokenRequestInvalid(f"no token {shown}: `tokens list` shows the ids (tok_…)")
        return found[0]

    def all(self, workspace: Workspace | None = None, *, only: str | None = None) -> list[TokenInfo]:
        """Every token (of one workspace), newest first."""
        statement = select(AccessToken).order_by(AccessToken.created_at.desc(), AccessToken.id)
        if workspace is not None:
            statement = statement.where(
                AccessToken.enterprise_id == workspace.enterprise_id, AccessToken.team_id == workspace.team_id
            )
        if only is not None:
            statement = statement.where(AccessToken.id == only)
        with self.sessions() as session:
            rows = session.scalars(statement).all()
            scopes: dict[str, list[str]] = {}
            ids = [row.id for row in rows]
            if ids:
                for token_id, credential in session.execute(
                    select(AccessTokenScope.token_id, AccessTokenScope.credential_id)
                    .where(AccessTokenScope.token_id.in_(ids))
                    .order_by(AccessTokenScope.credential_id)
                ):
                    scopes.setdefault(token_id, []).append(credential)
        return [_info(row, scopes.get(row.id, [])) for row in rows]

    def last_reads(self, credential_ids: Sequence[str]) -> dict[str, datetime]:
        """When each credential was last read through a token (those never read are absent)."""
        if not credential_ids:
            return {}
        with self.sessions() as session:
            rows = session.execute(
                select(AccessTokenScope.credential_id, func.max(AccessTokenScope.last_read_at))
                .where(AccessTokenScope.credential_id.in_(credential_ids), AccessTokenScope.last_read_at.is_not(None))
                .group_by(AccessTokenScope.credential_id)
            ).all()
        return {credential: utc(at) for credential, at in rows if at is not None}

    # -- the read API's checks and reads -----------------------------------------------------------

    def authenticate(self, bearer: str | None, address: str) -> TokenInfo:
        """The token a request's ``Authorization: Bearer …`` value names, if it may be used from ``address``."""
        if not bearer or not TOKEN_SHAPE.fullmatch(bearer):
            raise TokenRefused(401, "unauthorized", UNAUTHORIZED)
        with self.sessions() as session:
            row = session.scalar(select(AccessToken).where(AccessToken.token_hash == token_hash(bearer)))
            if row is None:
                raise TokenRefused(401, "unauthorized", UNAUTHORIZED)
            credentials = session.scalars(
                select(AccessTokenScope.credential_id).where(AccessTokenScope.token_id == row.id)
            ).all()
        info = _info(row, credentials)
        if info.status(self.clock()) != "active":
            raise TokenRefused(401, "unauthorized", UNAUTHORIZED)
        if not info.allows(address):
            raise TokenRefused(403, "forbidden", "this token may not be used from this address")
        return info

    def readable(self, token: TokenInfo) -> list[Credential]:
        """The credentials the token may read that still exist, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Credential)
                .where(Credential.id.in_(token.credential_ids), *_of(token.workspace))
                .order_by(Credential.created_at, Credential.id)
            ).all()
        return list(rows)

    def row(self, token: TokenInfo, credential_id: str) -> Credential:
        """One credential of the token's scope; 403 (the same answer whether or not the id exists) outside it,
        404 for one in its scope that has been deleted."""
        if credential_id not in token.credential_ids:
            raise TokenRefused(403, "forbidden", FORBIDDEN)
        with self.sessions() as session:
            row = session.scalar(select(Credential).where(Credential.id == credential_id, *_of(token.workspace)))
        if row is None:
            raise TokenRefused(404, "not_found", "that credential has been deleted")
        return row

    def read_secret(
        self, token: TokenInfo, credential_id: str, address: str, per_minute: int | None = None
    ) -> tuple[Credential, Secret]:
        """The key, after its read is audited and recorded as the token's and the credential's last use.
        ``per_minute``: RateLimited once the token has made that many reads in the last minute, on any instance
        (the token's row, updated first, holds the others' reads of it back until this one commits)."""
        row = self.row(token, credential_id)
        now = self.clock()
        detail = f"{token.id} {token.name!r} version {key_version(row)} from {address}"[:1000]
        try:
            with self.sessions.begin() as session:
                still = _rowcount(
                    session.execute(
                        update(AccessToken)
                        .where(AccessToken.id == token.id, AccessToken.revoked_at.is_(None))
                        .values(last_used_at=now, last_used_from=address[:45])
                    )
                )
                if not still:  # revoked since the check
                    raise TokenRefused(401, "unauthorized", UNAUTHORIZED)
                if per_minute is not None:  # on the audit's clock: it stamps the reads counted
                    _within_rate(session, token, per_minute, self.audit.clock())
                session.execute(
                    update(AccessTokenScope)
                    .where(AccessTokenScope.token_id == token.id, AccessTokenScope.credential_id == row.id)
                    .values(last_read_at=now)
                )
                self.audit.append(session, token.workspace, reader(token), "credential.read", "read", row.id, detail)
        except SQLAlchemyError:
            raise AuditUnavailable() from None
        return row, self.decrypt(row, reader(token))


# Built once (a statement made per read cost more than running it). The index's own condition is written out:
# a bound parameter in its place would not match the partial index.
_RECENT_READS = select(func.count(), func.min(AuditEvent.at)).where(
    TOKEN_READS, AuditEvent.actor == bindparam("actor"), AuditEvent.at > bindparam("since", type_=AuditEvent.at.type)
)


def _within_rate(session: Session, token: TokenInfo, per_minute: int, now: datetime) -> None:
    """RateLimited when the token's audited reads of the last minute number ``per_minute`` already: one range
    of the partial index ix_audit_events_token_reads, at most ``per_minute`` entries long."""
    count, oldest = session.execute(_RECENT_READS, {"actor": reader(token), "since": now - RATE_WINDOW}).one()
    if count >= per_minute:
        wait = (utc(oldest) or now) + RATE_WINDOW - now
        raise RateLimited(max(1, math.ceil(wait.total_seconds())))


def reader(token: TokenInfo) -> str:
    """Who the audit trail names for a token's read."""
    return f"token:{token.id}"


def key_version(row: Credential) -> int:
    """A number that changes whenever the stored key does (created, replaced, rotated): the key's time in
    milliseconds. Integrations compare it for equality; the read API's ETag is made from it."""
    moment = utc(row.key_replaced_at or row.created_at)
    return int(moment.timestamp() * 1000)


def _rowcount(result: object) -> int:
    """Rows an UPDATE changed (Session.execute is typed as the general Result; a DML's is a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount


def _of(workspace: Workspace) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return Credential.enterprise_id == workspace.enterprise_id, Credential.team_id == workspace.team_id


def _info(row: AccessToken, credential_ids: Iterable[str]) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.name,
        Workspace(row.enterprise_id, row.team_id),
        tuple(credential_ids),
        tuple(line for line in row.allow_from.split("\n") if line),
        row.created_by,
        utc(row.created_at),
        utc(row.expires_at),
        utc(row.revoked_at),
        row.revoked_by,
        utc(row.last_used_at),
        row.last_used_from,
    )
