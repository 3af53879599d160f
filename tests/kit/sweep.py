"""Where a secret must not be: every row of every table, the database's own files, and every call the fake Slack
was asked. For tests that check a piece of text (a key typed where it does not belong) went nowhere."""

from __future__ import annotations

import json
from pathlib import Path

from tests.kit.bots import BotBase
from tests.kit.fakes import FakeSlack


def database_text(bot: BotBase) -> str:
    """Every value of every table of ``bot``'s database (SQLite or its PostgreSQL schema), as one text."""
    from sqlalchemy import MetaData, select

    tables = MetaData()
    tables.reflect(bind=bot.engine)
    out: list[str] = []
    with bot.engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)):
                out.extend(_text(value) for value in row)
    return "\n".join(out)


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    return str(value)


def database_file_bytes(bot: BotBase, since: float) -> bytes:
    """The database's files as they are on disk: SQLite's file with its WAL and journal; on PostgreSQL, after a
    CHECKPOINT, the heap, TOAST and index files of every relation in the bot's schema, and every WAL segment
    written since ``since`` (a time.time()). Needs a superuser on PostgreSQL (the tests' server has one)."""
    if bot.database_kind == "sqlite":
        path = Path(bot.database_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
    from sqlalchemy import text

    files = text(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND pg_relation_filepath(c.oid) IS NOT NULL "
        "UNION SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.reltoastrelid <> 0"
    )
    segments = text("SELECT 'pg_wal/' || name FROM pg_ls_waldir() WHERE modification >= to_timestamp(:since)")
    with bot.engine.connect() as connection:
        connection.execute(text("CHECKPOINT"))
        paths = [row[0] for row in connection.execute(files)]
        paths += [row[0] for row in connection.execute(segments, {"since": since - 1})]
        # missing_ok: a segment recycled meanwhile (the two-argument form is PostgreSQL 16's)
        read = text("SELECT pg_read_binary_file(CAST(:path AS text), 0, (pg_stat_file(:path, true)).size, true)")
        return b"".join(bytes(connection.execute(read, {"path": p}).scalar() or b"") for p in paths)


def slack_text(slack: FakeSlack) -> str:
    """Every call the fake Slack recorded (Web API methods and response_url posts): parameters and raw bodies."""
    return "\n".join(
        f"{call.method} {json.dumps(call.params, ensure_ascii=False, default=str)} "
        f"{call.body.decode('utf-8', 'replace')}"
        for call in slack.calls
    )
