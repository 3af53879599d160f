"""A refresh claim per Slack installation: two instances no longer both spend a single-use refresh token

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slack_installations") as batch:
        batch.add_column(sa.Column("refresh_claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_installations") as batch:
        batch.drop_column("refresh_claimed_at")
