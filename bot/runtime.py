"""The one way to open a deployment (settings, keys, database) for `serve`, the command line and bot.api.

Two ways in. :func:`open_existing` uses what is there and creates nothing (no data dir, no database file, no
table, no key); a database that is missing or behind is named with the command that prepares it.
:func:`upgrade_database` and :func:`prepare_for_serving` are the only ones that create, for `db upgrade` and
`serve`; a key file is generated only for a database that holds nothing a lost key file would have opened.

A failure a person can act on is :class:`CredbotUnavailable`: one line saying what is wrong and what to do.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Self, TypeVar, overload

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.vault import KeyRing, VaultError
from bot.infra import db
from bot.infra.files import UnsafePath, private_dir
from bot.infra.settings import Settings

if TYPE_CHECKING:
    from bot.credentials.service import CredentialService

log = logging.getLogger("bot.runtime")

PREPARE_HINT = "run `credbot db upgrade` (or start the bot with `credbot serve`) to prepare it"
EXIT_RUNTIME = 1  # the environment let us down: database unreachable or not migrated, unknown id, Slack away
EXIT_CONFIG = 2  # a setting, a file or an argument must change


class CredbotUnavailable(Exception):
    """Credbot's database or keys cannot be used as configured; ``str()`` is one line saying what to do.

    ``exit_code`` is 2 when a setting or a file must change (a key file to restore, a data dir to fix), else 1
    (a database that is missing, behind or unreachable). ``status`` is the HTTP status when the read API
    refused (bot.api over CREDBOT_URL; 0 when no answer came), else None."""

    def __init__(self, message: str, exit_code: int = EXIT_RUNTIME, *, status: int | None = None) -> None:
        super().__init__(message)
        self.exit_code, self.status = exit_code, status


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """A database that cannot be reached or refuses a statement, as one line naming it (never its password)."""
    try:
        yield
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()
        reason = cause[0] if cause else type(error).__name__
        if "timeout expired" in reason:  # psycopg's words for a server that accepted and never answered
            reason = f"no answer within {settings.database_connect_timeout} s (DATABASE_CONNECT_TIMEOUT_SECONDS)"
        raise CredbotUnavailable(
            f"the database at {db.describe(settings.database_url)} cannot be used: {reason}"
        ) from None


def key_file(settings: Settings) -> Path | None:
    """The embedded default's key file, when it is where the local keys come from."""
    from bot.keys.local_keys import KEY_FILE_NAME

    if settings.encryption_keys or settings.kms_key_id or not settings.database_is_default:
        return None
    return settings.data_dir / KEY_FILE_NAME


def key_ring_of(
    settings: Settings, *, create: bool, sessions: sessionmaker[Session], local_first: bool = False
) -> KeyRing:
    """The local key ring, or with CREDBOT_KMS_KEY_ID the envelope key ring (its data keys live in the database
    that ``sessions`` opens; the first one is made on first use: a data key, unlike a key file, needs no backup)."""
    from bot.keys.kms import DataKeyRefused, key_ring_for
    from bot.keys.local_keys import KeyFileMissing

    try:
        with database_errors(settings):
            return key_ring_for(settings, sessions, create=create, local_first=local_first)
    except DataKeyRefused as refused:
        report_refused_data_key(sessions, refused)
        raise CredbotUnavailable(f"encryption keys: {refused}", EXIT_CONFIG) from None
    except KeyFileMissing as missing:
        raise CredbotUnavailable(
            _key_file_missing(settings, sessions) or f"encryption keys: {missing}", EXIT_CONFIG
        ) from None
    except (VaultError, UnsafePath) as error:
        raise CredbotUnavailable(f"encryption keys: {error}", EXIT_CONFIG) from None
    except OSError as error:
        raise CredbotUnavailable(
            f"the data directory {settings.data_dir} (CREDBOT_DATA_DIR) cannot be used: {error.strerror or error}",
            EXIT_CONFIG,
        ) from None


def report_refused_data_key(sessions: sessionmaker[Session], refused: VaultError) -> None:
    """A data key the bot did not make under an allowed KMS key: one log line and an audit event (no key)."""
    from bot.credentials.audit import AuditLog
    from bot.credentials.types import Workspace

    log.error("refused a data key: %s", refused)
    data_key_id = getattr(refused, "data_key_id", "")
    AuditLog(sessions).record(Workspace(), "credbot", "data_key.refused", "refused", detail=f"{data_key_id}: {refused}")


def _key_file_missing(settings: Settings, sessions: sessionmaker[Session]) -> str | None:
    """The key file is gone: lost (restore it) when the database holds what it opened; None when it holds nothing."""
    from bot.keys.key_checks import encrypted_data

    held = encrypted_data(sessions)
    if not held:
        return None
    what = ", ".join(f"{count} {label}{'s' if count != 1 else ''}" for label, count in held.items())
    return (
        f"the key file {key_file(settings)} is missing, and the database at {db.describe(settings.database_url)} "
        f"holds data encrypted with it ({what}): restore the key file from your backup; a new key could "
        "never open what is stored"
    )


def missing_keys(key_ring: KeyRing, usage: dict[str, int]) -> str:
    """The stored key ids the key ring lacks, for a message ("'k1' (2 credentials)"); empty if none."""
    missing = {key_id: count for key_id, count in usage.items() if key_id not in key_ring.key_ids}
    return ", ".join(f"'{k}' ({n} credential{'s' if n != 1 else ''})" for k, n in sorted(missing.items()))


def restore_advice(settings: Settings, keys: str = "them") -> str:
    """What brings back keys the stored credentials use: the original key file, or the setting."""
    path = key_file(settings)
    if path is not None:
        return f"the key file {path} does not hold {keys} (it was replaced or lost): restore it from your backup"
    return f"add {keys} back to CREDBOT_ENCRYPTION_KEYS (after the primary key)"


