"""Background jobs claimed per workspace, so that instances running a pass at the same moment split the workspaces
between them instead of each doing all of them (no Slack here).

A claim is a row of ``workspace_jobs`` per (job, workspace): an instance takes it with one compare-and-set UPDATE
(free, or its lease ran out: its holder died), does the workspace's part of the job, and lets it go recording when
it finished. Nothing is locked while Slack is called. What must happen at most once (a reminder) keeps its own
claim (bot/credentials/expiry.py): a workspace claim that expired under a slow holder lets another instance in,
and the reminders it finds are already claimed. Times are the claiming process's clock (UTC), as the board's are.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import WorkspaceJob, utcnow

# Longer than one workspace's part of a pass with Slack's Retry-After waits; a live holder finishes well within it.
JOB_LEASE = timedelta(minutes=10)


class JobClaims:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow, lease: timedelta = JOB_LEASE
    ) -> None:
        self.sessions, self.clock, self.lease = sessions, clock, lease

    def claim(self, job: str, scope_id: str, *, unless_finished_since: datetime | None = None) -> str | None:
        """The holder token when this caller now holds ``job`` for ``scope_id``; None when another instance does,
        or (``unless_finished_since``) when it was last finished after that moment: done already."""
        try:
            with self.sessions.begin() as session:
                if session.get(WorkspaceJob, (job, scope_id)) is None:
                    session.add(WorkspaceJob(job=job, scope_id=scope_id))
        except IntegrityError:
            pass  # another instance created it first
        holder, now = secrets.token_hex(8), self.clock()
        not_done: list[Any] = []
        if unless_finished_since is not None:
            not_done.append(or_(WorkspaceJob.finished_at.is_(None), WorkspaceJob.finished_at <= unless_finished_since))
        with self.sessions.begin() as session:
            taken = _changed(
                session,
                update(WorkspaceJob)
                .where(
                    WorkspaceJob.job == job,
                    WorkspaceJob.scope_id == scope_id,
                    or_(WorkspaceJob.holder.is_(None), WorkspaceJob.claimed_until < now),
                    *not_done,
                )
                .values(holder=holder, claimed_until=now + self.lease),
            )
        return holder if taken else None

    def release(self, job: str, scope_id: str, holder: str, *, finished: bool = True) -> None:
        """Let the claim go (only if still ours); ``finished``: record that the job was done now."""
        values: dict[str, Any] = {"holder": None, "claimed_until": None}
        if finished:
            values["finished_at"] = self.clock()
        with self.sessions.begin() as session:
            session.execute(
                update(WorkspaceJob)
                .where(WorkspaceJob.job == job, WorkspaceJob.scope_id == scope_id, WorkspaceJob.holder == holder)
                .values(**values)
            )


def _changed(session: Session, statement: Any) -> int:
    return cast(CursorResult[Any], session.execute(statement.execution_options(synchronize_session=False))).rowcount
