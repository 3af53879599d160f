"""Each workspace's own settings (notification and board channels, who may manage and view, the reminder lead)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_settings",
        sa.Column("scope_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "name"),
    )
    op.create_index("ix_workspace_settings_enterprise", "workspace_settings", ["enterprise_id"])


def downgrade() -> None:
    op.drop_index("ix_workspace_settings_enterprise", table_name="workspace_settings")
    op.drop_table("workspace_settings")
