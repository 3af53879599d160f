"""The schema, as typed SQLAlchemy 2.0 models. Migrations are generated from these."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import DateTime, Index, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


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

    __table_args__ = (
        # The uniqueness rule itself: concurrent creators race on this index, not on a check-then-insert.
        Index("uq_credentials_workspace_name", "enterprise_id", "team_id", "name_key", unique=True),
        # /list-credentials: a workspace's credentials, newest first, keyset-paged by (created_at, id).
        Index("ix_credentials_workspace_created_id", "enterprise_id", "team_id", "created_at", "id"),
        Index("ix_credentials_encryption_key_id", "encryption_key_id"),
    )


class AuditEvent(Base):
    """Append-only record of who did what. Never holds a secret."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="")
    credential_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_credential", "credential_id"),
    )
