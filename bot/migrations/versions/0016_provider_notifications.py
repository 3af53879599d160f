"""Paddle's notifications: each key's record id, status time, exposure and permissions; the notifications seen

What a notification names is the key's record id (apikey_…); key_status_at is when the event that set the status
happened (an older one never overwrites it); provider_notifications holds the ids already accepted, so each is
applied once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.add_column(sa.Column("key_record_id", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("key_status_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("key_exposed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("key_permissions", sa.Text(), nullable=True))
    op.create_index("ix_credentials_key_record_id", "credentials", ["key_record_id"])
    op.create_table(
        "provider_notifications",
        sa.Column("notification_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(60), nullable=False),
        sa.PrimaryKeyConstraint("notification_id"),
    )
    op.create_index("ix_provider_notifications_received_at", "provider_notifications", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_provider_notifications_received_at", table_name="provider_notifications")
    op.drop_table("provider_notifications")
    op.drop_index("ix_credentials_key_record_id", table_name="credentials")
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.drop_column("key_permissions")
        batch_op.drop_column("key_exposed_at")
        batch_op.drop_column("key_status_at")
        batch_op.drop_column("key_record_id")
