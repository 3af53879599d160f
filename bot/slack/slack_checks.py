"""What `credbot check` asks Slack: does a bot token work, which scopes was it granted, is the bot in a channel.

Slack names a token's granted scopes in the ``X-OAuth-Scopes`` header of every Web API answer (comma-separated;
api.slack.com, "Working with scopes"), so auth.test says both who the token is and what it may do. Failures are
:class:`SlackCheckFailed`, whose message says what Slack said; the caller adds what to do. No token is ever put
into a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Iterable, Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


SCOPES_HEADER = "x-oauth-scopes"
REFUSED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission"}


class SlackCheckFailed(Exception):
    """Slack could not be asked, or said no; ``code`` is Slack's error code (or "unreachable", "http_<status>")."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def refused(self) -> bool:
        return self.code in REFUSED


@dataclass(frozen=True)
class TokenFacts:
    user: str
    team: str
    team_id: str
    scopes: tuple[str, ...] | None  # None: Slack's answer named none (a proxy that drops headers)


def check_client(token: str, base_url: str) -> WebClient:
    """A client that retries once what may pass (a dropped connection, a rate limit, a 5xx), quietly."""
    client_log = logging.getLogger("bot.slack.checks.client")
    client_log.setLevel(logging.DEBUG if logging.getLogger().isEnabledFor(logging.DEBUG) else logging.CRITICAL)
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=10,
        logger=client_log,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def token_facts(client: WebClient) -> TokenFacts:
    """auth.test: whose token it is and the scopes Slack says it has."""
    answer = _call(client, "auth.test", lambda: client.auth_test())
    return TokenFacts(
        str(answer.get("user") or ""),
        str(answer.get("team") or ""),
        str(answer.get("team_id") or ""),
        granted_scopes(answer.headers),
    )


def granted_scopes(headers: Mapping[str, object]) -> tuple[str, ...] | None:
    """The scopes in an ``X-OAuth-Scopes`` header (any case of the name); None when there is no such header."""
    value = next((str(v) for k, v in headers.items() if str(k).lower() == SCOPES_HEADER), None)
    if value is None:
        return None
    return tuple(scope.strip() for scope in value.split(",") if scope.strip())


def missing_scopes(granted: Iterable[str], wanted: Iterable[str]) -> list[str]:
    have = set(granted)
    return [scope for scope in wanted if scope not in have]


def bot_is_member(client: WebClient, channel: str) -> bool:
    """conversations.info's ``channel.is_member``; raises SlackCheckFailed (``channel_not_found`` among others:
    Slack's answer for a private channel the bot is not in, too)."""
    answer = _call(client, "conversations.info", lambda: client.conversations_info(channel=channel))
    return bool((answer.get("channel") or {}).get("is_member"))


def usergroup_exists(client: WebClient, group: str, team_id: str = "") -> bool:
    """Whether Slack knows the user group ``group`` (``usergroups.users.list``: ``no_such_subteam`` for one it
    does not, a disabled group included); ``team_id`` for an org-wide token. Other errors raise SlackCheckFailed."""
    try:
        _call(
            client,
            "usergroups.users.list",
            lambda: client.usergroups_users_list(usergroup=group, team_id=team_id or None),
        )
    except SlackCheckFailed as failed:
        if failed.code == "no_such_subteam":
            return False
        raise
    return True


def _call(client: WebClient, method: str, call):
    try:
        return call()
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error") or "") if isinstance(error.response.data, dict) else ""
        if status >= 500 or not code:
            raise SlackCheckFailed(f"Slack answered {method} with HTTP {status}", code or f"http_{status}") from None
        raise SlackCheckFailed(f"Slack answered {method} with {code}", code) from None
    except (OSError, SlackClientError) as error:  # no route, refused, timed out, TLS
        reason = getattr(error, "reason", None) or error
        text = " ".join(str(reason).split())[:200]
        raise SlackCheckFailed(
            f"Slack at {client.base_url} cannot be reached ({type(reason).__name__}{': ' + text if text else ''})",
            "unreachable",
        ) from None
