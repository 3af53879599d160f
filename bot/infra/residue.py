"""No residue: after a ciphertext is replaced or deleted, no copy of the old one is left readable in the
database's files (docs/decisions/residue.md has the measurements behind the choices).

PostgreSQL never overwrites a row: an UPDATE or DELETE leaves the old version in the table's file until it is
vacuumed, and a plain VACUUM only marks its space free, the bytes stay in the page until something happens to be
written over them. ``VACUUM FULL`` writes the table into a new file and truncates the old one: the old versions
are gone from the table's files when it returns. It holds an exclusive lock on the table while it copies (about
70 ms for 10,000 credentials); ``lock_timeout`` keeps it from queueing every request behind a long transaction.
It can keep an old version that some open transaction may still read, so it first waits until no transaction
(nor replication slot) older than the change is left.

SQLite: ``secure_delete`` (set on every connection by bot.infra.db) zeroes deleted content in the pages; the
old pages are then still in the write-ahead log (and the database file until a checkpoint), so a
``wal_checkpoint(TRUNCATE)`` copies the pages into the file and empties the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from bot.infra.db import SQLITE_BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)

# The tables whose rows hold ciphertext: only these are ever scrubbed (their names go into VACUUM unquoted).
CIPHERTEXT_TABLES = ("credentials", "slack_installations", "data_keys")
LOCK_TIMEOUT_MS = 2_000  # one attempt at the exclusive lock; then requests run again and the next attempt waits
POLL_SECONDS = 0.1
CHECKPOINT_BUSY_MS = 100  # how long one checkpoint attempt waits for readers (holding the write lock meanwhile)

_NEXT_XID = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")
# Transactions in this database, and replication slots, that may still read a row version the change replaced:
# their snapshot's oldest transaction, or their own transaction id (a writer between statements has no snapshot
# but still holds the horizon back), precedes every transaction that had committed when the scrub began. A lazy
# (auto)vacuum holds nothing back; an autovacuum worker's ANALYZE does.
_HOLDERS = text(
    """
    SELECT 'transaction ' || pid || ' (open since ' || to_char(xact_start, 'HH24:MI:SS') || ')'
      FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND (age(backend_xmin) > age(CAST(:next AS xid)) OR age(backend_xid) > age(CAST(:next AS xid)))
       AND (backend_type <> 'autovacuum worker' OR query NOT LIKE 'autovacuum: VACUUM %' OR query LIKE '%ANALYZE%')
    UNION ALL
    SELECT 'replication slot ' || slot_name FROM pg_replication_slots
     WHERE age(xmin) > age(CAST(:next AS xid))
    """
)
# VACUUM skips, with only a warning, a table its user may not vacuum (owner or superuser, PostgreSQL 15).
_MAY_VACUUM = text(
    "SELECT pg_has_role(current_user, relowner, 'USAGE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = "
    "current_user) FROM pg_class WHERE oid = CAST(:table AS regclass)"
)


class ResidueLeft(Exception):
    """Old ciphertexts may still be readable in the database's files; the message says what holds them."""


def scrub(engine: Engine, tables: tuple[str, ...] | list[str] | set[str], *, wait: float = 30.0) -> float:
    """Make the replaced and deleted row versions of ``tables`` unreadable in the database's files; returns the
    seconds it took. Raises ResidueLeft when it could not within ``wait`` seconds (what is left is named)."""
    unknown = set(tables) - set(CIPHERTEXT_TABLES)
    if unknown:
        raise ValueError(f"not a table of ciphertexts: {sorted(unknown)}")
    started = time.monotonic()
    deadline = started + wait
    if engine.dialect.name == "sqlite":
        _checkpoint(engine, deadline)
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in sorted(set(tables)):
                _rewrite(connection, table, deadline)
    return time.monotonic() - started


def _checkpoint(engine: Engine, deadline: float) -> None:
    """Every page into the database file, the write-ahead log emptied (readers must let go of old snapshots)."""
    while True:
        with engine.connect() as connection:
            # While a TRUNCATE checkpoint waits for readers it holds the write lock: wait briefly per attempt, so a
            # long reader stalls the bot's writers for a moment between attempts, not a whole busy timeout.
            connection.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
            try:
                busy, _log_pages, _moved = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if not busy:
            return
        if time.monotonic() >= deadline:
            raise ResidueLeft("SQLite's write-ahead log could not be emptied: readers kept it busy")
        time.sleep(POLL_SECONDS)


def _wait_for_horizon(connection: Connection, deadline: float) -> None:
    next_xid = connection.execute(_NEXT_XID).scalar_one()
    while True:
        holders = list(connection.execute(_HOLDERS, {"next": next_xid}).scalars())
        if not holders:
            return
        if time.monotonic() >= deadline:
            raise ResidueLeft(f"old row versions are still visible to {', '.join(holders[:3])}")
        time.sleep(POLL_SECONDS)


def _rewrite(connection: Connection, table: str, deadline: float) -> None:
    """VACUUM FULL once no transaction can still read an old row version (it would copy such a version whole)."""
    _wait_for_horizon(connection, deadline)
    _vacuum_full(connection, table, deadline)


def _vacuum_full(connection: Connection, table: str, deadline: float) -> None:
    if not connection.execute(_MAY_VACUUM, {"table": table}).scalar_one():
        raise ResidueLeft(f"the database user may not VACUUM {table} (it must own the table)")
    connection.exec_driver_sql(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    try:
        while True:
            try:
                connection.exec_driver_sql(f"VACUUM FULL {table}")  # a name from CIPHERTEXT_TABLES
                return
            except OperationalError as error:
                if getattr(error.orig, "sqlstate", None) != "55P03":  # not lock_not_available (lock_timeout)
                    raise
                if time.monotonic() >= deadline:
                    raise ResidueLeft(f"VACUUM FULL {table} could not take its lock: the table stayed busy") from None
    finally:
        connection.exec_driver_sql("RESET lock_timeout")


class Scrubber:
    """Scrubs after changes, off the request path: ``left(table)`` asks for a scrub of that table, run on
    ``submit`` (an executor's, one worker); requests that come while one runs are served by one more run."""

    def __init__(self, engine: Engine, submit: Callable[..., object], *, wait: float = 30.0) -> None:
        self.engine, self.submit, self.wait = engine, submit, wait
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._queued = False

    def left(self, table: str) -> None:
        with self._lock:
            self._pending.add(table)
            if self._queued:
                return
            self._queued = True
        self.submit(self._run)

    def _run(self) -> None:
        with self._lock:
            tables, self._pending, self._queued = self._pending, set(), False
        if not tables:
            return
        try:
            seconds = scrub(self.engine, tables, wait=self.wait)
        except Exception as error:  # ResidueLeft, the database, anything: never lost in the pool's future
            with self._lock:
                self._pending |= tables  # tried again with the next change; `credbot db scrub` does it now
            log.warning(
                "replaced or deleted ciphertexts of %s may still be readable in the database's files: %s; "
                "run `credbot db scrub`",
                ", ".join(sorted(tables)),
                error if isinstance(error, ResidueLeft) else type(error).__name__,
            )
            return
        log.info("scrubbed %s of old ciphertexts in %.0f ms", ", ".join(sorted(tables)), seconds * 1000)
