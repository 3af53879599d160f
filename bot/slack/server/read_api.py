"""The read API (/v1): integrations read the credentials an access token names, with ``Authorization: Bearer
cbt_…``, on the HTTP server's port. Every secret read is audited before the key leaves (bot.credentials.
access_tokens); nothing here logs a token, a key or a header.

    GET /v1/credentials              the token's credentials (metadata)
    GET /v1/credentials/{id}         one of them (metadata)
    GET /v1/credentials/{id}/secret  the key; ETag on its version, If-None-Match answers 304 without it
    GET /v1/openapi.json             the OpenAPI 3.1 document of these routes
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http import HTTPStatus
from wsgiref.types import StartResponse

from bot.credentials.access_token_rules import AuditUnavailable, RateLimited, TokenInfo, TokenRefused
from bot.credentials.access_tokens import key_version
from bot.credentials.errors import KeyUnreadable
from bot.credentials.models import Credential
from bot.credentials.queries import summary_of
from bot.credentials.types import CredentialSummary
from bot.slack.server.read_api_spec import OPENAPI
from bot.slack.services import Services

log = logging.getLogger(__name__)

PREFIX = "/v1/"
NO_STORE = [("Cache-Control", "no-store")]


class ReadAPI:
    """The /v1 routes over the process's Services."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.monotonic) -> None:
        self.tokens = services.tokens
        self.proxies = tuple(ipaddress.ip_network(p) for p in services.settings.trusted_proxies)
        self.limit = PerTokenRate(services.settings.api_reads_per_minute, clock)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            return _error(
                start_response, 405, "method_not_allowed", "the read API only answers GET", [("Allow", "GET")]
            )
        if path == "/v1/openapi.json":
            return _send(start_response, 200, OPENAPI)
        parts = path[len(PREFIX) :].split("/")
        if parts[0] != "credentials" or len(parts) > 3 or (len(parts) == 3 and parts[2] != "secret"):
            return _error(start_response, 404, "not_found", "no such route: /v1/openapi.json lists them")
        try:
            token = self.tokens.authenticate(_bearer(environ), self.client_address(environ))
            if len(parts) == 1:
                listed = [metadata(summary_of(row), key_version(row)) for row in self.tokens.readable(token)]
                return _send(start_response, 200, {"credentials": listed}, NO_STORE)
            if len(parts) == 2:
                row = self.tokens.row(token, parts[1])
                return _send(start_response, 200, metadata(summary_of(row), key_version(row)), NO_STORE)
            return self.secret(environ, start_response, token, parts[1])
        except TokenRefused as refused:
            extra = [("WWW-Authenticate", 'Bearer realm="credbot"')] if refused.status == 401 else []
            if isinstance(refused, RateLimited):
                extra = [("Retry-After", str(refused.retry_after))]
            return _error(start_response, refused.status, refused.reason, refused.message, extra)
        except AuditUnavailable as unavailable:
            log.error("a secret read was refused: the audit trail could not be written")
            return _error(start_response, 503, unavailable.reason, unavailable.message, [("Retry-After", "5")])
        except KeyUnreadable as unreadable:
            return _error(start_response, 500, "key_unreadable", unreadable.message)

    def secret(self, environ: dict, start_response: StartResponse, token: TokenInfo, credential_id: str):
        row = self.tokens.row(token, credential_id)
        etag = f'"{row.id}.{key_version(row)}"'
        if etag in _etags(environ.get("HTTP_IF_NONE_MATCH", "")):
            start_response("304 Not Modified", [("ETag", etag), *NO_STORE])
            return [b""]
        wait = self.limit.wait(token.id)  # this process's own reads already fill the minute: no database asked
        if wait:
            raise RateLimited(wait)
        row, key = self.tokens.read_secret(token, credential_id, self.client_address(environ), self.limit.per_minute)
        self.limit.granted(token.id)
        return _send(start_response, 200, secret_document(row, key.reveal()), [("ETag", etag), *NO_STORE])

    def client_address(self, environ: dict) -> str:
        """The connection's peer; past proxies CREDBOT_TRUSTED_PROXIES names, the nearest address in
        X-Forwarded-For that is not one of them."""
        peer = environ.get("REMOTE_ADDR", "")
        if not self.proxies or not _within(peer, self.proxies):
            return peer
        forwarded = [item.strip() for item in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if item.strip()]
        for address in reversed(forwarded):
            if not _within(address, self.proxies):
                return address if _address(address) else peer
        return peer


class PerTokenRate:
    """The secret reads this process has granted each token in the last 60 seconds: a refusal without the
    database. The limit itself is counted in the database (AccessTokens.read_secret, across every instance);
    this process's reads are some of those, so when they alone reach it the database would refuse too."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._reads: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, token_id: str) -> int:
        """0 when the database may be asked, else the whole seconds until this process's oldest read leaves."""
        now = self.clock()
        with self._lock:
            reads = self._reads.get(token_id)
            while reads and reads[0] <= now - 60:
                reads.popleft()
            if not reads:
                self._reads.pop(token_id, None)  # a token that stopped reading is forgotten
                return 0
            return max(1, math.ceil(reads[0] + 60 - now)) if len(reads) >= self.per_minute else 0

    def granted(self, token_id: str) -> None:
        with self._lock:
            self._reads.setdefault(token_id, deque()).append(self.clock())


def metadata(item: CredentialSummary, version: int) -> dict[str, object]:
    return {
        "id": item.id,
        "name": item.name,
        "entity_type": item.entity_type.value,
        "destination": item.destination,
        "environment": "sandbox" if item.sandbox else "live",
        "key_expires_at": item.key_expires_at.isoformat() if item.key_expires_at else None,
        "paddle_status": item.key_status,
        "version": version,
    }


def secret_document(row: Credential, api_key: str) -> dict[str, object]:
    item = summary_of(row)
    return {
        "id": item.id,
        "api_key": api_key,
        "destination": item.destination,
        "environment": "sandbox" if item.sandbox else "live",
        "version": key_version(row),
        "key_expires_at": item.key_expires_at.isoformat() if item.key_expires_at else None,
    }


def _bearer(environ: dict) -> str | None:
    scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _etags(header: str) -> set[str]:
    return {item.strip().removeprefix("W/") for item in header.split(",") if item.strip()}


def _address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _within(address: str, networks: tuple) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in networks)


def _send(start_response: StartResponse, status: int, body: object, extra: list | None = None) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))] + (extra or []),
    )
    return [payload]


def _error(start_response: StartResponse, status: int, code: str, message: str, extra: list | None = None):
    return _send(start_response, status, {"error": {"code": code, "message": message}}, extra)
