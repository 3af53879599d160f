"""What Paddle's record of each key says beyond status and expiry: last used, rotatable, when it was last read

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.add_column(sa.Column("key_last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("key_rotatable", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("key_looked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch_op:
        batch_op.drop_column("key_looked_at")
        batch_op.drop_column("key_rotatable")
        batch_op.drop_column("key_last_used_at")
