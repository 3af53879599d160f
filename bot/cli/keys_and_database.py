"""The one place the command line opens settings, keys and the database, and the only CLI module that imports
the core (bot.credentials) and bot.infra.db: every command module works through what is here.

Two ways in. ``open_existing`` is for commands that use what is there: it creates nothing (no data dir, no
database file, no table, no key) and says which command prepares a database that is missing or behind.
``upgrade_database`` and ``prepare_for_serving`` are the only ones that create, for `db upgrade` and `serve`.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy.exc import SQLAlchemyError

from bot.cli.failures import EXIT_CONFIG, EXIT_RUNTIME, CommandFailed
from bot.credentials import catalog
from bot.credentials.errors import CredentialGone, KeyUnreadable
from bot.credentials.vault import KeyRing, VaultError
from bot.infra import db
from bot.infra.files import UnsafePath, private_dir
from bot.infra.settings import Settings, load_settings

# The catalog's destinations, for `--destination` (this module is the CLI's one way into the core).
DESTINATION_VALUES = tuple(d.value for d in catalog.DESTINATIONS)

log = logging.getLogger("bot.cli")

PREPARE_HINT = "run `credbot db upgrade` (or start the bot with `credbot serve`) to prepare it"


def command_settings(purpose: str) -> Settings:
    """The settings for a command (``serve``, ``db`` or ``keys``), with the same redacting logs as the bot."""
    from bot.infra.logs import configure_logging

    settings = load_settings(purpose=purpose)
    configure_logging(settings.log_level, settings.known_secrets(), settings.log_format)
    if purpose == "keys" and settings.log_level != "DEBUG":
        # Reading the schema's revision is not news: keep Alembic's "Context impl" lines for `db upgrade`/`serve`.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """A database that cannot be reached or refuses a statement, as one line naming it (never its password)."""
    try:
        yield
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise CommandFailed(f"the database at {db.describe(settings.database_url)} cannot be used: "
                            f"{cause[0] if cause else type(error).__name__}") from None


def key_ring_of(settings: Settings, *, create: bool, sessions=None, local_first: bool = False) -> KeyRing:
    """The local key ring, or with CREDBOT_KMS_KEY_ID the envelope key ring (its data keys live in the database
    that ``sessions`` opens; the first one is made on first use: a data key, unlike a key file, needs no backup)."""
    from bot.keys.kms import key_ring_for

    try:
        with database_errors(settings):
            return key_ring_for(settings, sessions, create=create, local_first=local_first)
    except (VaultError, UnsafePath) as error:
        raise CommandFailed(f"encryption keys: {error}", EXIT_CONFIG) from None
    except OSError as error:
        raise CommandFailed(f"the data directory {settings.data_dir} (CREDBOT_DATA_DIR) cannot be used: "
                            f"{error.strerror or error}", EXIT_CONFIG) from None


def new_key(key_id: str | None) -> str:
    """A fresh ``keyid:base64`` entry for CREDBOT_ENCRYPTION_KEYS; stored nowhere."""
    from bot.credentials.vault import generate_key

    return generate_key(key_id)


def missing_keys(key_ring: KeyRing, usage: dict[str, int]) -> str:
    """The stored key ids the key ring lacks, for a message ("'k1' (2 credentials)"); empty if none."""
    missing = {key_id: count for key_id, count in usage.items() if key_id not in key_ring.key_ids}
    return ", ".join(f"'{k}' ({n} credential{'s' if n != 1 else ''})" for k, n in sorted(missing.items()))


def parse_moment(text: str | None, option: str) -> datetime | None:
    """``--since``/``--now``: an ISO date/time or a span (7d, 24h); a usage error otherwise."""
    from bot.credentials.audit import parse_since

    if not text:
        return None
    try:
        return parse_since(text)
    except ValueError as error:
        raise CommandFailed(str(error).replace("--since", option), EXIT_CONFIG) from None


def upgrade_database(settings: Settings) -> Path | None:
    """Apply the migrations (creating the data dir and database file if needed); returns the SQLite file when
    this call created it, so the command can say where."""
    file = db.sqlite_file(settings.database_url)
    created = file if file is not None and not file.exists() else None
    if file is not None:
        setting = "CREDBOT_DATA_DIR" if settings.database_is_default else "DATABASE_URL"
        try:
            private_dir(file.parent)
        except UnsafePath as unsafe:
            raise CommandFailed(f"{unsafe} ({setting})", EXIT_CONFIG) from None
        except OSError as error:
            raise CommandFailed(f"the directory {file.parent} ({setting}) cannot be used: "
                                f"{error.strerror or error}", EXIT_CONFIG) from None
    with database_errors(settings):
        db.upgrade(settings.database_url)
    return created


def prepare_for_serving(settings: Settings) -> KeyRing:
    """What `serve` checks before taking traffic: the schema (migrated), the keys (the key file made on a first
    start), and that every stored credential's key is configured."""
    created = upgrade_database(settings)
    if created is not None:
        log.info("created the database at %s", created)
    with database_errors(settings):
        opened = open_existing(settings)
    try:
        key_ring = opened.key_ring = key_ring_of(settings, create=True, sessions=opened.sessions)
        missing = missing_keys(key_ring, opened.key_usage())
        opened.confirm_key_checks()
    finally:
        opened.close()
    if missing:
        raise CommandFailed(f"stored credentials use encryption keys that are not configured: {missing}. "
                            "Add those keys back to CREDBOT_ENCRYPTION_KEYS (after the primary key).", EXIT_CONFIG)
    return key_ring


