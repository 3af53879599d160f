"""What an access token is and what may be asked of one (bot.credentials.access_tokens keeps them): its shape,
its lifetime and name rules, the address ranges it may be limited to, the refusals, and how it may be shown."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.credentials.errors import CredentialError
from bot.credentials.key_shapes import key_shaped
from bot.credentials.types import Workspace

TOKEN_PREFIX = "cbt_"
TOKEN_SHAPE = re.compile(r"cbt_[A-Za-z0-9_-]{43}")
TOKEN_ID_SHAPE = re.compile(r"tok_[0-9a-f]{16}")
DEFAULT_LIFETIME = timedelta(days=90)
RATE_WINDOW = timedelta(seconds=60)  # CREDBOT_API_READS_PER_MINUTE counts the secret reads in this window
LONGEST_LIFETIME = timedelta(days=365)
MOST_CREDENTIALS = 50
MOST_NETWORKS = 20
NAME_LENGTH = 80


class TokenRefused(CredentialError):
    """A request the read API refuses: ``status`` is its HTTP status, ``reason`` its error code. The message
    never says whether a credential id exists outside the token's scope."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message, reason)
        self.status = status


class RateLimited(TokenRefused):
    """The token has made its secret reads of the last minute (counted across every instance); ``retry_after``
    is the whole seconds until its oldest read in the window leaves it."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, "rate_limited", "too many reads: wait")
        self.retry_after = retry_after


class AuditUnavailable(CredentialError):
    """The read could not be audited, so no key is sent."""

    def __init__(self) -> None:
        super().__init__("the read could not be recorded in the audit trail; try again", "audit_unavailable")


class TokenRequestInvalid(CredentialError):
    """A token cannot be issued as asked (a name, a credential, a lifetime, an address range)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "invalid_token_request")


UNAUTHORIZED = "missing, unknown, expired or revoked token"
FORBIDDEN = "this token may not read that credential"


@dataclass(frozen=True)
class TokenInfo:
    """A token as it may be shown: never the token itself, nor its hash."""

    id: str
    name: str
    workspace: Workspace
    credential_ids: tuple[str, ...]
    allow_from: tuple[str, ...]
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None
    last_used_from: str | None = None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"

    def allows(self, address: str) -> bool:
        if not self.allow_from:
            return True
        try:
            client = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(client in ipaddress.ip_network(network) for network in self.allow_from)

    def as_dict(self, now: datetime) -> dict[str, object]:
        """The JSON shape of `tokens list --json`."""
        return {
            "id": self.id,
            "name": self.name,
            "enterprise_id": self.workspace.enterprise_id,
            "team_id": self.workspace.team_id,
            "credentials": list(self.credential_ids),
            "allow_from": list(self.allow_from),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "status": self.status(now),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "last_used_from": self.last_used_from,
        }


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_networks(values: Iterable[str]) -> tuple[str, ...]:
    """CIDRs (or single addresses) as networks in canonical form; TokenRequestInvalid naming the first bad one."""
    networks = []
    for value in values:
        try:
            networks.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            shown = value if len(value) <= 50 and not key_shaped(value) else "a value"
            raise TokenRequestInvalid(f"{shown!r} is not an address or a CIDR such as 10.0.0.0/8") from None
    if len(networks) > MOST_NETWORKS:
        raise TokenRequestInvalid(f"at most {MOST_NETWORKS} client address ranges per token")
    return tuple(dict.fromkeys(networks))


def checked_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise TokenRequestInvalid("give the token a name: the integration that will use it")
    if len(name) > NAME_LENGTH:
        raise TokenRequestInvalid(f"a token's name is at most {NAME_LENGTH} characters")
    if key_shaped(name):
        raise TokenRequestInvalid("a token's name must not hold an API key")
    return name


def checked_lifetime(lifetime: timedelta) -> timedelta:
    if lifetime <= timedelta(0) or lifetime > LONGEST_LIFETIME:
        raise TokenRequestInvalid("a token expires after more than 0 seconds and at most 365 days")
    return lifetime
