"""keyset paging index: (workspace, created_at, id)

The list pages by (created_at, id) < (cursor); with id in the index both
SQLite and PostgreSQL answer a page from the index alone, however deep.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_credentials_workspace_created_id",
        "credentials",
        ["enterprise_id", "team_id", "created_at", "id"],
        unique=False,
    )
    op.drop_index("ix_credentials_workspace_created", table_name="credentials")


def downgrade() -> None:
    op.create_index(
        "ix_credentials_workspace_created", "credentials", ["enterprise_id", "team_id", "created_at"], unique=False
    )
    op.drop_index("ix_credentials_workspace_created_id", table_name="credentials")
