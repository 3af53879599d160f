"""OAuth mode: Bolt's install flow wired to our database (states, sealed installations) and our pages.

Bolt's flow does the protocol (the authorize URL, the state cookie, oauth.v2.access, authorize per request,
token rotation); what is ours is where things are kept. Handing Bolt our stores also keeps it from falling back
to its file stores under $HOME, which would hold tokens in plaintext.
"""

from __future__ import annotations

import html
import secrets
from datetime import datetime, timedelta, UTC
from typing import Any, cast

from slack_bolt import BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk import WebClient
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import OAuthState
from bot.credentials.vault import KeyRing
from bot.infra.settings import Settings
from bot.slack.oauth.installation_store import SealedInstallationStore

import logging

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # a state is good for ten minutes, once
REFRESH_MINUTES = 120  # refresh a rotating token this long before it expires (Bolt's default)


class DatabaseStateStore(OAuthStateStore):
    """States in ``slack_oauth_states``: any instance can complete a flow another started; consumed once."""

    def __init__(self, sessions: sessionmaker[Session], seconds: int = STATE_SECONDS) -> None:
        self.sessions = sessions
        self.seconds = seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            session.execute(delete(OAuthState).where(OAuthState.expires_at < now))  # the abandoned ones
            session.add(OAuthState(state=state, expires_at=now + timedelta(seconds=self.seconds)))
        return state

    def consume(self, state: str) -> bool:
        """True once for a state that was issued and has not expired; deleting it is the claim."""
        if not state:
            return False
        with self.sessions.begin() as session:
            deleted = session.execute(
                delete(OAuthState).where(OAuthState.state == state, OAuthState.expires_at >= datetime.now(UTC))
            )
            return cast(CursorResult[Any], deleted).rowcount == 1  # a DELETE's result is a CursorResult


def installation_store(
    settings: Settings, sessions: sessionmaker[Session], key_ring: KeyRing, client: WebClient
) -> SealedInstallationStore:
    """The store, with a token rotator that calls oauth.v2.access at SLACK_API_URL (through ``client``)."""
    assert settings.slack_client_id and settings.slack_client_secret
    rotator = TokenRotator(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret.reveal(), client=client
    )
    return SealedInstallationStore(
        sessions, key_ring, client_id=settings.slack_client_id, rotator=rotator, refresh_minutes=REFRESH_MINUTES
    )


def oauth_settings(
    settings: Settings, store: SealedInstallationStore, sessions: sessionmaker[Session], client: WebClient
) -> OAuthSettings:
    """Bolt's OAuth settings over our stores; /slack/install answers with a 302 to Slack (and its cookie)."""
    assert settings.slack_client_id and settings.slack_client_secret
    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.reveal(),
        scopes=list(settings.slack_scopes),
        redirect_uri=settings.slack_redirect_uri,
        install_page_rendering_enabled=False,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=DatabaseStateStore(sessions),
        state_expiration_seconds=STATE_SECONDS,
        token_rotation_expiration_minutes=REFRESH_MINUTES,
        callback_options=CallbackOptions(success=success_page, failure=failure_page),
        logger=log,
    )
    # Bolt's own authorize would build its token rotator on a default client (slack.com, whatever SLACK_API_URL
    # says). The store refreshes first, under its claim, so this rotator finds nothing left to do; it is there
    # because Bolt refuses a bot with a refresh token when it has none.
    oauth.authorize = InstallationStoreAuthorize(
        logger=log,
        installation_store=store,
        bot_only=True,
        client=client,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.reveal(),
        token_rotation_expiration_minutes=REFRESH_MINUTES,
    )
    return oauth


FAILURES = {
    "invalid_browser": "this browser did not start the installation (its cookie is missing); start again from "
    "the Add to Slack link",
    "invalid_state": "the installation link has expired or was already used; start again from the Add to Slack link",
    "missing_code": "Slack sent no authorization code",
    "invalid_code": "Slack did not accept the authorization code",
    "storage_error": "the installation could not be stored",
    "access_denied": "the installation was cancelled in Slack",
}


def success_page(args: SuccessArgs) -> BoltResponse:
    where = args.installation.team_name or args.installation.enterprise_name or "your workspace"
    return _page(
        200,
        "Credbot is installed",
        f"Credbot is installed in {where}. Next: open Credbot's Home tab "
        "in Slack to see your credentials, or run /create-credential to add one.",
    )


def failure_page(args: FailureArgs) -> BoltResponse:
    reason = FAILURES.get(args.reason, f"Slack answered {args.reason}")
    log.info("an installation failed: %s", args.reason)
    return _page(args.suggested_status_code, "Credbot was not installed", f"Credbot was not installed: {reason}.")


def _page(status: int, title: str, text: str) -> BoltResponse:
    body = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    )
