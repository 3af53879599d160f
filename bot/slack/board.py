"""The board: with CREDBOT_BOARD_CHANNEL set, one message in that channel lists every credential and is edited
in place (chat.update) after every create, replace, rename and delete.

Several instances may change credentials at the same moment; each refresh happens under the board's row lock
(bot/credentials/board_lock.py), reading the credentials inside it, so the last edit always shows the latest state.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.credentials.board_lock import locked_board
from bot.slack.slack_lookup import UNREADABLE
from bot.slack.ui.home_tab import BOARD_LIMIT, board_message

log = logging.getLogger(__name__)


def board_scope(services, channel: str) -> object:
    """The team whose credentials the board shows: its channel's owner, or None for every workspace's (org-wide
    option on, or a channel Slack names no owner for); UNREADABLE when Slack could not say."""
    owners = services.owners
    if owners is None or owners.org_wide:
        return None
    return owners.owner(channel)


def refresh_board(services, client: WebClient) -> None:
    """Bring the board message up to date (post it the first time). Never raises: the change itself is done."""
    channel = services.settings.board_channel
    if not channel:
        return
    try:
        team_id = board_scope(services, channel)
        if team_id is UNREADABLE:
            return  # logged by ChannelOwners; the board keeps what it showed rather than show too much
        with locked_board(services.credentials.sessions, channel) as board:
            text, blocks = board_message(*services.queries.board_listing(BOARD_LIMIT, team_id))
            if board.ts:
                try:
                    client.chat_update(channel=channel, ts=board.ts, text=text, blocks=blocks)
                    return
                except SlackApiError as error:
                    if error.response.get("error") not in ("message_not_found", "cant_update_message"):
                        raise
                    log.info("the board message is gone; posting a new one")
            board.ts = client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)["ts"]
    except (SQLAlchemyError, SlackApiError, OSError) as error:
        log.warning("the board in %s could not be updated: %s", channel, type(error).__name__)
