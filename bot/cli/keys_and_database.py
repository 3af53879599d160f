"""The one place the command line opens settings, keys and the database (through bot.runtime, the way serve
and bot.api open them too), and the only CLI module that imports the core (bot.credentials): every command
module works through what is here.

``open_existing`` is for commands that use what is there: it creates nothing. ``upgrade_database`` and
``prepare_for_serving`` are the only ones that create, for `db upgrade` and `serve` (see bot.runtime).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime
from collections.abc import Callable, Iterator

from bot.cli.failures import EXIT_CONFIG, EXIT_RUNTIME, CommandFailed
from bot.credentials import catalog
from bot.credentials.errors import CredentialGone, KeyUnreadable
from bot.credentials.vault import KeyRing, VaultError
from bot import runtime
from bot.infra.settings import Settings, load_settings
from bot.runtime import (
    CredbotUnavailable,
    database_errors,
    key_file,
    key_ring_of,
    missing_keys,
    prepare_for_serving,
    restore_advice,
    upgrade_database,
)

# The catalog's destinations, for `--destination` (this module is the CLI's one way into the core); read when
# the parser is built, so that a destination registered before then is a choice.
destination_values = catalog.destination_values


def destinations() -> tuple[catalog.Destination, ...]:
    """The catalog's destinations as they are now (the deployment check's base URLs)."""
    return tuple(catalog.DESTINATIONS)


log = logging.getLogger("bot.cli")

__all__ = [
    "CredbotUnavailable",
    "Opened",
    "command_settings",
    "database_errors",
    "key_file",
    "key_ring_of",
    "missing_keys",
    "new_key",
    "open_existing",
    "parse_moment",
    "prepare_for_serving",
    "restore_advice",
    "upgrade_database",
]


def command_settings(purpose: str) -> Settings:
    """The settings for a command (``serve``, ``db`` or ``keys``), with the same redacting logs as the bot."""
    from bot.infra.logs import configure_logging

    settings = load_settings(purpose=purpose)
    configure_logging(settings.log_level, settings.known_secrets(), settings.log_format)
    for warning in settings.name_warnings:  # on stderr, through the logs: never in a command's --json output
        log.warning("%s", warning)
    if purpose == "keys" and settings.log_level != "DEBUG":
        # Reading the schema's revision is not news: keep Alembic's "Context impl" lines for `db upgrade`/`serve`.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


def new_key(key_id: str | None) -> str:
    """A fresh ``keyid:base64`` entry for CREDBOT_ENCRYPTION_KEYS; stored nowhere."""
    from bot.credentials.vault import generate_key

    return generate_key(key_id)


def parse_moment(text: str | None, option: str) -> datetime | None:
    """``--since``/``--now``: an ISO date/time or a span (7d, 24h); a usage error otherwise."""
    from bot.credentials.audit import parse_since

    if not text:
        return None
    try:
        return parse_since(text)
    except ValueError as error:
        raise CommandFailed(str(error).replace("--since", option), EXIT_CONFIG) from None


def open_existing(
    settings: Settings, *, keys: bool = False, key_ring: KeyRing | None = None, read_only: bool = False
) -> Opened:
    """The database as it is (and, with ``keys``, the key ring), creating nothing (bot.runtime.open_existing)."""
    return runtime.open_existing(settings, keys=keys, key_ring=key_ring, read_only=read_only, kind=Opened)


class Opened(runtime.Opened):
    """The reads and writes the commands need, with the core's domain errors turned into CommandFailed."""

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
            if key_id not in self.ring.key_ids:
                advice = restore_advice(self.settings, "it")
                raise CommandFailed(
                    f"credential {credential_id} is encrypted with key '{key_id}', which is not configured: {advice}",
                    EXIT_CONFIG,
                )
            try:
                return service.reveal(credential_id, actor).reveal()
            except KeyUnreadable as error:
                raise CommandFailed(str(error)) from None

    def rotate(self, batch_size: int, max_batches: int | None, on_batch: Callable[[int, int], None], actor: str):
        from bot.credentials.rotation import rotate_keys

        with database_errors(self.settings):
            return rotate_keys(
                self.sessions, self.ring, batch_size=batch_size, max_batches=max_batches, on_batch=on_batch, actor=actor
            )

    def envelope(self):
        """The data keys under CREDBOT_KMS_KEY_ID (KMS failures as one line naming KMS and the key)."""
        from bot.keys.kms import EnvelopeKeys

        with kms_errors():
            return EnvelopeKeys(self.settings.kms_key_id, self.sessions, retired=self.settings.kms_retired_key_ids)

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
            raise CommandFailed(
                "--to-local needs CREDBOT_ENCRYPTION_KEYS: the local key to move the credentials "
                "to (`credbot keys generate` makes one)",
                EXIT_CONFIG,
            )
        self.key_ring = key_ring_of(self.settings, create=False, sessions=self.sessions, local_first=True)

    def rewrap_data_keys(self) -> list[tuple[str, str, str]]:
        with database_errors(self.settings), kms_errors():
            envelope = self.envelope()
            envelope.check_key()
            return envelope.rewrap()

    def retire_unused_keys(self) -> list[str]:
        """After a rotation: the configured key ids other than the primary that nothing is stored under are
        retired (instances without them may start); returns those newly retired."""
        from bot.keys.key_checks import retire_unused

        others = [key_id for key_id in self.ring.key_ids if key_id != self.ring.primary_key_id]
        with database_errors(self.settings):
            return retire_unused(self.sessions, others)

    def retire_key(self, key_id: str) -> None:
        """`keys retire ID`: one recorded key id that nothing is stored under, and that is not the primary here."""
        from bot.keys.key_checks import is_recorded, retire_unused, stored_under

        if self.key_ring is not None and key_id == self.key_ring.primary_key_id:
            raise CommandFailed(f"'{key_id}' is the primary key here: it encrypts, so it cannot retire", EXIT_CONFIG)
        with database_errors(self.settings):
            if not is_recorded(self.sessions, key_id):
                raise CommandFailed(f"the database records no key id '{key_id}'; `credbot keys status` lists them")
            with self.sessions() as session:
                held = stored_under(session, key_id)
            if held:
                raise CommandFailed(
                    f"{held} credential(s) or installation token(s) are still sealed under '{key_id}': configure it "
                    "after the primary key and run `credbot keys rotate` (which retires it when done)"
                )
            retire_unused(self.sessions, [key_id])

    def rewrap_installations(self) -> int:
        """OAuth installations' tokens re-sealed under the primary key (before the credentials)."""
        from bot.slack.oauth.installation_store import rewrap_installations

        with database_errors(self.settings):
            try:
                return rewrap_installations(self.sessions, self.ring)
            except VaultError as error:
                raise CommandFailed(f"cannot rotate the Slack installations' tokens: {error}", EXIT_CONFIG) from None

    def purge_workspace(self, workspace_id: str, actor: str) -> tuple[int, int]:
        """Its credentials and saved settings deleted (bot.credentials.purge); how many of each."""
        from bot.credentials.audit import AuditLog
        from bot.credentials.purge import purge_workspace

        with database_errors(self.settings):
            return purge_workspace(self.sessions, AuditLog(self.sessions), workspace_id, actor)

    def scrub(self, tables: tuple[str, ...], after: str) -> str:
        """Old ciphertexts of ``tables`` made unreadable in the database's files (bot.infra.residue), now; the
        line to print. ``after``: what has been done, for the failure's line (it stays done)."""
        from bot.infra.residue import ResidueLeft, scrub

        try:
            with database_errors(self.settings):
                seconds = scrub(self.engine, tables)
        except ResidueLeft as error:
            raise CommandFailed(
                f"{after}, but old ciphertexts may still be readable in the database's files: {error}; run "
                "`credbot db scrub` once it has ended",
                EXIT_RUNTIME,
            ) from None
        how = "a checkpoint of SQLite's write-ahead log" if self.engine.dialect.name == "sqlite" else "VACUUM FULL"
        return f"old ciphertexts scrubbed from the database's files ({how} of {', '.join(tables)}, {seconds:.2f} s)"

    def access_tokens(self):
        """The access tokens (bot.credentials.access_tokens): issue, list, revoke; their mistakes as one line."""
        from bot.credentials.access_tokens import AccessTokens
        from bot.credentials.audit import AuditLog

        return AccessTokens(
            self.sessions, AuditLog(self.sessions), lambda row, actor: self.service().decrypt_for_reader(row, actor)
        )

    @contextmanager
    def token_errors(self) -> Iterator[None]:
        """A token request that cannot be met (exit 2) or names an unknown token (exit 1), as one line."""
        from bot.credentials.access_token_rules import TokenRequestInvalid

        try:
            with database_errors(self.settings):
                yield
        except TokenRequestInvalid as error:
            status = EXIT_RUNTIME if error.message.startswith(("no token", "no credential")) else EXIT_CONFIG
            raise CommandFailed(error.message, status) from None

    def workspaces(self) -> list:
        """Every known workspace and its settings in effect (bot.credentials.tenants), defaults from settings."""
        from bot.credentials.tenants import known_workspaces
        from bot.wiring import setting_defaults

        with database_errors(self.settings):
            return known_workspaces(self.sessions, setting_defaults(self.settings), self.settings.oauth_mode)

    def installations(self) -> list[dict]:
        from bot.slack.oauth.installation_store import installation_facts

        with database_errors(self.settings):
            return installation_facts(self.sessions)

    def remove_installation(self, workspace_id: str) -> int:
        """An org's installation (E…) or one team's (T…), tokens and all; how many rows went."""
        from bot.slack.oauth.installation_store import SealedInstallationStore

        # remove() deletes rows and reads no token: `installations remove` opens no key ring
        store = SealedInstallationStore(self.sessions, self.key_ring, client_id="")  # type: ignore[arg-type]  # see above
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
        from bot.keys.key_checks import not_configured, unconfigured_key_ids, unconfirmed_key_ids
        from bot.slack.oauth.installation_store import installation_key_usage

        with database_errors(self.settings):
            credentials, tokens = self.key_usage(), installation_key_usage(self.sessions)
            wrong = unconfirmed_key_ids(self.sessions, self.ring)
            strangers = unconfigured_key_ids(self.sessions, self.ring)
        problems = []
        if missing_keys(self.ring, credentials):
            problems.append(
                f"stored credentials use keys that are not configured: {missing_keys(self.ring, credentials)}"
            )
        if missing_keys(self.ring, tokens):
            problems.append(
                "Slack installation tokens use keys that are not configured: "
                + missing_keys(self.ring, tokens).replace("credential", "token")
            )
        if problems:
            problems[-1] += (
                "; add them back to CREDBOT_ENCRYPTION_KEYS (after the primary key), or restore the key file"
            )
        if wrong:
            problems.append(
                f"the material configured for key id {', '.join(repr(k) for k in wrong)} is not the key "
                "that id was first used with; restore the original key (a new key needs a new id)"
            )
        if strangers and not problems:  # a missing key in use is said above already
            problems.append(not_configured(strangers))
        return problems

    def installation_tokens(self) -> list[tuple[dict, object, str | None]]:
        """Each OAuth installation's facts (as `installations list`), its bot token (a Secret) or None, and why
        there is none; nothing is refreshed or written."""
        from bot.credentials.vault import VaultError
        from bot.infra.secret import Secret
        from bot.slack.oauth.installation_store import SealedInstallationStore

        store = SealedInstallationStore(self.sessions, self.ring, client_id="", report=False)
        found: list[tuple[dict, object, str | None]] = []
        for facts in self.installations():
            if facts["token"] != "stored":
                found.append((facts, None, "its token was removed (uninstalled or revoked)"))
                continue
            try:
                with database_errors(self.settings):
                    bot = store.find_bot(
                        enterprise_id=facts["enterprise_id"] or None,
                        team_id=facts["team_id"] or None,
                        is_enterprise_install=facts["org_wide"],
                    )
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


