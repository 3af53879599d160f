"""Who edits the board message and what it last showed, without a database lock held while Slack is called.

Every change asks for a refresh (``wanted`` + 1). One caller at a time holds the board's edit claim (``editor``
until ``claimed_until``): it reads how many refreshes were wanted, lets the database go, edits the message in
Slack, then records what it showed and the message's ts, each write a compare-and-set on its claim. It lets the
claim go only while nothing newer is wanted (a compare-and-set again); a caller that finds the board claimed
leaves its refresh to the holder, who sees ``wanted`` move and edits once more. So concurrent instances
converge on the latest state, the message is posted once, and a crashed editor's claim expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from typing import Any, cast

from sqlalchemy import CursorResult, Update, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import BoardMessage, utcnow

# Longer than an edit's Slack calls with their retries (10 s timeout, two retries each): a live editor keeps it.
CLAIM_LEASE = timedelta(seconds=120)


@dataclass(frozen=True)
class BoardTurn:
    """One edit to make: the board's message (None: post it), and the refresh count it will show."""

    channel: str
    editor: str
    wanted: int
    ts: str | None


class BoardClaims:
    """The board rows' claims; no Slack here."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions, self.clock = sessions, clock

    def request(self, channel: str) -> BoardTurn | None:
        """Ask for the board in ``channel`` to be redrawn. The turn to edit when the caller now holds the claim;
        None when another editor holds it (it sees this request before it lets go)."""
        try:
            with self.sessions.begin() as session:
                if session.get(BoardMessage, channel) is None:
                    session.add(BoardMessage(channel_id=channel, ts=None))
        except IntegrityError:
            pass  # another instance created it first
        with self.sessions.begin() as session:
            session.execute(_row(channel).values(wanted=BoardMessage.wanted + 1))
        return self._claim(channel)

    def shown(self, turn: BoardTurn, ts: str) -> BoardTurn | None:
        """Record that message ``ts`` shows ``turn``. The next turn when more was wanted meanwhile; None when the
        claim is let go (nothing newer wanted) or was lost (it expired and another editor took it)."""
        with self.sessions.begin() as session:
            kept = _changed(
                session,
                _row(channel := turn.channel)
                .where(BoardMessage.editor == turn.editor)
                .values(shown=turn.wanted, ts=ts, claimed_until=self.clock() + CLAIM_LEASE),
            )
            if not kept:
                return None
            released = _changed(
                session,
                _row(channel)
                .where(BoardMessage.editor == turn.editor, BoardMessage.wanted == BoardMessage.shown)
                .values(editor=None, claimed_until=None),
            )
            if released:
                return None
            return _turn(session, channel, turn.editor)

    def behind(self, channel: str) -> bool:
        """Whether the board in ``channel`` needs drawing with nobody at it: never posted there, or a refresh was
        asked for and no live editor holds the claim (its edit failed, or its holder died)."""
        with self.sessions() as session:
            row = session.get(BoardMessage, channel)
            if row is None:
                return True
            free = row.editor is None or _aware(row.claimed_until) < self.clock()
            return free and (row.ts is None or row.wanted > row.shown)

    def let_go(self, turn: BoardTurn) -> None:
        """Give the claim up after a failed edit; the next change's refresh tries again."""
        with self.sessions.begin() as session:
            session.execute(
                _row(turn.channel).where(BoardMessage.editor == turn.editor).values(editor=None, claimed_until=None)
            )

    def _claim(self, channel: str) -> BoardTurn | None:
        editor, now = secrets.token_hex(8), self.clock()
        with self.sessions.begin() as session:
            claimed = _changed(
                session,
                _row(channel)
                .where(or_(BoardMessage.editor.is_(None), BoardMessage.claimed_until < now))
                .values(editor=editor, claimed_until=now + CLAIM_LEASE),
            )
            if not claimed:
                return None
            return _turn(session, channel, editor)


def _aware(moment: datetime | None) -> datetime:
    """SQLite hands timestamps back without their zone; they were stored in UTC. None: long past."""
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _changed(session: Session, statement: Update) -> int:
    """Rows an UPDATE changed (a DML statement's result is a CursorResult; Session.execute is typed as Result)."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def _turn(session: Session, channel: str, editor: str) -> BoardTurn:
    row = session.get_one(BoardMessage, channel)  # the row exists: the caller's claim is on it
    return BoardTurn(channel, editor, row.wanted, row.ts)


def _row(channel: str) -> Update:
    return update(BoardMessage).where(BoardMessage.channel_id == channel).execution_options(synchronize_session=False)
