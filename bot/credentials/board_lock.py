"""Where the board message is, under a lock that serialises its editors across instances (no Slack here)."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import BoardMessage, utcnow


@contextmanager
def locked_board(sessions: sessionmaker[Session], channel: str) -> Iterator[BoardMessage]:
    """The board's row, locked until the block ends; set ``.ts`` on it to remember a newly posted message.

    The lock is SELECT … FOR UPDATE on PostgreSQL and SQLite's single writer lock (taken by updating the row
    first). Whoever holds it reads the credentials and edits the message, so the last edit shows the latest
    state and the message is posted only once.
    """
    try:
        with sessions.begin() as session:
            if session.get(BoardMessage, channel) is None:
                session.add(BoardMessage(channel_id=channel, ts=None))
    except IntegrityError:
        pass  # another instance created it first
    with sessions.begin() as session:
        session.execute(update(BoardMessage).where(BoardMessage.channel_id == channel).values(updated_at=utcnow()))
        # scalar_one: the row was made above, and nothing deletes a board's row
        yield session.execute(
            select(BoardMessage).where(BoardMessage.channel_id == channel).with_for_update()
        ).scalar_one()
