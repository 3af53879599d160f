"""What an installation's sealed tokens are bound to (their AES-GCM associated data), and the one-time move of
rows sealed before migration 0012.

Binding 2 (every token sealed since): the row's id, the token's purpose, and the workspace the row is for
(enterprise id, team id, org-wide or not). A database writer who swaps ``team_id`` between two rows, or moves a
token into another workspace's row, gets a row that does not decrypt: the request gets no token, never another
workspace's. Binding 1 (before 0012): the row's id and purpose only. Such a row is read the old way exactly once,
by the next `serve` start (or the first request that meets it, when an instance of the previous version wrote it
during a rolling upgrade), and re-sealed with binding 2 at once (docs/decisions/kms-trust.md).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.audit import AuditLog
from bot.credentials.models import SlackInstallation
from bot.credentials.types import Workspace
from bot.credentials.vault import KeyRing, Sealed, VaultError, associated_data
from bot.infra.secret import Secret

log = logging.getLogger("bot.slack.oauth.installation_store")

LEGACY, WORKSPACE_BOUND = 1, 2
TOKENS = (  # purpose, ciphertext column, key id column
    ("bot", "encrypted_bot_token", "bot_token_key_id"),
    ("refresh", "encrypted_refresh_token", "refresh_token_key_id"),
)


def token_aad(row: SlackInstallation, purpose: str, binding: int | None = None) -> bytes:
    """The associated data of one of ``row``'s tokens, as ``binding`` (the row's own unless given) says."""
    binding = row.token_binding if binding is None else binding
    if binding == LEGACY:
        return associated_data(table="slack_installations", id=row.id, purpose=purpose)
    return associated_data(
        table="slack_installations",
        id=row.id,
        purpose=purpose,
        enterprise_id=row.enterprise_id or "",
        team_id=row.team_id or "",
        org_wide="1" if row.is_enterprise_install else "0",
    )


def report_undecryptable(sessions: sessionmaker[Session], row: SlackInstallation, error: VaultError) -> None:
    """One log line and one audit event for a row whose tokens do not decrypt as that row's (no secret)."""
    report(sessions, row.id, Workspace(row.enterprise_id or "", row.team_id or ""), error)


def report(sessions: sessionmaker[Session], row_id: str, workspace: Workspace, error: VaultError) -> None:
    where = "/".join(part for part in (workspace.enterprise_id, workspace.team_id) if part) or "no workspace"
    log.error(
        "the Slack tokens stored for workspace %s (installation %s) do not decrypt as that workspace's: %s; "
        "no token is used for it (reinstall the app there, and find out who changed the row)",
        where,
        row_id,
        error,
    )
    AuditLog(sessions).record(
        workspace, "credbot", "installation.token", "undecryptable", detail=f"installation {row_id}: {error}"
    )


def reseal(row: SlackInstallation, key_ring: KeyRing, *, to_primary: bool = False) -> bool:
    """Re-seal ``row``'s tokens bound to its workspace (from the binding they have), under the same key id or,
    ``to_primary``, under the primary key (`keys rotate`). Raises :class:`VaultError` before changing anything;
    whether anything changed."""
    updates: dict[str, object] = {}
    for purpose, blob_column, key_column in TOKENS:
        blob, key_id = getattr(row, blob_column), getattr(row, key_column)
        if blob is None:
            continue
        target = key_ring.primary_key_id if to_primary else key_id
        if row.token_binding == WORKSPACE_BOUND and key_id == target:
            continue
        secret: Secret = key_ring.decrypt(Sealed(key_id or "", blob), token_aad(row, purpose))
        sealed = key_ring.encrypt(secret, token_aad(row, purpose, WORKSPACE_BOUND), key_id=target)
        updates |= {blob_column: sealed.blob, key_column: sealed.key_id}
    if row.token_binding != WORKSPACE_BOUND:
        updates["token_binding"] = WORKSPACE_BOUND
    for column, value in updates.items():
        setattr(row, column, value)
    return bool(updates)


def reseal_legacy(sessions: sessionmaker[Session], key_ring: KeyRing, row_id: str | None = None) -> int:
    """Every row still sealed the old way, re-sealed bound to its workspace; a row that does not decrypt is
    reported and left alone (it gets no token). With ``row_id``, only that row, and a failure is raised
    (:class:`VaultError`) for the caller to report. How many rows were re-sealed."""
    done, failed = 0, []
    with sessions.begin() as session:
        query = select(SlackInstallation).where(SlackInstallation.token_binding == LEGACY)
        if row_id is not None:
            query = query.where(SlackInstallation.id == row_id)
        for row in session.scalars(query.with_for_update()).all():
            try:
                done += reseal(row, key_ring)
            except VaultError as error:
                if row_id is not None:
                    raise
                failed.append((row.id, Workspace(row.enterprise_id or "", row.team_id or ""), error))
    for failed_id, workspace, problem in failed:  # after the commit: the audit write is a transaction of its own
        report(sessions, failed_id, workspace, problem)
    if done:
        log.info("re-sealed the Slack tokens of %d installation(s) bound to their workspace", done)
    return done
