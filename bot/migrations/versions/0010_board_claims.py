"""The board's edit claim: its message is edited with no database lock held across the Slack call

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("board_messages") as batch:
        batch.add_column(sa.Column("wanted", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("shown", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("editor", sa.String(32), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("board_messages") as batch:
        for column in ("claimed_until", "editor", "shown", "wanted"):
            batch.drop_column(column)
