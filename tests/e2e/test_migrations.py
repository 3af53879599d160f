"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from bot.credentials.models import Base
from bot.infra.db import upgrade


def test_migrations_match_the_models_and_run_twice(database):
    url = database.new_url("migrations")
    upgrade(url)
    upgrade(url)  # idempotent: every instance runs it at start-up
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def test_names_that_already_look_the_same_survive_the_re_keying_migration(database):
    """0006 re-keys names by their confusable skeleton; two rows that already look alike must not stop it."""
    from alembic import command
    from sqlalchemy import text

    from bot.infra.db import alembic_config

    url = database.new_url("rekey")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, "0005")
            for row_id, name in (
                ("00000000-0000-0000-0000-000000000001", "Alpha"),
                ("00000000-0000-0000-0000-000000000002", "\u0410lpha"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO credentials (id, enterprise_id, team_id, name, name_key, entity_type, "
                        "destination, encrypted_key, encryption_key_id, key_hint, created_by, created_at) "
                        "VALUES (:id, '', 'T1', "
                        ":name, :old_key, 'bill', 'paddle', :blob, 'k', 'abcd', 'U1', :at)"
                    ),
                    {
                        "id": row_id,
                        "name": name,
                        "old_key": name.casefold(),
                        "blob": b"x",
                        "at": f"2026-01-0{row_id[-1]} 00:00:00+00:00",
                    },
                )
        upgrade(url)
        with engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT name, name_key FROM credentials")).all())
        assert keys["Alpha"] == "alpha"
        assert keys["\u0410lpha"] == "alpha#00000000-0000-0000-0000-000000000002"
    finally:
        engine.dispose()
