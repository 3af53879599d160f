"""The audit actor is wide enough for an operating-system user and the sudo user beside it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL widens a varchar in place (no rewrite); SQLite's batch mode copies the table.
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("actor", existing_type=sa.String(32), type_=sa.String(100), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("actor", existing_type=sa.String(100), type_=sa.String(32), existing_nullable=False)
