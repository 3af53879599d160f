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
