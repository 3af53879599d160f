"""Engines, sessions and migrations for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import fcntl
import functools
import os
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Callable, Iterator
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.infra.files import private_dir, touch_private

MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5  # DATABASE_CONNECT_TIMEOUT_SECONDS


def create_db_engine(
    url: str, *, pool_size: int = 10, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_SECONDS, read_only: bool = False
) -> Engine:
    """An engine tuned for concurrent requests.

    SQLite: WAL so readers never block the writer, and a busy timeout so writers queue instead of failing with
    "database is locked"; ``secure_delete``, so that deleted or replaced content is zeroed rather than left in
    free space (bot.infra.residue). ``read_only`` (SQLite): the file is opened read-only and nothing is created,
    so a read-only copy can be inspected. PostgreSQL: connecting gives up after ``connect_timeout`` seconds (a server
    that accepts and never answers would otherwise hang for ever); a pooled connection the server dropped is found
    by SQLAlchemy's ``pool_pre_ping`` at checkout and replaced (a select() on the idle socket instead of the ping
    was worth under 5 % of the server CPU per wizard: docs/decisions/library-internals.md).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, read_only)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout},
    )
    _count_as_pinged(engine)
    return engine


def _sqlite_engine(url: str, read_only: bool) -> Engine:
    database = make_url(url).database or ""
    on_disk = database not in ("", ":memory:")
    if read_only and on_disk:
        url = read_only_url(Path(database))
    elif on_disk:
        private_dir(Path(database).parent)
        touch_private(Path(database))  # SQLite gives -wal and -shm the database file's mode
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        if not (read_only and on_disk):  # the migrations made it WAL already; a reader must not write the header
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # deleted content zeroed in the pages (bot.infra.residue)
        cursor.close()

    return engine


def read_only_url(file: Path) -> str:
    """SQLite's read-only URI for ``file``; ``immutable`` when the file or its folder cannot be written (a copy,
    a read-only mount): SQLite then reads it without the -wal and -shm files it could not create there."""
    query = "mode=ro"
    if unwritable(file):
        query += "&immutable=1"
    return f"sqlite:///file:{quote(str(file.resolve()))}?{query}&uri=true"


def unwritable(file: Path) -> str | None:
    """What stops writing the database ``file`` (its folder or itself read-only), or None."""
    if not os.access(file.parent, os.W_OK):
        return f"the directory {file.parent} is read-only"
    if file.exists() and not os.access(file, os.W_OK):
        return f"the database file {file} is read-only"
    return None


def _count_as_pinged(engine: Engine) -> None:
    """With ``pool_pre_ping`` SQLAlchemy pings every checkout of a connection that was used before (not a fresh
    one): marked for count_round_trips."""

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection, record) -> None:
        record.info["used"] = True

    @event.listens_for(engine, "checkout", insert=True)  # before count_round_trips' own checkout listener
    def _pinged(_dbapi_connection, record, _proxy) -> None:
        if record.info.get("used"):
            record.info["pinged"] = True


def count_round_trips(engine: Engine, count: Callable[[str], None]) -> None:
    """Call ``count(kind)`` for each exchange with the database server: "statement" (every execute, the ones
    the ORM makes included), "begin", "commit", "rollback" (SQLAlchemy's; on PostgreSQL psycopg sends BEGIN
    with the transaction's first statement as its own exchange), "ping" (a liveness check before a pooled
    connection is used) and "connect" (a new connection: several exchanges, counted once). On SQLite nothing
    leaves the process, but the counts still say how much work a request asks of the database."""
    event.listen(engine, "before_cursor_execute", lambda *_args: count("statement"))
    for kind in ("begin", "commit", "rollback"):
        event.listen(engine, kind, _transaction_counter(kind, count))
    event.listen(engine, "connect", lambda *_args: count("connect"))

    def pinged(_dbapi_connection, record, _proxy) -> None:
        if record.info.pop("pinged", False):
            count("ping")

    event.listen(engine, "checkout", pinged)


def _transaction_counter(kind: str, count: Callable[[str], None]) -> Callable[..., None]:
    def counter(connection, *_args) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":  # else nothing is sent
            count(kind)

    return counter


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for work that needs no transaction around it: reads (a name check, a page of the list) and
    one-statement writes (an audit event on its own).

    On PostgreSQL they run in autocommit: each statement is its own exchange, without the BEGIN before it and
    the ROLLBACK after (two of a name check's three round trips). Statements of one session then see separate
    snapshots, so a read that needs one snapshot must be one statement (as a list page and its capped count are).
    SQLite reads stay as they were: nothing leaves the process there.
    """
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
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


def upgrade(url: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_SECONDS) -> None:
    """Apply every migration (idempotent), one process at a time.

    Several instances starting at once on an empty database would otherwise race to create the same tables.
    PostgreSQL: a transaction-scoped advisory lock keyed on the schema, taken in the transaction that migrates
    (its DDL is transactional, so a waiting instance then finds the schema at head). SQLite: a file lock, taken
    before the first connection and held until the last is closed: ``PRAGMA journal_mode=WAL`` (each connection's
    first statement) on a new, empty file answers "database is locked" at once, without the busy timeout, when
    another process is switching it too (6 processes at once on 200 new files: 3 failed).
    A database already at head (every restart) is only read: Alembic's environment and its migration run are
    skipped (2/3 of a start's database work).
    """
    from alembic import command

    sqlite = make_url(url).get_backend_name() == "sqlite"
    with _sqlite_migration_lock(make_url(url).database if sqlite else None):
        engine = create_db_engine(url, connect_timeout=connect_timeout)
        try:
            if current_revision(engine) == head_revision():  # a migration's last step moves alembic_version to head
                return
            with engine.begin() as conn:
                if not sqlite:
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext('credbot-migrations:' || current_schema()))")
                    )
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
    head = head_revision()
    return current_revision(engine), head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: no Credbot tables)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def head_revision() -> str:
    """The newest migration of this version: read once per process (Alembic loads every revision file to find it;
    every command and every start asks)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:  # the package ships its migrations
        raise RuntimeError("no migrations found in bot/migrations")
    return head
