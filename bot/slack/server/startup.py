"""Reaching Slack at start-up. What may pass (the network, Slack's 5xx, rate limits) is retried with capped
exponential backoff and one log line per attempt, for as long as it takes or until SIGTERM; what will not pass
(a token Slack refuses, Socket Mode off for the app) stops start-up with the setting to fix."""

from __future__ import annotations

import logging
import threading
from typing import TypeVar
from collections.abc import Callable, Iterator

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.infra.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_DELAY, MAX_DELAY = 1.0, 60.0
# ok:false answers that say "not now" rather than "no".
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackRefused(Exception):
    """Slack answered and said no: the message names the setting to fix."""


def backoff_delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """1, 2, 4, … seconds, then ``cap`` for ever."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def until_reachable(
    attempt: Callable[[], T], what: str, stop: threading.Event, refusal: Callable[[str], str]
) -> T | None:
    """``attempt()``'s result once Slack answers; None if ``stop`` was set while waiting to try again.

    Raises SlackRefused (with ``refusal(error code)``) when Slack answers with a definite no."""
    for delay in backoff_delays():
        try:
            return attempt()
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            status = error.response.status_code
            if status < 500 and status != 429 and code not in TRANSIENT_ERRORS:
                raise SlackRefused(refusal(code or f"HTTP {status}")) from None
            reason = f"Slack answered HTTP {status} {code}".strip()
        except (OSError, SlackClientError) as error:  # no route, refused, timed out, TLS, websocket handshake
            reason = _one_line(error)
        log.warning("%s: Slack cannot be reached (%s); trying again in %.0f s", what, reason, delay)
        if stop.wait(delay):
            return None
    return None  # unreachable: backoff_delays never ends


def check_bot_token(settings: Settings, stop: threading.Event) -> bool:
    """auth.test until Slack answers; False if stopped first. Raises SlackRefused for a refused token."""
    if settings.slack_bot_token is None:  # load_settings("serve") requires it outside OAuth mode
        raise ValueError("check_bot_token needs SLACK_BOT_TOKEN")
    client = WebClient(
        token=settings.slack_bot_token.reveal(),
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[],
        logger=_quiet_client_log(),
    )  # retried here, one log line per attempt
    identity = until_reachable(
        client.auth_test,
        "checking SLACK_BOT_TOKEN",
        stop,
        lambda code: (
            f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token (xoxb-…) again from your app's "
            "OAuth & Permissions page"
        ),
    )
    if identity is None:
        return False
    log.info("Slack token belongs to bot %s in team %s", identity.get("user_id"), identity.get("team_id"))
    return True


def socket_mode_refusal(code: str) -> str:
    if code == "not_configured":
        return (
            "Slack refused a Socket Mode connection (not_configured): turn Socket Mode on for the app "
            "(Settings > Socket Mode), or unset SLACK_APP_TOKEN to serve over HTTP"
        )
    return (
        f"Slack refused SLACK_APP_TOKEN ({code}): use an app-level token (xapp-…) with the connections:write "
        "scope, from your app's Basic Information page"
    )


def connect_socket_mode(handler, stop: threading.Event) -> bool:
    """Open the Socket Mode connection (a Bolt SocketModeHandler) until it works; False if stopped first."""

    def attempt() -> bool:
        handler.client.wss_uri = None  # each try asks Slack for a fresh URL: they are single-use
        handler.connect()
        return True

    return until_reachable(attempt, "opening the Socket Mode connection", stop, socket_mode_refusal) is not None


def _quiet_client_log() -> logging.Logger:
    """slack-sdk logs each failed request as an ERROR; our warning per attempt says it once (DEBUG keeps both)."""
    client_log = logging.getLogger("bot.slack.startup.client")
    client_log.setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.CRITICAL)
    return client_log


def _one_line(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error  # urllib's URLError wraps the socket error
    text = " ".join(str(reason).split())
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__