def open_existing(settings: Settings, *, keys: bool = False, key_ring: KeyRing | None = None) -> "Opened":
    """The database as it is (and, with ``keys``, the key ring), creating nothing; a missing or unmigrated
    database is a one-line failure naming `db upgrade`."""
    where = db.describe(settings.database_url)
    file = db.sqlite_file(settings.database_url)
    if file is not None and not file.is_file():
        raise CommandFailed(f"there is no database at {where}: {PREPARE_HINT}")
    engine = db.create_db_engine(settings.database_url)
    try:
        with database_errors(settings):
            current, head = db.schema_revisions(engine)
    except CommandFailed:
        engine.dispose()
        raise
    if current != head:
        engine.dispose()
        state = "has no Credbot tables" if current is None else f"is at migration {current}, this version needs {head}"
        raise CommandFailed(f"the database at {where} {state}: {PREPARE_HINT}")
    sessions = db.session_factory(engine)
    if keys and key_ring is None:
        try:
            key_ring = key_ring_of(settings, create=False, sessions=sessions)
        except CommandFailed:
            engine.dispose()
            raise
    return Opened(settings, engine, sessions, key_ring)


@dataclass
class Opened:
    """An open database (and maybe the key ring): the reads and writes the commands need, with the core's
    domain errors turned into CommandFailed."""

    settings: Settings
    engine: object
    sessions: object
    key_ring: KeyRing | None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Opened":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def service(self):
        from bot import wiring

        return wiring.credential_service(self.settings, self.sessions, self.key_ring)

    def key_usage(self) -> dict[str, int]:
        from bot.credentials.queries import key_usage

        with database_errors(self.settings):
            return key_usage(self.sessions)

    def confirm_key_checks(self) -> None:
        """Each configured key id's material is the one it was first used with (recorded on first use)."""
        from bot.keys.key_checks import confirm_key_checks

        with database_errors(self.settings):
            try:
                confirm_key_checks(self.sessions, self.key_ring)
            except VaultError as error:
                raise CommandFailed(f"encryption keys: {error}", EXIT_CONFIG) from None

    def credentials(self, destination: str | None = None) -> list:
        from bot.credentials.queries import CredentialQueries

        with database_errors(self.settings):
            return CredentialQueries(self.sessions).all_credentials(destination)

    def credential(self, credential_id: str):
        from bot.credentials.queries import CredentialQueries

        with database_errors(self.settings), _known(credential_id):
            return CredentialQueries(self.sessions).find(credential_id)

    def reveal(self, credential_id: str, actor: str) -> str:
        """The decrypted key (audited); a key id that is not configured is named rather than tried."""
        service = self.service()
        with database_errors(self.settings), _known(credential_id):
            key_id = service.queries.row(credential_id).encryption_key_id
            if key_id not in self.key_ring.key_ids:
                raise CommandFailed(f"credential {credential_id} is encrypted with key '{key_id}', which is not "
                                    "configured: add it to CREDBOT_ENCRYPTION_KEYS (or restore the key file)",
                                    EXIT_CONFIG)
            try:
                return service.reveal(credential_id, actor).reveal()
            except KeyUnreadable as error:
                raise CommandFailed(str(error)) from None

    def rotate(self, batch_size: int, max_batches: int | None, on_batch: Callable[[int, int], None]):
        from bot.credentials.rotation import rotate_keys

        with database_errors(self.settings):
            return rotate_keys(self.sessions, self.key_ring, batch_size=batch_size, max_batches=max_batches,
                               on_batch=on_batch)

    def envelope(self):
        """The data keys under CREDBOT_KMS_KEY_ID (KMS failures as one line naming KMS and the key)."""
        from bot.keys.kms import EnvelopeKeys

        with kms_errors():
            return EnvelopeKeys(self.settings.kms_key_id, self.sessions)

    @staticmethod
    def is_data_key(key_id: str) -> bool:
        from bot.keys.kms import DATA_KEY_PREFIX

        return key_id.startswith(DATA_KEY_PREFIX)

    def new_data_key(self) -> str:
        """A new data key from KMS, made the primary of this key ring; returns its id."""
        with database_errors(self.settings), kms_errors():
            key_id = self.envelope().generate().key_id
        self.key_ring = key_ring_of(self.settings, create=False, sessions=self.sessions)
        return key_id

    def encrypt_with_local_keys(self) -> None:
        """Moving back off KMS: the first local key encrypts, data keys only decrypt."""
        if not self.settings.encryption_keys:
            raise CommandFailed("--to-local needs CREDBOT_ENCRYPTION_KEYS: the local key to move the credentials "
                                "to (`credbot keys generate` makes one)", EXIT_CONFIG)
        self.key_ring = key_ring_of(self.settings, create=False, sessions=self.sessions, local_first=True)

    def rewrap_data_keys(self) -> list[tuple[str, str, str]]:
        with database_errors(self.settings), kms_errors():
            envelope = self.envelope()
            envelope.check_key()
            return envelope.rewrap()

    def rewrap_installations(self) -> int:
        """OAuth installations' tokens re-sealed under the primary key (before the credentials)."""
        from bot.slack.installation_store import rewrap_installations

        with database_errors(self.settings):
            try:
                return rewrap_installations(self.sessions, self.key_ring)
            except VaultError as error:
                raise CommandFailed(f"cannot rotate the Slack installations' tokens: {error}", EXIT_CONFIG) from None

    def purge_workspace(self, workspace_id: str, actor: str) -> int:
        from bot.credentials.audit import AuditLog
        from bot.credentials.purge import purge_workspace

        with database_errors(self.settings):
            return purge_workspace(self.sessions, AuditLog(self.sessions), workspace_id, actor)

    def installations(self) -> list[dict]:
        from bot.slack.installation_store import installation_facts

        with database_errors(self.settings):
            return installation_facts(self.sessions)

    def remove_installation(self, workspace_id: str) -> int:
        """An org's installation (E…) or one team's (T…), tokens and all; how many rows went."""
        from bot.slack.installation_store import SealedInstallationStore

        store = SealedInstallationStore(self.sessions, self.key_ring, client_id="")  # type: ignore[arg-type]
        enterprise, team = (workspace_id, "") if workspace_id.startswith("E") else ("", workspace_id)
        with database_errors(self.settings):
            return store.remove(enterprise_id=enterprise, team_id=team)

    def audit_events(self, since: datetime | None, credential_id: str | None, limit: int | None) -> list:
        from bot.credentials.audit import read_events

        with database_errors(self.settings):
            return read_events(self.sessions, since=since, credential_id=credential_id, limit=limit)

    def key_problems(self) -> list[str]:
        """`credbot check`: stored key ids the key ring lacks (credentials' and installation tokens'), and key
        ids whose material is not the one first used; read only, one sentence with its fix each."""
        from bot.keys.key_checks import unconfirmed_key_ids
        from bot.slack.installation_store import installation_key_usage

        with database_errors(self.settings):
            credentials, tokens = self.key_usage(), installation_key_usage(self.sessions)
            wrong = unconfirmed_key_ids(self.sessions, self.key_ring)
        problems = []
        if missing_keys(self.key_ring, credentials):
            problems.append(f"stored credentials use keys that are not configured: "
                            f"{missing_keys(self.key_ring, credentials)}")
        if missing_keys(self.key_ring, tokens):
            problems.append("Slack installation tokens use keys that are not configured: " +
                            missing_keys(self.key_ring, tokens).replace("credential", "token"))
        if problems:
            problems[-1] += "; add them back to CREDBOT_ENCRYPTION_KEYS (after the primary key), or restore the key file"
        if wrong:
            problems.append(f"the material configured for key id {', '.join(repr(k) for k in wrong)} is not the key "
                            "that id was first used with; restore the original key (a new key needs a new id)")
        return problems

    def installation_tokens(self) -> list[tuple[dict, object, str | None]]:
        """Each OAuth installation's facts (as `installations list`), its bot token (a Secret) or None, and why
        there is none; nothing is refreshed or written."""
        from bot.credentials.vault import VaultError
        from bot.infra.secret import Secret
        from bot.slack.installation_store import SealedInstallationStore

        store = SealedInstallationStore(self.sessions, self.key_ring, client_id="")  # type: ignore[arg-type]
        found: list[tuple[dict, object, str | None]] = []
        for facts in self.installations():
            if facts["token"] != "stored":
                found.append((facts, None, "its token was removed (uninstalled or revoked)"))
                continue
            try:
                with database_errors(self.settings):
                    bot = store.find_bot(enterprise_id=facts["enterprise_id"] or None,
                                         team_id=facts["team_id"] or None, is_enterprise_install=facts["org_wide"])
            except VaultError as error:
                found.append((facts, None, f"its token cannot be decrypted: {error}"))
                continue
            found.append((facts, Secret(bot.bot_token) if bot else None, None if bot else "no token is stored"))
        return found


@contextmanager
def kms_errors() -> Iterator[None]:
    try:
        yield
    except VaultError as error:
        raise CommandFailed(f"encryption keys: {error}", EXIT_CONFIG) from None


@contextmanager
def _known(credential_id: str) -> Iterator[None]:
    try:
        yield
    except CredentialGone:
        raise CommandFailed(f"no credential with id {credential_id!r}; `credbot credentials list` shows them",
                            EXIT_RUNTIME) from None
