"""Background jobs claimed per workspace (reminders, the board), so instances split a pass instead of repeating it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_jobs",
        sa.Column("job", sa.String(40), nullable=False),
        sa.Column("scope_id", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job", "scope_id"),
    )


def downgrade() -> None:
    op.drop_table("workspace_jobs")
