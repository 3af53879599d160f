"""the rest of a credential's life: last verification, key expiry, reminders, the board message

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_verification", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("key_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("key_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("key_replaced_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_credentials_workspace_destination",
            ["enterprise_id", "team_id", "destination", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_credentials_key_expires_at", ["key_expires_at"], unique=False)
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_reminders_claim", "reminders", ["credential_id", "kind", "expires_at"], unique=True)
    op.create_table(
        "board_messages",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id"),
    )


def downgrade() -> None:
    op.drop_table("board_messages")
    op.drop_index("uq_reminders_claim", table_name="reminders")
    op.drop_table("reminders")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_credentials_key_expires_at")
        batch_op.drop_index("ix_credentials_workspace_destination")
        batch_op.drop_column("key_replaced_at")
        batch_op.drop_column("key_status")
        batch_op.drop_column("key_expires_at")
        batch_op.drop_column("last_verification")
        batch_op.drop_column("last_verified_at")
