"""The daily look at each stored key: its record read with the provider, as a Test connection reads it, but by
Credbot, once a day per deployment (no Slack here: bot.slack.daily_look runs the pass and tells people).

Each credential's look is claimed in ``workspace_jobs`` (job ``key_look``, scope the credential id without its
dashes) with the same compare-and-set as the per-workspace jobs, and is taken only if it was not finished within
the last interval: two instances, or the loop and ``credentials look``, never both look at a key the same day. A
look the provider could not answer (unreachable, timeout, rate limited) changes nothing and is not finished, so the
key stays due. A look that finds the provider refusing a key it accepted before, or its record newly ``revoked``, is
a change said once: the next day's look finds it refused already.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials import catalog
from bot.credentials.errors import KeyUnreadable
from bot.credentials.job_claims import JobClaims
from bot.credentials.key_records import record_values
from bot.credentials.models import Credential, WorkspaceJob
from bot.credentials.queries import SHOWN_COLUMNS, summary_of, utc, verification_column
from bot.credentials.types import CredentialSummary, KeyCheck, Outcome, Verification, Workspace

if TYPE_CHECKING:  # the service imports nothing of this module
    from bot.credentials.service import CredentialService

log = logging.getLogger(__name__)

JOB = "key_look"
ACTOR = "credbot"
GONE_STATUSES = ("revoked", "expired")  # a record saying so: the key no longer works

# What one look came to (the metric's label): accepted, refused, unavailable, unreadable (the key does not
# decrypt: audited by the decrypt path), no_provider (a destination the catalog no longer has).
ACCEPTED, REFUSED, UNAVAILABLE, UNREADABLE, NO_PROVIDER = "accepted", "refused", "unavailable", "unreadable", "none"


@dataclass(frozen=True)
class Looked:
    """One credential looked at: as it is now, what the look came to, and what changed that people hear of."""

    credential: CredentialSummary
    outcome: str
    alert: str | None = None  # "refused" (the provider refuses it now) or "revoked" (its record says so), once
    status_changed: bool = False  # its status or its last check's outcome changed: redraw where it is shown


def scope_of(credential_id: str) -> str:
    """The claim's scope: the id without dashes (32 characters, the column's width)."""
    return credential_id.replace("-", "")


class KeyLook:
    """Looks at keys through the service's one decrypt path and its provider port (``verifier.check``)."""

    def __init__(self, service: CredentialService, clock: Callable[[], datetime]) -> None:
        self.service, self.clock = service, clock
        self.sessions: sessionmaker[Session] = service.sessions
        self.claims = JobClaims(service.sessions, clock=clock)

    def due(self, interval: timedelta) -> tuple[list[str], int]:
        """The ids of the credentials not looked at within ``interval``, those looked at longest ago (never: first,
        oldest credential first) first; and how many credentials are stored."""
        with self.sessions() as session:
            rows = session.execute(select(Credential.id).order_by(Credential.created_at, Credential.id)).scalars()
            ids = list(rows)
            finished = dict(
                session.execute(
                    select(WorkspaceJob.scope_id, WorkspaceJob.finished_at).where(WorkspaceJob.job == JOB)
                ).all()
            )
        since = self.clock() - interval
        never = datetime.min.replace(tzinfo=since.tzinfo)
        last = {i: utc(finished.get(scope_of(i))) or never for i in ids}
        return sorted((i for i in ids if last[i] <= since), key=lambda i: last[i]), len(ids)

    def look(self, credential_id: str, interval: timedelta) -> Looked | None:
        """Look at one key if no one has within ``interval`` (None: done already, claimed elsewhere, or gone)."""
        scope = scope_of(credential_id)
        holder = self.claims.claim(JOB, scope, unless_finished_since=self.clock() - interval)
        if holder is None:
            return None
        looked: Looked | None = None
        try:
            looked = self._look(credential_id)
        finally:
            done = looked is not None and looked.outcome != UNAVAILABLE
            self.claims.release(JOB, scope, holder, finished=done)
        return looked

    def _look(self, credential_id: str) -> Looked | None:
        with self.sessions() as session:
            row = session.get(Credential, credential_id)
            if row is not None:
                session.expunge(row)
        if row is None:
            return None
        dest = catalog.destination(row.destination)
        if dest is None:
            return Looked(summary_of(row), NO_PROVIDER)
        try:
            api_key = self.service._open(row, ACTOR, "credential.look")
        except KeyUnreadable:
            return Looked(summary_of(row), UNREADABLE)
        with self.service.observer.holding(api_key):
            check = self.service.verifier.check(dest.value, api_key, catalog.key_record_id(dest, api_key.reveal()))
        if check.outcome is Outcome.UNAVAILABLE:
            log.info("the daily look could not reach the provider for credential %s: %s", row.id, check.reason)
            self.service.observer.key_check_failed(check.reason)
            return Looked(summary_of(row), UNAVAILABLE)
        return self._store(row.id, check)

    def _store(self, credential_id: str, check: KeyCheck) -> Looked | None:
        """Store what the provider said, and decide against the row as it is in the same transaction whether it
        is news: a refusal after an acceptance (or no check yet), a record newly revoked."""
        now = self.clock()
        verification = Verification(now, check.outcome, check.reason)
        values: dict[str, object] = {"last_verified_at": now, "last_verification": verification_column(verification)}
        if check.record is not None:  # a key without a record (legacy, or refused) keeps what was known of it
            values.update(record_values(check.record, now))
        with self.sessions.begin() as session:
            row = session.execute(select(Credential).where(Credential.id == credential_id).with_for_update()).scalar()
            if row is None:
                return None
            was_refused = (row.last_verification or "").startswith(Outcome.REJECTED.value)
            known_gone = row.key_status in GONE_STATUSES
            alert = None
            if check.outcome is Outcome.REJECTED and not was_refused and not known_gone:
                alert = "refused"
            elif check.record is not None and check.record.status == "revoked" and not known_gone:
                alert = "revoked"
            status_changed = was_refused != (check.outcome is Outcome.REJECTED) or (
                check.record is not None and check.record.status != row.key_status
            )
            session.execute(update(Credential).where(Credential.id == credential_id).values(values))
            if alert is not None:
                self.service.audit.append(
                    session, Workspace(row.enterprise_id, row.team_id), ACTOR, "credential.look", alert, row.id,
                    check.reason or f"record status {check.record.status if check.record else '-'}",
                )  # fmt: skip
            current = summary_of(session.execute(select(*SHOWN_COLUMNS).where(Credential.id == credential_id)).one())
        outcome = ACCEPTED if check.accepted else REFUSED
        return Looked(current, outcome, alert, status_changed)
