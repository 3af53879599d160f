"""The core's values: what a credential looks like from outside, pages of them, and a key check's outcome."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.credentials import catalog
from bot.infra.secret import Secret

PAGE_SIZE = 20
COUNT_CAP = 1000  # beyond this a list says "1,000+" instead of counting every row on every page


@dataclass(frozen=True)
class Workspace:
    """Where a request comes from. Org-wide installs may carry no team id."""

    enterprise_id: str = ""
    team_id: str = ""


class Outcome(enum.Enum):
    """What the provider said of a key."""

    ACCEPTED = "ok"
    REJECTED = "rejected"  # wrong, revoked, expired, other environment: the person must act
    UNAVAILABLE = "unavailable"  # not checked: the provider could not be reached or failed


@dataclass(frozen=True)
class KeyRecord:
    """What the provider knows about a key: its status and when it expires (None: it does not); when it was last
    used (to within an hour, per Paddle; None: never, or not said), its permissions and whether the provider can
    rotate it (None: not said)."""

    status: str
    expires_at: datetime | None
    last_used_at: datetime | None = None
    permissions: tuple[str, ...] | None = None
    rotatable: bool | None = None


@dataclass(frozen=True)
class KeyCheck:
    """One check of a key with its provider: the outcome, a short machine reason, a message for the person,
    and the key's own record when the provider gave it."""

    outcome: Outcome
    reason: str = ""
    message: str = ""
    record: KeyRecord | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED


@dataclass(frozen=True)
class KeyRotation:
    """One rotation asked of the provider: the outcome, a short machine reason, a message for the person (what to
    do), and the new key, only when the provider issued one shaped as its keys are (never shown, never logged)."""

    outcome: Outcome
    reason: str = ""
    message: str = ""
    new_key: Secret | None = field(default=None, repr=False)

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED and self.new_key is not None


@dataclass(frozen=True)
class Verification:
    """The last check of a stored credential's key: when, and what came of it."""

    at: datetime | None = None
    outcome: Outcome | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def label(self) -> str:
        """One word (and reason) for tables and JSON: ``ok``, ``rejected:invalid_token``, ``-``."""
        if self.outcome is None:
            return "-"
        return self.outcome.value + (f":{self.reason}" if self.reason else "")


@dataclass(frozen=True)
class CredentialSummary:
    """Everything about a credential that may be shown: never the key."""

    id: str
    name: str
    entity_type: catalog.EntityType
    destination: str
    destination_label: str
    sandbox: bool
    created_by: str
    created_at: datetime
    key_hint: str
    verification: Verification = Verification()
    key_expires_at: datetime | None = None
    key_status: str | None = None
    enterprise_id: str = ""
    team_id: str = ""
    key_exposed_at: datetime | None = None  # when the provider reported the key leaked in public
    key_permissions: tuple[str, ...] | None = None  # as the provider's latest notification listed them
    key_last_used_at: datetime | None = None  # per the provider's record (Paddle: to within an hour)
    key_rotatable: bool | None = None  # None: the provider has not said (a legacy key, or not looked yet)
    key_looked_at: datetime | None = None  # when the provider's record of the key was last read

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.enterprise_id, self.team_id)

    def unused(self, now: datetime, days: int) -> bool | None:
        """Whether the provider says the key was not used for ``days`` days: None when that is not known (no record
        of the key was read: a legacy key without an id, or one not looked at yet). A key never used is flagged
        only once it was stored ``days`` ago: a new key is not idle yet. (A key last used longer ago than that
        existed then, so it is not new.)"""
        if self.key_looked_at is None:
            return None
        idle = timedelta(days=days)
        if self.key_last_used_at is None:
            return now - self.created_at >= idle
        return now - self.key_last_used_at >= idle

    def as_dict(self) -> dict[str, object]:
        """The JSON shape used by the CLI and integrations (never the key)."""
        return {
            "id": self.id,
            "name": self.name,
            "destination": self.destination,
            "entity_type": self.entity_type.value,
            "enterprise_id": self.enterprise_id,
            "team_id": self.team_id,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "key_hint": self.key_hint,
            "last_verified_at": self.verification.at.isoformat() if self.verification.at else None,
            "last_verification": None if self.verification.outcome is None else self.verification.label,
            "key_expires_at": self.key_expires_at.isoformat() if self.key_expires_at else None,
            "key_status": self.key_status,
            "key_exposed_at": self.key_exposed_at.isoformat() if self.key_exposed_at else None,
            "key_permissions": list(self.key_permissions) if self.key_permissions is not None else None,
            "key_last_used_at": self.key_last_used_at.isoformat() if self.key_last_used_at else None,
            "key_rotatable": self.key_rotatable,
            "key_looked_at": self.key_looked_at.isoformat() if self.key_looked_at else None,
        }


@dataclass(frozen=True)
class Cursor:
    """A position in a workspace's newest-first list: the (created_at, id) of one row."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class CredentialPage:
    """One page of ``/list-credentials``."""

    items: list[CredentialSummary]
    total: int | None  # exact up to COUNT_CAP (see total_capped); None for a filtered list, which is not counted
    offset: int  # position of the first item, for "21–40 of N"
    limit: int
    has_next: bool = False
    has_previous: bool = False
    total_capped: bool = False  # more than COUNT_CAP credentials match: ``total`` is COUNT_CAP

    @property
    def first_cursor(self) -> Cursor | None:
        return Cursor(self.items[0].created_at, self.items[0].id) if self.items else None

    @property
    def last_cursor(self) -> Cursor | None:
        return Cursor(self.items[-1].created_at, self.items[-1].id) if self.items else None


@dataclass(frozen=True)
class HomePage:
    """One page of App Home: credentials grouped by destination (Paddle first), newest first in each."""

    items: list[CredentialSummary]
    page: int
    per_page: int
    total: int  # exact up to COUNT_CAP
    has_next: bool = False
    total_capped: bool = False
