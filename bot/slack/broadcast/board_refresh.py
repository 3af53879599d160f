"""The board: with a board channel in effect for the workspace of a change (its saved ``board_channel``, else
CREDBOT_BOARD_CHANNEL), one message in that channel lists every credential and is edited in place (chat.update)
after every change.

Several instances may change credentials at the same moment. No database lock is held while Slack is called:
one caller at a time holds the board's edit claim (bot/credentials/board_claims.py), reads the credentials after
taking it, edits the message, and edits again while more changes arrived meanwhile; the others leave their
refresh to it. So the last edit shows the latest state and the message is posted only once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.credentials.board_claims import BoardClaims, BoardTurn
from bot.slack.slack_lookup import UNREADABLE
from bot.slack.ui.channel_messages import BOARD_LIMIT, board_message

if TYPE_CHECKING:
    from bot.slack.services import Services

log = logging.getLogger(__name__)


def board_scope(services: Services, channel: str) -> object:
    """The team whose credentials the board shows: its channel's owner, or None for every workspace's (org-wide
    option on, or a channel Slack names no owner for); UNREADABLE when Slack could not say."""
    owners = services.owners
    if owners is None or owners.org_wide:
        return None
    return owners.owner(channel)


def refresh_board(services: Services, client: WebClient, channel: str | None) -> None:
    """Bring the board message in ``channel`` (the changed workspace's board channel in effect) up to date (post
    it the first time). Never raises: the change itself is done."""
    if not channel:
        return
    try:
        team_id = board_scope(services, channel)
        if team_id is UNREADABLE:
            return  # logged by ChannelOwners; the board keeps what it showed rather than show too much
        claims = BoardClaims(services.credentials.sessions)
        turn = claims.request(channel)
        while turn is not None:  # this caller holds the claim: edit until nothing newer is wanted
            text, blocks = board_message(*services.queries.board_listing(BOARD_LIMIT, cast(str | None, team_id)))
            try:
                ts = show(client, turn, text, blocks)
            except BaseException:
                claims.let_go(turn)
                raise
            turn = claims.shown(turn, ts)
    except (SQLAlchemyError, SlackApiError, OSError) as error:
        log.warning("the board in %s could not be updated: %s", channel, type(error).__name__)


def show(client: WebClient, turn: BoardTurn, text: str, blocks: list) -> str:
    """Edit the board message (post it when there is none, or it is gone); its ts."""
    if turn.ts:
        try:
            client.chat_update(channel=turn.channel, ts=turn.ts, text=text, blocks=blocks)
            return turn.ts
        except SlackApiError as error:
            if error.response.get("error") not in ("message_not_found", "cant_update_message"):
                raise
            log.info("the board message is gone; posting a new one")
    return client.chat_postMessage(channel=turn.channel, text=text, blocks=blocks, unfurl_links=False)["ts"]
