"""The schema, as typed SQLAlchemy 2.0 models. Migrations are generated from these."""

from __future__ import annotations

import uuid
from datetime import datetime, UTC

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """The Table a model is mapped to, typed as one (SQLAlchemy types ``__table__`` as any FROM clause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


class Credential(Base):
    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    # Workspace scope. Empty string, not NULL, for "none": NULLs never collide in a unique index.
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(400))  # NFKC + casefold of name; case folding can lengthen it
    entity_type: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(32))
    encrypted_key: Mapped[bytes] = mapped_column(LargeBinary)
    encryption_key_id: Mapped[str] = mapped_column(String(64))
    key_hint: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The last check of the key with Paddle (at creation, "Test connection", "Replace API key").
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_verification: Mapped[str | None] = mapped_column(String(60), nullable=True)  # ok | rejected:… | unavailable:…
    # The key's own record at Paddle (GET /api-keys/{id}); unknown for legacy keys or when it could not be read.
    key_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    key_status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # active | expired | revoked
    key_replaced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The id of the key's own record at the provider (Paddle's apikey_…, shown by the key itself): what Paddle's
    # notifications name. "" for a key that shows none (legacy); NULL until filled in (keys stored before 0016).
    key_record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # When the latest notification that set key_status happened at the provider (its occurred_at): an older one
    # never overwrites it. NULL: the status came from a check, or there is none.
    key_status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When the provider reported the key exposed (found leaked in public); NULL: never.
    key_exposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The key's permissions as the provider's latest notification listed them (space-separated); NULL: not told.
    key_permissions: Mapped[str | None] = mapped_column(Text, nullable=True)
    # From the key's own record at the provider (each check, and the daily look): when it was last used (Paddle:
    # to within an hour; NULL: never, or unknown), whether the provider can rotate it (NULL: not said), and when
    # the record was last read (NULL: never; legacy keys have no record).
    key_last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    key_rotatable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    key_looked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        # The uniqueness rule itself: concurrent creators race on this index, not on a check-then-insert.
        Index("uq_credentials_workspace_name", "enterprise_id", "team_id", "name_key", unique=True),
        # /list-credentials: a workspace's credentials, newest first, keyset-paged by (created_at, id).
        Index("ix_credentials_workspace_created_id", "enterprise_id", "team_id", "created_at", "id"),
        Index("ix_credentials_encryption_key_id", "encryption_key_id"),
        # App Home: grouped by destination, newest first.
        Index("ix_credentials_workspace_destination", "enterprise_id", "team_id", "destination", "created_at", "id"),
        # The daily expiry check.
        Index("ix_credentials_key_expires_at", "key_expires_at"),
        # A provider's notification names the key by its record's id.
        Index("ix_credentials_key_record_id", "key_record_id"),
    )


class ProviderNotification(Base):
    """A notification from a provider (Paddle's notification_id), kept once it was accepted: the same one delivered
    again (Paddle retries) changes nothing more."""

    __tablename__ = "provider_notifications"

    notification_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(16))  # whose secret verified it: "live" | "sandbox"
    event_type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(60), default="")

    __table_args__ = (Index("ix_provider_notifications_received_at", "received_at"),)


class Reminder(Base):
    """One expiry reminder, claimed before it is sent: the unique key makes exactly one instance send it."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    credential_id: Mapped[str] = mapped_column(String(36), ForeignKey("credentials.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "expires_soon" (7 days before) | "expired"
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # a replaced key gets reminders anew
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("uq_reminders_claim", "credential_id", "kind", "expires_at", unique=True),)


class BoardMessage(Base):
    """The one message in CREDBOT_BOARD_CHANNEL that lists every credential, edited in place."""

    __tablename__ = "board_messages"

    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The edit claim (bot/credentials/board_claims.py): refreshes asked for, the count the message shows, and
    # who is editing it until when.
    wanted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    editor: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WorkspaceJob(Base):
    """A background job's claim for one workspace (bot/credentials/job_claims.py): the instance doing it, until
    when, and when it last finished; so instances running a pass at once split the workspaces between them."""

    __tablename__ = "workspace_jobs"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)  # "reminders", "board"
    scope_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the installation's team, or its org
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProviderCheck(Base):
    """One check of a key with its provider (Test connection, Replace API key, the wizard's final stage), claimed
    before it starts (bot/credentials/check_claims.py): the rows of the last minute are each person's allowance,
    and a row still ``running_until`` a moment to come holds its subject (a credential, a wizard's modal) and a
    place among the checks in flight. Shared by every instance; a row outlives neither its window nor its lease."""

    __tablename__ = "provider_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="")
    actor: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # a credential id, or "view:" and the wizard's view id
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set while the check runs or waits for its turn; cleared when the provider has answered; a claim whose
    # process died lapses at this time.
    running_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_provider_checks_person", "provider", "enterprise_id", "team_id", "actor", "started_at"),
        Index("ix_provider_checks_subject", "subject"),
    )


TOKEN_READS = text("action = 'credential.read'")  # the audit events an access token's reads write