def upgrade_database(settings: Settings) -> Path | None:
    """Apply the migrations (creating the data dir and database file if needed); returns the SQLite file when
    this call created it, so the command can say where."""
    file = db.sqlite_file(settings.database_url)
    created = file if file is not None and not file.exists() else None
    setting = "CREDBOT_DATA_DIR" if settings.database_is_default else "DATABASE_URL"
    try:
        if file is not None:
            private_dir(file.parent)
            problem = db.unwritable(file)
            if problem:
                raise CredbotUnavailable(
                    f"{problem} ({setting}): `db upgrade` and `serve` write the database and "
                    "its journal there; make it writable or choose another",
                    EXIT_CONFIG,
                )
        with database_errors(settings):
            db.upgrade(settings.database_url, connect_timeout=settings.database_connect_timeout)
    except UnsafePath as unsafe:
        raise CredbotUnavailable(f"{unsafe} ({setting})", EXIT_CONFIG) from None
    except OSError as error:  # SQLite only: the data dir or the files beside the database
        where = file.parent if file is not None else db.describe(settings.database_url)
        raise CredbotUnavailable(
            f"the directory {where} ({setting}) cannot be used: {error.strerror or error}", EXIT_CONFIG
        ) from None
    return created


def prepare_for_serving(settings: Settings) -> KeyRing:
    """What `serve` checks before taking traffic: the schema (migrated), the keys (a key file made only for a
    database that holds nothing encrypted), and that every stored credential's key is configured."""
    created = upgrade_database(settings)
    if created is not None:
        log.info("created the database at %s", created)
    with database_errors(settings):
        opened = open_existing(settings)
    try:
        with database_errors(settings):
            from bot.keys.key_checks import encrypted_data

            empty = not encrypted_data(opened.sessions)
        key_ring = opened.key_ring = key_ring_of(settings, create=empty, sessions=opened.sessions)
        missing = missing_keys(key_ring, opened.key_usage())
        if not missing:
            opened.confirm_key_checks()
            opened.reseal_legacy_installations()
    finally:
        opened.close()
    if missing:
        raise CredbotUnavailable(
            f"stored credentials use encryption keys that are not configured: {missing}; {restore_advice(settings)}",
            EXIT_CONFIG,
        )
    return key_ring


@overload
def open_existing(
    settings: Settings, *, keys: bool = False, key_ring: KeyRing | None = None, read_only: bool = False
) -> Opened: ...
@overload
def open_existing(
    settings: Settings,
    *,
    keys: bool = False,
    key_ring: KeyRing | None = None,
    read_only: bool = False,
    kind: type[_Opened],
) -> _Opened: ...
def open_existing(
    settings: Settings,
    *,
    keys: bool = False,
    key_ring: KeyRing | None = None,
    read_only: bool = False,
    kind: type[Opened] | None = None,
) -> Opened:
    """The database as it is (and, with ``keys``, the key ring), creating nothing; a missing or unmigrated
    database is a one-line failure naming `db upgrade`. ``read_only``: for commands that never write (a SQLite
    file is opened read-only, so a read-only copy can be inspected). ``kind``: a subclass of :class:`Opened`."""
    where = db.describe(settings.database_url)
    file = db.sqlite_file(settings.database_url)
    if file is not None and not file.is_file():
        raise CredbotUnavailable(f"there is no database at {where}: {PREPARE_HINT}")
    engine = db.create_db_engine(
        settings.database_url, connect_timeout=settings.database_connect_timeout, read_only=read_only
    )
    try:
        with database_errors(settings):
            current, head = db.schema_revisions(engine)
        if current != head:
            state = (
                "has no Credbot tables" if current is None else f"is at migration {current}, this version needs {head}"
            )
            raise CredbotUnavailable(f"the database at {where} {state}: {PREPARE_HINT}")
        sessions = db.session_factory(engine)
        if keys and key_ring is None:
            key_ring = key_ring_of(settings, create=False, sessions=sessions)
    except CredbotUnavailable:
        engine.dispose()
        raise
    return (kind or Opened)(settings, engine, sessions, key_ring)


@dataclass
class Opened:
    """An open database (and maybe the key ring)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    key_ring: KeyRing | None

    @property
    def ring(self) -> KeyRing:
        """The key ring, for what reads or writes ciphertext (opened with ``keys=True``)."""
        if self.key_ring is None:
            raise RuntimeError("opened without the key ring: open_existing(..., keys=True)")
        return self.key_ring

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def service(self) -> CredentialService:
        from bot import wiring

        return wiring.credential_service(self.settings, self.sessions, self.ring)

    def key_usage(self) -> dict[str, int]:
        from bot.credentials.queries import key_usage

        with database_errors(self.settings):
            return key_usage(self.sessions)

    def reseal_legacy_installations(self) -> None:
        """Installation tokens sealed before migration 0012 re-sealed bound to their workspace (read the old
        way this once); a row that does not decrypt is reported and audited, and gets no token."""
        from bot.slack.oauth.token_binding import reseal_legacy

        with database_errors(self.settings):
            reseal_legacy(self.sessions, self.ring)

    def confirm_key_checks(self) -> None:
        """Each configured key id's material is the one it was first used with (recorded on first use)."""
        from bot.keys.key_checks import confirm_key_checks

        with database_errors(self.settings):
            try:
                confirm_key_checks(self.sessions, self.ring)
            except VaultError as error:
                raise CredbotUnavailable(f"encryption keys: {error}", EXIT_CONFIG) from None


_Opened = TypeVar("_Opened", bound=Opened)
