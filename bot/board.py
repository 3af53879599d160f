"""The board: with CREDBOT_BOARD_CHANNEL set, one message in that channel lists every credential and is edited
in place after every create, replace, rename and delete.

Several instances may change credentials at the same moment. Each refresh takes the board's row lock
(SELECT … FOR UPDATE on PostgreSQL; SQLite's single writer lock, taken by updating the row first), reads the
credentials *inside* that lock and only then edits the message, so the last edit always shows the latest
state and only one message is ever posted.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.credentials.models import BoardMessage, utcnow

log = logging.getLogger(__name__)


def refresh_board(services, client: WebClient) -> None:
    """Bring the board message up to date (post it the first time). Never raises: the change itself is done."""
    channel = services.settings.board_channel
    if not channel:
        return
    try:
        _refresh(services, client, channel)
    except (SQLAlchemyError, SlackApiError, OSError) as error:
        log.warning("the board in %s could not be updated: %s", channel, type(error).__name__)


def _refresh(services, client: WebClient, channel: str) -> None:
    from bot.ui.home import board_message

    sessions = services.credentials.sessions
    _ensure_row(sessions, channel)
    with sessions.begin() as session:
        # Take the lock first (the UPDATE makes SQLite's transaction the writer), then read.
        session.execute(update(BoardMessage).where(BoardMessage.channel_id == channel).values(updated_at=utcnow()))
        board = session.scalar(select(BoardMessage).where(BoardMessage.channel_id == channel).with_for_update())
        text, blocks = board_message(services.credentials.all_credentials())
        if board.ts:
            try:
                client.chat_update(channel=channel, ts=board.ts, text=text, blocks=blocks)
                return
            except SlackApiError as error:
                if error.response.get("error") not in ("message_not_found", "cant_update_message"):
                    raise
                log.info("the board message is gone; posting a new one")
        posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
        board.ts = posted["ts"]


def _ensure_row(sessions, channel: str) -> None:
    try:
        with sessions.begin() as session:
            if session.get(BoardMessage, channel) is None:
                session.add(BoardMessage(channel_id=channel, ts=None))
    except IntegrityError:
        pass  # another instance created it first
