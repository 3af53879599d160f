"""trust outside the database: data keys' KMS context, key checks' retirement, installation tokens' binding

data_keys.encryption_context is the KMS encryption context as sent (its creation time bound in); key_checks.retired_at
marks a key id nothing is stored under any more; slack_installations.token_binding says which associated data its
tokens are sealed with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_keys") as batch:
        batch.add_column(sa.Column("encryption_context", sa.Text(), nullable=True))  # NULL: made before 0012
    with op.batch_alter_table("key_checks") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("slack_installations") as batch:
        # 1: tokens bound to the row's id and purpose (before 0012); 2: also to its enterprise, team and org-wide flag
        batch.add_column(sa.Column("token_binding", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("slack_installations") as batch:
        batch.drop_column("token_binding")
    with op.batch_alter_table("key_checks") as batch:
        batch.drop_column("retired_at")
    with op.batch_alter_table("data_keys") as batch:
        batch.drop_column("encryption_context")
