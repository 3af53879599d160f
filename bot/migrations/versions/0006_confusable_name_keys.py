"""name keys become confusable skeletons (UTS #39): names that look the same collide on the unique index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Existing rows are re-keyed. Two rows that already look the same keep their names; the later one's key gets
its id appended so the migration never fails on data it cannot change (rename one of them to tell them apart).
"""

from alembic import op
import sqlalchemy as sa

from bot.credentials.names import name_key

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

credentials = sa.table(
    "credentials",
    sa.column("id", sa.String),
    sa.column("enterprise_id", sa.String),
    sa.column("team_id", sa.String),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(credentials.c.id, credentials.c.enterprise_id, credentials.c.team_id, credentials.c.name).order_by(
            credentials.c.created_at, credentials.c.id
        )
    ).all()
    taken: set[tuple[str, str, str]] = set()
    keys = {}
    for row in rows:
        key = name_key(row.name)
        if (row.enterprise_id, row.team_id, key) in taken:
            key = f"{key}#{row.id}"
        taken.add((row.enterprise_id, row.team_id, key))
        keys[row.id] = key
    # Two passes, so that no intermediate state collides on the unique index.
    for row_id in keys:
        conn.execute(credentials.update().where(credentials.c.id == row_id).values(name_key=f"#migrating#{row_id}"))
    for row_id, key in keys.items():
        conn.execute(credentials.update().where(credentials.c.id == row_id).values(name_key=key))


def downgrade() -> None:
    import unicodedata

    conn = op.get_bind()
    for row in conn.execute(sa.select(credentials.c.id, credentials.c.name)).all():
        key = unicodedata.normalize("NFKC", row.name).casefold()
        conn.execute(credentials.update().where(credentials.c.id == row.id).values(name_key=key))
