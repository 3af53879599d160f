"""Engines, sessions and migrations for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.infra.files import private_dir, touch_private

MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine tuned for concurrent requests.

    SQLite: WAL so readers never block the writer, and a busy timeout so
    writers queue instead of failing with "database is locked".
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_dir(Path(parsed.database).parent)
            touch_private(Path(parsed.database))  # SQLite gives -wal and -shm the database file's mode
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800)


def count_round_trips(engine: Engine, count: Callable[[str], None]) -> None:
    """Call ``count(kind)`` for each exchange with the database server: "statement" (every execute, the ones
    the ORM makes included), "begin", "commit", "rollback" (SQLAlchemy's; on PostgreSQL psycopg sends BEGIN
    with the transaction's first statement as its own exchange), "ping" (a liveness check before a pooled
    connection is used) and "connect" (a new connection: several exchanges, counted once). On SQLite nothing
    leaves the process, but the counts still say how much work a request asks of the database."""
    event.listen(engine, "before_cursor_execute", lambda *_args: count("statement"))
    event.listen(engine, "begin", lambda _conn: count("begin"))
    event.listen(engine, "commit", lambda _conn: count("commit"))
    event.listen(engine, "rollback", lambda _conn: count("rollback"))
    event.listen(engine, "connect", lambda *_args: count("connect"))
    if engine.pool._pre_ping:  # SQLAlchemy's own pre-ping sends no event: one ping per checkout
        event.listen(engine, "checkout", lambda *_args: count("ping"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def check_database(engine: Engine) -> None:
    """Raises if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _sqlite_migration_lock(database: str | None) -> Iterator[None]:
    """An exclusive file lock beside the database file: one migrating process at a time on this host."""
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    touch_private(lock_path)
    with open(lock_path, "r+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(url: str) -> None:
    """Apply every migration (idempotent), one process at a time.

    Several instances starting at once on an empty database would otherwise race to create the same tables.
    PostgreSQL: a transaction-scoped advisory lock keyed on the schema, taken in the transaction that migrates
    (its DDL is transactional, so a waiting instance then finds the schema at head). SQLite: a file lock.
    """
    from alembic import command

    engine = create_db_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with _sqlite_migration_lock(make_url(url).database if sqlite else None), engine.begin() as conn:
            if not sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('credbot-migrations:' || current_schema()))"))
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None for PostgreSQL or an in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def describe(url: str) -> str:
    """The database for a message: the SQLite file, or the PostgreSQL URL without its password."""
    path = sqlite_file(url)
    return str(path) if path else make_url(url).render_as_string(hide_password=True)


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the migration the database is at, None if it has none; the newest migration of this version)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False))).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head