def rotate_with_provider(opened: Opened, credential_id: str, actor: str, grace: int) -> tuple[str, str]:
    """A new key from the provider, stored and verified (bot.credentials.key_rotation): (its ending, what the
    verification said). The provider's refusal, a rotation under way, a damaged ciphertext: exit 1; a bad grace
    period or a key id that is not configured: exit 2."""
    from bot.credentials.errors import CredentialError, InvalidInput
    from bot.credentials.key_rotation import rotate_key

    service = opened.service()
    with database_errors(opened.settings), _known(credential_id):
        key_id = service.queries.row(credential_id).encryption_key_id
        if key_id not in opened.ring.key_ids:
            advice = restore_advice(opened.settings, "it")
            raise CommandFailed(
                f"credential {credential_id} is encrypted with key '{key_id}', which is not configured: {advice}",
                EXIT_CONFIG,
            )
        try:
            rotated, checked = rotate_key(service, None, actor, credential_id, grace)
        except InvalidInput as error:
            raise CommandFailed(error.message, EXIT_CONFIG) from None
        except CredentialGone:
            raise  # named by _known
        except CredentialError as error:
            raise CommandFailed(f"not rotated: {error.message}", EXIT_RUNTIME) from None
    return rotated.key_hint, checked


@contextmanager
def _known(credential_id: str) -> Iterator[None]:
    try:
        yield
    except CredentialGone:
        raise CommandFailed(
            f"no credential with id {credential_id!r}; `credbot credentials list` shows them", EXIT_RUNTIME
        ) from None
