"""What a provider's notification about a key does to the credentials holding it (no Slack, no HTTP here).

A notification is recorded by its id in the same transaction that applies it, so a delivery made again (Paddle
retries until it is answered 2xx) finds its id taken and changes nothing. It touches only credentials of the
environment whose secret verified it, matched by the key's record id (``apikey_…``). A status is applied only when
the event happened after the one that set the status now stored (``key_status_at``), and a revoked key stays
revoked: Paddle never brings one back. Every notification is audited: once per credential it names, or once
without a credential when Credbot holds no such key or does not know the event type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials import catalog
from bot.credentials.audit import AuditLog
from bot.credentials.models import Credential, ProviderNotification
from bot.credentials.ports import Clock, utc_now
from bot.credentials.queries import SHOWN_COLUMNS, summary_of
from bot.credentials.types import CredentialSummary, Workspace

KEY_EVENTS = (
    "api_key.created",
    "api_key.updated",
    "api_key.expiring",
    "api_key.expired",
    "api_key.revoked",
    "api_key_exposure.created",
)
REVOKED, EXPIRED, EXPIRING = "api_key.revoked", "api_key.expired", "api_key.expiring"
EXPOSED = "api_key_exposure.created"
ACTOR = "paddle"  # who the audit says acted: the provider
# How long an accepted notification's id is kept: Paddle retries a live delivery for up to 3 days, so a copy
# arriving later than this is not expected; an older event still never overwrites newer state (key_status_at).
KEEP_IDS = timedelta(days=30)


@dataclass(frozen=True)
class Exposure:
    """Where the provider found the key in public, and what it did about it."""

    source: str = ""  # "github"
    reference: str = ""  # a link to where it was found
    description: str = ""
    risk_level: str = ""  # "high" | "low"
    action_taken: str = ""  # "revoked" | "none"


@dataclass(frozen=True)
class KeyEvent:
    """One notification, as parsed by the provider module (bot.providers.paddle_notifications)."""

    notification_id: str
    event_type: str
    occurred_at: datetime
    key_record_id: str | None = None  # None for an event type that is not about a key
    status: str | None = None  # the key's status as the event's entity gives it
    expires_at: datetime | None = None
    permissions: tuple[str, ...] = ()
    exposure: Exposure | None = None


@dataclass(frozen=True)
class Touched:
    """A credential the event named: as it is now, and whether the event changed it."""

    credential: CredentialSummary
    changed: frozenset[str]  # the columns it set: key_status, key_exposed_at, key_expires_at, key_status_at


@dataclass(frozen=True)
class Applied:
    """What one notification did: ``outcome`` is applied, duplicate, older, not_held or unknown_type."""

    event: KeyEvent
    environment: str
    outcome: str
    touched: list[Touched] = field(default_factory=list)


class KeyEvents:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditLog, clock: Clock = utc_now) -> None:
        self.sessions, self.audit, self.clock = sessions, audit, clock

    def apply(self, event: KeyEvent, *, sandbox: bool) -> Applied:
        """Record ``event`` (verified with the sandbox destination's secret when ``sandbox``) and apply it once."""
        environment = "sandbox" if sandbox else "live"
        try:
            with self.sessions.begin() as session:
                session.add(
                    ProviderNotification(
                        notification_id=event.notification_id,
                        provider="paddle",
                        environment=environment,
                        event_type=event.event_type[:64],
                        occurred_at=event.occurred_at,
                        received_at=self.clock(),
                        outcome="received",
                    )
                )
                session.flush()  # the id is taken here, or IntegrityError: a delivery made again
                applied = self._apply(session, event, environment, sandbox)
                session.execute(
                    update(ProviderNotification)
                    .where(ProviderNotification.notification_id == event.notification_id)
                    .values(outcome=applied.outcome)
                )
                session.execute(
                    delete(ProviderNotification).where(ProviderNotification.received_at < self.clock() - KEEP_IDS)
                )
        except IntegrityError:
            return Applied(event, environment, "duplicate")
        return applied

    def _apply(self, session: Session, event: KeyEvent, environment: str, sandbox: bool) -> Applied:
        detail = f"notification {event.notification_id} ({environment}, occurred {event.occurred_at.isoformat()})"
        if event.event_type not in KEY_EVENTS or not event.key_record_id:
            self.audit.append(session, Workspace(), ACTOR, "paddle.notification", "unknown_type", None, detail)
            return Applied(event, environment, "unknown_type")
        destinations = [d.value for d in catalog.DESTINATIONS if d.provider == "paddle" and d.sandbox == sandbox]
        rows = session.execute(
            select(Credential)
            .where(Credential.key_record_id == event.key_record_id, Credential.destination.in_(destinations))
            .with_for_update()
        ).scalars()
        touched: list[Touched] = []
        outcomes: set[str] = set()
        for row in rows:
            values, outcome = changes(row, event)
            if values:
                session.execute(update(Credential).where(Credential.id == row.id).values(values))
            outcomes.add(outcome)
            workspace = Workspace(row.enterprise_id, row.team_id)
            self.audit.append(session, workspace, ACTOR, f"credential.{event.event_type}", outcome, row.id, detail)
            touched.append(Touched(self._summary(session, row.id), frozenset(values)))
        if not touched:
            self.audit.append(session, Workspace(), ACTOR, f"paddle.{event.event_type}", "not_held", None, detail)
            return Applied(event, environment, "not_held")
        return Applied(event, environment, "applied" if "applied" in outcomes else "older", touched)

    @staticmethod
    def _summary(session: Session, credential_id: str) -> CredentialSummary:
        return summary_of(session.execute(select(*SHOWN_COLUMNS).where(Credential.id == credential_id)).one())


def changes(row: Credential, event: KeyEvent) -> tuple[dict[str, object], str]:
    """The columns ``event`` sets on ``row`` (none when it is older than what set them), and the audit outcome."""
    values: dict[str, object] = {}
    if event.event_type == EXPOSED:
        if row.key_exposed_at is None:
            values["key_exposed_at"] = event.occurred_at
        if event.exposure is None or event.exposure.action_taken != "revoked":
            return values, "applied" if values else "older"
        status: str | None = "revoked"  # a high-risk exposure: Paddle revoked the key itself
    else:
        status = {REVOKED: "revoked", EXPIRED: "expired"}.get(event.event_type, event.status)
    newer = row.key_status_at is None or _aware(row.key_status_at) < event.occurred_at
    if not newer:
        return values, "applied" if values else "older"
    if row.key_status == "revoked" and status != "revoked":
        status = "revoked"  # Paddle never brings a revoked key back: a later event may still say its expiry
    if status and status != row.key_status:
        values["key_status"] = status
    if event.expires_at is not None and event.event_type != EXPOSED:
        values["key_expires_at"] = event.expires_at
    if event.permissions:
        values["key_permissions"] = " ".join(event.permissions)[:4000]
    values["key_status_at"] = event.occurred_at
    return values, "applied"


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive (they are UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
