"""A partial index on the audit trail's secret reads by actor and time: the read API counts a token's reads of
the last minute on every read, so its rate holds across every instance sharing the database

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

READS = sa.text("action = 'credential.read'")


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_token_reads", "audit_events", ["actor", "at"], sqlite_where=READS, postgresql_where=READS
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_token_reads", table_name="audit_events")
