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
from typing import TYPE_CHECKING, Protocol, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.credentials.board_claims import BoardClaims, BoardTurn
from bot.credentials.workspace_settings import all_saved
from bot.slack.slack_lookup import UNREADABLE
from bot.slack.ui.channel_messages import BOARD_LIMIT, board_message
from bot.slack.workspace_jobs import Installed, each_workspace, installations, with_org_teams

if TYPE_CHECKING:
    from bot.credentials.queries import CredentialQueries
    from bot.credentials.service import CredentialService
    from bot.credentials.types import Workspace
    from bot.credentials.workspace_settings import WorkspaceSettings
    from bot.slack.broadcast.channel_owners import ChannelOwners
    from bot.slack.workspace_jobs import WorkspaceClients


class BoardServices(Protocol):
    """What the board needs of bot.slack.services.Services (whose background loop runs the board's pass: naming
    it here would make an import circle)."""

    credentials: CredentialService
    owners: ChannelOwners | None
    workspace_clients: WorkspaceClients | None

    @property
    def queries(self) -> CredentialQueries: ...

    def settings_for(self, workspace: Workspace) -> WorkspaceSettings: ...


log = logging.getLogger(__name__)


def board_scope(services: BoardServices, channel: str, client: WebClient | None = None) -> object:
    """The team whose credentials the board shows: its channel's owner, or None for every workspace's (org-wide
    option on, or a channel Slack names no owner for); UNREADABLE when Slack could not say. ``client``: the
    caller's (in OAuth mode the process's own has no token: the workspace's asks)."""
    owners = services.owners
    if owners is None or owners.org_wide:
        return None
    return owners.owner(channel, client)


def refresh_board(services: BoardServices, client: WebClient, channel: str | None) -> None:
    """Bring the board message in ``channel`` (the changed workspace's board channel in effect) up to date (post
    it the first time). Never raises: the change itself is done."""
    if not channel:
        return
    try:
        team_id = board_scope(services, channel, client)
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


def run_board_pass(services: BoardServices) -> int:
    """OAuth mode: bring each installed workspace's board up to date where it is behind (never posted in the board
    channel in effect, or an edit that failed or was abandoned), with the workspace's own token, each workspace
    claimed by one instance (bot.slack.workspace_jobs); how many boards this instance drew. A change made in
    Slack draws its board at once; this catches what that could not."""
    from bot.slack.settings_book import SettingsUnavailable  # when used: it imports prometheus-client (see serve)

    clients = services.workspace_clients
    if clients is None:
        return 0
    sessions = services.credentials.sessions
    claims, channels = BoardClaims(sessions), {}
    for installed in with_org_teams(installations(sessions), all_saved(sessions)[1]):
        try:
            channel = services.settings_for(installed.workspace).board_channel
        except SettingsUnavailable:
            continue  # the next pass: never the environment's channel for a workspace that may have its own
        if channel and claims.behind(channel):
            channels[installed.scope_id] = (installed, channel)

    def draw(installed: Installed, client: WebClient) -> None:
        channel = channels[installed.scope_id][1]
        owner = board_scope(services, channel, client)
        team = installed.workspace.team_id  # an org-wide install's own board: any team of its org
        theirs = owner in (None, team) or (installed.org_wide and not team)
        if owner is not UNREADABLE and theirs:  # another workspace's channel is drawn by its own installation
            refresh_board(services, client, channel)

    return each_workspace(sessions, clients, "board", [i for i, _ in channels.values()], draw)


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
