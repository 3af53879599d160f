"""OAuth mode: Bolt's install flow wired to our database (states, sealed installations) and our pages.

Bolt's flow does the protocol (the authorize URL, the state cookie, oauth.v2.access, authorize per request,
token rotation); what is ours is where things are kept, the states (signed, not stored: bot.slack.oauth.
signed_state) and what a failure says. Handing Bolt our stores also keeps it from falling back
to its file stores under $HOME, which would hold tokens in plaintext.
"""

from __future__ import annotations

import html

from slack_bolt import BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.vault import KeyRing
from bot.infra.settings import Settings
from bot.slack.oauth.installation_store import SealedInstallationStore
from bot.slack.oauth.signed_state import STATE_SECONDS, SignedStateStore, StateSigner

import logging

log = logging.getLogger(__name__)

REFRESH_MINUTES = 120  # refresh a rotating token this long before it expires (Bolt's default)


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
        state_store=SignedStateStore(sessions, StateSigner(settings.slack_client_secret.reveal())),
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


# Bolt's own reasons for a failed callback.
FAILURES = {
    "invalid_browser": "this browser did not start the installation (its cookie is missing); start again from "
    "the Add to Slack link",
    "invalid_state": "the installation link has expired or was already used; start again from the Add to Slack link",
    "missing_code": "Slack sent no authorization code",
    "invalid_code": "Slack did not accept the authorization code",
    "storage_error": "the installation could not be stored",
}
# What Slack may send back as ``error`` on the redirect: access_denied (the person cancelled, in Slack's OAuth v2
# guide) and the other codes of OAuth 2.0's authorization error response (RFC 6749, 4.1.2.1). The parameter is
# anyone's text: only one of these codes is ever logged or shown, never the parameter itself.
SLACK_ERRORS = {
    "access_denied": "the installation was cancelled in Slack",
    "invalid_request": "Slack found the installation request malformed",
    "unauthorized_client": "Slack does not allow this app to be installed this way",
    "unsupported_response_type": "Slack does not support the installation request",
    "invalid_scope": "Slack refused the permissions the app asks for (SLACK_SCOPES)",
    "server_error": "Slack had an error",
    "temporarily_unavailable": "Slack is temporarily unavailable; try again later",
}
UNKNOWN_ERROR = "unknown_error"


def success_page(args: SuccessArgs) -> BoltResponse:
    where = args.installation.team_name or args.installation.enterprise_name or "your workspace"
    return _page(
        200,
        "Credbot is installed",
        f"Credbot is installed in {where}. Next: open Credbot's Home tab "
        "in Slack to see your credentials, or run /create-credential to add one.",
    )


def failure_page(args: FailureArgs) -> BoltResponse:
    code, text = failure_reason(args)
    log.info("an installation failed: %s", code)
    return _page(args.suggested_status_code, "Credbot was not installed", f"Credbot was not installed: {text}.")


def failure_reason(args: FailureArgs) -> tuple[str, str]:
    """The failure's code and text, from Bolt's reasons or Slack's known error codes only."""
    if args.request is not None and args.request.query.get("error"):  # Bolt's reason is the parameter, as sent
        code = args.reason if args.reason in SLACK_ERRORS else UNKNOWN_ERROR
        return code, SLACK_ERRORS.get(code, "Slack answered with an error Credbot does not know")
    if args.reason in FAILURES:
        return args.reason, FAILURES[args.reason]
    return UNKNOWN_ERROR, "the installation failed"


def _page(status: int, title: str, text: str) -> BoltResponse:
    body = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    )
