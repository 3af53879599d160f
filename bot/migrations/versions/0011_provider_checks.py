"""provider checks claimed in the database: each person's allowance, one check per credential, for every instance

Security issue 21, finding 6.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_checks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_provider_checks_person", "provider_checks", ["provider", "enterprise_id", "team_id", "actor", "started_at"]
    )
    op.create_index("ix_provider_checks_subject", "provider_checks", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_provider_checks_subject", table_name="provider_checks")
    op.drop_index("ix_provider_checks_person", table_name="provider_checks")
    op.drop_table("provider_checks")