class AuditEvent(Base):
    """Append-only record of who did what. Never holds a secret."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    # A Slack user id, or who ran a command: "cli:root (sudo: alice)" (bot.infra.os_actor; 0013 widened it).
    actor: Mapped[str] = mapped_column(String(100))
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="")
    credential_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_credential", "credential_id"),
        # A token's secret reads of the last minute, counted on every read (the read API's rate, shared by
        # every instance): only reads are in it, so the other events cost it nothing.
        Index("ix_audit_events_token_reads", "actor", "at", sqlite_where=TOKEN_READS, postgresql_where=TOKEN_READS),
    )


class HomeViewer(Base):
    """Who has opened the Credentials tab (per workspace): only their tab is redrawn after a change they make,
    since drawing one is the costliest thing a change does and nobody else would see it."""

    __tablename__ = "home_viewers"

    enterprise_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KeyCheckValue(Base):
    """A key-check value per encryption key id: a constant sealed under that key, so the wrong material
    under a known id is refused at start-up instead of failing at the first decrypt."""

    __tablename__ = "key_checks"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    check_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set by `keys rotate` (or `keys retire`) once nothing is stored under the id: start-up no longer asks for it.
    # NULL: in use, so an instance that does not have this key refuses to start (it would split the data).
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DataKey(Base):
    """A data key of the envelope key ring: the AES key wrapped by a KMS key (never stored in the clear), under an
    id (``dk-…``) that credentials record in ``encryption_key_id`` as they record a local key's id."""

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kms_key_id: Mapped[str] = mapped_column(String(2048))  # the KMS key that wrapped it (an ARN as KMS returns it)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The KMS encryption context as sent to GenerateDataKey (JSON): its id and creation time, which KMS checks at
    # every Decrypt, so neither can be changed here. NULL: made before migration 0012; such a key never encrypts.
    encryption_context: Mapped[str | None] = mapped_column(Text, nullable=True)


class SlackInstallation(Base):
    """One workspace's (or one Enterprise org's) installation through OAuth. Its tokens are sealed by the key
    ring, each bound to this row's id and its key id; a deleted token (uninstall, revocation) leaves the row's
    facts for `installations list` until reinstall."""

    __tablename__ = "slack_installations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="")  # "" for an org-wide install
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    team_name: Mapped[str] = mapped_column(String(200), default="")
    app_id: Mapped[str] = mapped_column(String(32), default="")
    bot_id: Mapped[str] = mapped_column(String(32), default="")
    bot_user_id: Mapped[str] = mapped_column(String(32), default="")
    bot_scopes: Mapped[str] = mapped_column(Text, default="")
    installer_user_id: Mapped[str] = mapped_column(String(32), default="")
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    encrypted_bot_token: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    bot_token_key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    encrypted_refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    refresh_token_key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Bumped by every save: a refresh stores its tokens only over the version it read (no lost newest token).
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set by the instance that claimed the token's refresh, cleared by the save that follows (or its failure):
    # while it is recent, no other instance spends the single-use refresh token too.
    refresh_claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What the tokens' associated data covers: 1 the row's id and purpose (sealed before migration 0012, re-sealed
    # by the next start), 2 also its enterprise, team and org-wide flag, so a relabelled row does not decrypt.
    token_binding: Mapped[int] = mapped_column(Integer, default=2, server_default="1")

    __table_args__ = (Index("uq_slack_installations_workspace", "enterprise_id", "team_id", unique=True),)


class WorkspaceSetting(Base):
    """One setting saved by one workspace (a team, T…) or by an Enterprise org (E…) for its teams: one row per
    setting, so saves of different settings never meet, and a version per row that a save updates only over
    the version it read (bot.credentials.workspace_settings_save). ``value`` is JSON; NULL once a saved value is
    cleared (the row keeps its version, so a stale save is still seen as one)."""

    __tablename__ = "workspace_settings"

    scope_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # T… or E…
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The team's org when it was saved from an org's workspace ("" for none, or when scope_id is the org itself):
    # `credentials purge --workspace E…` removes the org's teams' settings too.
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")

    __table_args__ = (Index("ix_workspace_settings_enterprise", "enterprise_id"),)


class OAuthState(Base):
    """A state used at /slack/oauth_redirect, by its nonce, kept until the state expires: each signed state
    (bot.slack.oauth.signed_state) is good once, on any instance. /slack/install writes nothing here."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccessToken(Base):
    """A token an integration reads credentials with (bot.credentials.access_tokens): only its SHA-256 is kept.
    A revoked or expired token keeps its row, for the audit trail's names and `tokens list`."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # tok_ and 16 hex digits: safe to show and log
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the whole cbt_… token
    name: Mapped[str] = mapped_column(String(80))
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="")
    allow_from: Mapped[str] = mapped_column(Text, default="")  # CIDRs, one per line; "" for anywhere
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_from: Mapped[str | None] = mapped_column(String(45), nullable=True)  # an IPv6 address at most


class AccessTokenScope(Base):
    """One credential a token may read, and when it last read it. No foreign key to the credential: a deleted
    credential stays in its tokens' scope (they get 404 for it, not another credential that takes its id)."""

    __tablename__ = "access_token_scopes"

    token_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("access_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    credential_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_access_token_scopes_credential", "credential_id"),)
