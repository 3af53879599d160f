"""Credentials for integrations: a small Python API over the same database and keys as the bot.

Any process configured like the bot (``DATABASE_URL``, ``CREDBOT_ENCRYPTION_KEYS`` or the embedded default's
``CREDBOT_DATA_DIR``, from the environment or ``.env``) can read credentials::

    from bot.api import get_api_key, list_credentials

    key = get_api_key("3f0c…-credential-id")          # the decrypted Paddle key, as a str
    for credential in list_credentials("paddle_sandbox"):
        print(credential.id, credential.name)

Every ``get_api_key`` is written to the audit trail (action ``credential.reveal``, actor ``api:<user>``).
Keep the returned key in memory: do not log it or write it anywhere.
"""

from __future__ import annotations

import getpass
from typing import Mapping

from bot.infra.settings import Settings, load_settings
from bot.credentials.errors import CredentialGone
from bot.credentials.types import CredentialSummary

__all__ = ["CredentialStore", "CredentialGone", "CredentialSummary", "get_api_key", "list_credentials"]


class CredentialStore:
    """One connection to the credentials; reuse it for many lookups, close it when done."""

    def __init__(self, settings: Settings | None = None, env: Mapping[str, str] | None = None,
                 actor: str | None = None) -> None:
        from bot import wiring
        from bot.keys.kms import key_ring_for
        from bot.infra import db

        self.settings = settings or load_settings(env, purpose="keys")
        self.actor = actor or f"api:{_user()}"
        self._engine = db.create_db_engine(self.settings.database_url)
        sessions = db.session_factory(self._engine)
        self._service = wiring.credential_service(self.settings, sessions,
                                                  key_ring_for(self.settings, sessions, create=True))

    def get_api_key(self, credential_id: str) -> str:
        """The decrypted key of one credential; raises CredentialGone for an unknown id."""
        return self._service.reveal(credential_id, self.actor).reveal()

    def get(self, credential_id: str) -> CredentialSummary:
        return self._service.queries.find(credential_id)

    def list(self, destination: str | None = None) -> list[CredentialSummary]:
        """Every credential (all workspaces), optionally of one destination (``paddle``, ``paddle_sandbox``)."""
        return self._service.queries.all_credentials(destination)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "CredentialStore":
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


def _user() -> str:
    try:
        return getpass.getuser()[:24]
    except Exception:  # no user name in some containers
        return "unknown"
