"""The databases every database-touching test runs on: embedded SQLite and PostgreSQL.

PostgreSQL comes from ``TEST_DATABASE_URL`` (default: the CI machine's server,
127.0.0.1:5432, trust auth, database ``test``). Each bot a test starts gets a
schema of its own (``search_path`` in the URL), dropped at the end of the run.
When PostgreSQL cannot be reached its tests are skipped with a note on how to
enable them, except under ``CI=true``, where that is a failure.

A bot's database (``provision``) is handed out already migrated, as `db upgrade`
leaves it, from a template migrated once per test process by the migrations
themselves: SQLite copies the template's file, PostgreSQL replays in a new schema
the statements the migrations sent (migrating each one again was 0.2 of the 0.45
CPU-seconds of a `serve` start). What tests migrating, or starting on a database
without tables, asks for one (``provision(..., migrated=False)``, ``new_url``,
``shared``, or a bot without ``provision``).
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EMBEDDED = Path("data") / "credbot.db"  # under a bot's workdir: its CREDBOT_DATA_DIR (tests.kit.bots) and file
# children first
TABLES = (
    "access_token_scopes",
    "access_tokens",
    "audit_events",
    "reminders",
    "board_messages",
    "home_viewers",
    "provider_checks",
    "workspace_settings",
    "provider_notifications",
    "workspace_jobs",
    "credentials",
)


def postgres_base_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)
    return url.replace("postgres://", "postgresql+psycopg://", 1).replace("postgresql://", "postgresql+psycopg://", 1)


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or None when it can."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def test_key(key_id: str = "test") -> str:
    return f"{key_id}:" + base64.urlsafe_b64encode(os.urandom(32)).decode()


test_key.__test__ = False  # not a pytest test


class TestDatabase:
    """Hands out isolated databases of one kind to bots and tests."""

    __test__ = False

    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.root = root
        self.base_url = postgres_base_url() if kind == "postgresql" else ""
        self._schemas: list[str] = []
        self._template: Path | list[tuple[str, Any, bool]] | None = None

    def provision(self, workdir: Path, *, migrated: bool = True) -> dict[str, str]:
        """Settings for a bot with a new database of this kind that holds nothing: at the newest migration, or
        with ``migrated=False`` without a table (what a first start creates from).

        SQLite: nothing, the embedded default in the bot's data directory. PostgreSQL: a new schema and an
        encryption key (required off SQLite).
        """
        if self.kind == "sqlite":
            if migrated:
                self._copy_template(workdir / EMBEDDED)
            return {}
        url = self.new_url()
        if migrated:
            self._replay_template(url)
        return {"DATABASE_URL": url, "CREDBOT_ENCRYPTION_KEYS": test_key()}

    def _copy_template(self, file: Path) -> None:
        """The template's file as the bot's database, in a private data directory, as `db upgrade` makes them."""
        if self._template is None:
            from bot.infra.db import upgrade

            template = self.root / "template.db"
            upgrade(f"sqlite:///{template}")  # its engine is gone: the WAL is checkpointed into the file
            self._template = template
        assert isinstance(self._template, Path)
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(self._template, file)
        file.chmod(0o600)

    def _replay_template(self, url: str) -> None:
        """The statements the migrations sent to a template schema, sent again on ``url``'s schema."""
        if self._template is None:
            self._template = record_migrations(self.new_url("template"))
        assert isinstance(self._template, list)
        engine = create_engine(url)
        with engine.begin() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            for statement, parameters, many in self._template:
                (cursor.executemany if many else cursor.execute)(statement, parameters)
        engine.dispose()

    def shared(self, label: str = "shared") -> dict[str, str]:
        """Settings for several bots on one database: an explicit URL and one encryption key for all."""
        return {"DATABASE_URL": self.new_url(label), "CREDBOT_ENCRYPTION_KEYS": test_key()}

    def new_url(self, label: str = "") -> str:
        """A URL to a new, empty database (SQLite file or PostgreSQL schema)."""
        if self.kind == "sqlite":
            path = self.root / f"{label or 'db'}-{uuid.uuid4().hex[:8]}.db"
            return f"sqlite:///{path}"
        schema = f"credbot_t_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.base_url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self._schemas.append(schema)
        # application_name lets a test find (and cut) this database's connections in pg_stat_activity.
        url = make_url(self.base_url).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self._schemas:
            return
        engine = create_engine(self.base_url)
        with engine.begin() as conn:
            for schema in self._schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def record_migrations(url: str) -> list[tuple[str, Any, bool]]:
    """Migrate the empty database at ``url`` (bot.infra.db.upgrade) and return every statement it sent there, with
    its parameters (statements of other engines, such as an in-process bot's threads, are not recorded)."""
    from bot.infra.db import upgrade

    sent: list[tuple[str, Any, bool]] = []
    target = make_url(url)

    def record(conn, _cursor, statement, parameters, _context, executemany) -> None:
        if conn.engine.url == target:
            sent.append((statement, parameters, executemany))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        upgrade(url)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return sent


def database_url_of(env: dict[str, str]) -> str:
    """The database a bot with these settings uses (its embedded SQLite file by default)."""
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]
    return f"sqlite:///{Path(env['CREDBOT_DATA_DIR']) / 'credbot.db'}"


def clean(bot) -> None:
    """Empty every table of ``bot``'s database (the schema stays migrated), in one transaction on the engine the
    bot's tests already hold (a new engine per test cost a connection each time)."""
    with bot.engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
