"""Credentials for integrations: a small Python API, over the read API or (on the bot's own host) the database.

**Integrations** set ``CREDBOT_URL`` (the bot's address) and ``CREDBOT_TOKEN`` (an access token from `credbot
tokens issue`, also as ``CREDBOT_TOKEN_FILE``): ``get_api_key`` and ``list_credentials`` then read over HTTP
(GET /v1/credentials…) and need no database and no key on that host; each read is audited by the bot under
the token. ``list_credentials`` gives :class:`RemoteCredential` (the read API's fields). Every failure (a token
refused, a credential outside its scope or deleted, the bot unreachable or busy) raises
:class:`CredbotUnavailable` with a one-line message; its ``status`` is the HTTP status (0 when none came).

**Operators on the bot's own host** leave both unset. Then any process configured like the bot
(``DATABASE_URL``, ``CREDBOT_ENCRYPTION_KEYS`` or the embedded default's ``CREDBOT_DATA_DIR``, from the
environment or ``.env``) reads the database itself, with the whole key ring::

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

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

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
    "RemoteCredential",
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


@dataclass(frozen=True)
class RemoteCredential:
    """A credential as the read API describes it (no key)."""

    id: str
    name: str
    entity_type: str
    destination: str
    environment: str
    key_expires_at: str | None
    paddle_status: str | None
    version: int


REMOTE_FIELDS = tuple(RemoteCredential.__dataclass_fields__)


class ReadAPIClient:
    """The read API as an integration calls it: ``CREDBOT_URL`` with ``CREDBOT_TOKEN``."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url, self._token, self.timeout = url.rstrip("/"), token, timeout

    def get_api_key(self, credential_id: str) -> str:
        answer = self._get(f"/v1/credentials/{urllib.parse.quote(credential_id, safe='')}/secret")
        if not isinstance(answer, dict) or not isinstance(answer.get("api_key"), str):
            raise self._unexpected()
        return answer["api_key"]

    def list(self, destination: str | None = None) -> list[RemoteCredential]:
        try:  # the fields this version knows (a newer server may send more)
            found = [
                RemoteCredential(**{f: item[f] for f in REMOTE_FIELDS})
                for item in self._get("/v1/credentials")["credentials"]
            ]
        except (KeyError, TypeError):
            raise self._unexpected() from None
        return [item for item in found if destination is None or item.destination == destination]

    def _unexpected(self) -> CredbotUnavailable:
        """A 200 that is not the read API's answer (another server at CREDBOT_URL, or a proxy's page)."""
        return CredbotUnavailable(
            f"the Credbot read API at {self.url} answered unexpectedly: check CREDBOT_URL", status=200
        )

    def _get(self, path: str) -> dict:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise CredbotUnavailable(_refusal(error), status=error.code) from None
        except (OSError, ValueError) as error:  # unreachable, timed out, or not the read API's JSON
            raise CredbotUnavailable(
                f"the Credbot read API at {self.url} could not be read ({type(error).__name__}): check CREDBOT_URL",
                status=0,
            ) from None


def _refusal(error: urllib.error.HTTPError) -> str:
    """One line for a refusal: the read API's own message, with what to do."""
    try:
        message = str(json.loads(error.read())["error"]["message"])[:200]
    except (OSError, ValueError, KeyError, TypeError):
        message = f"HTTP {error.code}"
    advice = {
        401: "issue a new token with `credbot tokens issue` (CREDBOT_TOKEN)",
        403: "ask for a token that may read it (`credbot tokens issue --credential …`)",
        404: "the credential has been deleted",
        429: f"wait {error.headers.get('Retry-After', 'a few')} seconds",
        503: "try again shortly",
    }.get(error.code, "try again, or ask the bot's operators")
    return f"the Credbot read API refused ({error.code}): {message}; {advice}"


def _client(settings: Settings) -> ReadAPIClient | None:
    if settings.credbot_url and settings.credbot_token:
        return ReadAPIClient(settings.credbot_url, settings.credbot_token.reveal())
    return None


def get_api_key(credential_id: str, *, settings: Settings | None = None) -> str:
    """The decrypted API key of the credential with this id (over the read API when CREDBOT_URL is set)."""
    settings = settings or _settings(None)
    client = _client(settings)
    if client is not None:
        return client.get_api_key(credential_id)
    with CredentialStore(settings) as store:
        return store.get_api_key(credential_id)


def list_credentials(
    destination: str | None = None, *, settings: Settings | None = None
) -> list[CredentialSummary] | list[RemoteCredential]:
    """Every credential (over the read API: every one the token may read), optionally of one destination."""
    settings = settings or _settings(None)
    client = _client(settings)
    if client is not None:
        return client.list(destination)
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
