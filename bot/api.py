"""Credentials for integrations: a small Python API over the same database and keys as the bot.

Any process configured like the bot (``DATABASE_URL``, ``CREDBOT_ENCRYPTION_KEYS`` or the embedded default's
``CREDBOT_DATA_DIR``, from the environment or ``.env``) can read credentials::

    from bot.api import get_api_key, list_credentials

    key = get_api_key("3f0c…-credential-id")          # the decrypted Paddle key, as a str
    for credential in list_credentials("paddle_sandbox"):
        print(credential.id, credential.name)

Every ``get_api_key`` is written to the audit trail (action ``credential.reveal``, actor ``api:<the process's
user>``, and the sudo user beside it: bot.infra.os_actor).
Keep the returned key in memory: do not log it or write it anywhere.

Errors: an unknown id raises :class:`CredentialGone`. Anything that stops Credbot's data from being used as
configured raises :class:`CredbotUnavailable`, whose message is one line saying what to do: settings that are
not valid, no database or one not yet prepared (``credbot db upgrade``), a database that cannot be reached, a
key file that is missing or a key that is not configured. Nothing here creates a database, a table or a key:
it opens what `credbot serve` or `credbot db upgrade` prepared, the way the command line does (bot.runtime).
A setting name that looks mistyped is warned about through the ``bot.api`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.credentials.errors import CredentialGone, KeyUnreadable
from bot.credentials.queries import CredentialQueries
from bot.credentials.types import CredentialSummary
from bot.infra.os_actor import actor as os_actor
from bot.infra.settings import ConfigError, Settings, load_settings
from bot.runtime import CredbotUnavailable, database_errors, key_ring_of, open_existing, restore_advice

__all__ = [
    "CredentialStore",
    "CredbotUnavailable",
    "CredentialGone",
    "CredentialSummary",
    "get_api_key",
    "list_credentials",
]

log = logging.getLogger("bot.api")


class CredentialStore:
    """One connection to the credentials; reuse it for many lookups, close it when done."""

    def __init__(
        self, settings: Settings | None = None, env: Mapping[str, str] | None = None, actor: str | None = None
    ) -> None:
        self.settings = settings or _settings(env)
        self.actor = actor or os_actor("api")
        self._opened = open_existing(self.settings)  # creates nothing; the keys are read at the first reveal

    def get_api_key(self, credential_id: str) -> str:
        """The decrypted key of one credential; raises CredentialGone for an unknown id."""
        if self._opened.key_ring is None:
            self._opened.key_ring = key_ring_of(self.settings, create=False, sessions=self._opened.sessions)
        service = self._opened.service()
        with database_errors(self.settings):
            key_id = service.queries.row(credential_id).encryption_key_id
            if key_id not in self._opened.key_ring.key_ids:
                raise CredbotUnavailable(
                    f"credential {credential_id} is encrypted with key '{key_id}', which is "
                    f"not configured: {restore_advice(self.settings, 'it')}"
                )
            try:
                return service.reveal(credential_id, self.actor).reveal()
            except KeyUnreadable as error:
                raise CredbotUnavailable(str(error)) from None

    def get(self, credential_id: str) -> CredentialSummary:
        with database_errors(self.settings):
            return CredentialQueries(self._opened.sessions).find(credential_id)

    def list(self, destination: str | None = None) -> list[CredentialSummary]:
        """Every credential (all workspaces), optionally of one destination (``paddle``, ``paddle_sandbox``)."""
        with database_errors(self.settings):
            return CredentialQueries(self._opened.sessions).all_credentials(destination)

    def close(self) -> None:
        self._opened.close()

    def __enter__(self) -> CredentialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_api_key(credential_id: str, *, settings: Settings | None = None) -> str:
    """The decrypted API key of the credential with this id."""
    with CredentialStore(settings) as store:
        return store.get_api_key(credential_id)


def list_credentials(destination: str | None = None, *, settings: Settings | None = None) -> list[CredentialSummary]:
    """Every credential, optionally only those of one destination."""
    with CredentialStore(settings) as store:
        return store.list(destination)


def _settings(env: Mapping[str, str] | None) -> Settings:
    """Settings as the command line reads them; every problem in one line of a CredbotUnavailable."""
    try:
        settings = load_settings(env, purpose="keys")
    except ConfigError as error:
        raise CredbotUnavailable(
            "Credbot's settings are not valid (environment or .env): " + "; ".join(error.problems), 2
        ) from None
    for warning in settings.name_warnings:
        log.warning("%s", warning)
    return settings
