"""Slack's side of a request: payloads shaped and signed as Slack sends them.

Signatures come from slack-sdk's own ``SignatureVerifier.generate_signature`` (what the bot checks them with),
not from an HMAC written here. ``SlackRequests`` builds the bodies; a subclass decides where they go:
``SlackSender`` POSTs them to a running server, ``tests.kit.in_process.DispatchSender`` hands them to a Bolt
app in this process.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

__all__ = ["Reply", "SlackRequests", "SlackSender", "new_trigger_id", "sign"]

_trigger_counter = itertools.count(1)


def sign(signing_secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for ``body`` (timestamp defaults to now).

    Slack signs UTF-8 text, and slack-sdk verifies only that: a body that is not UTF-8 cannot carry a valid
    signature, so asking for one is a mistake in the test (ValueError).
    """
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                "a body that is not UTF-8 cannot be signed the way Slack signs; send it unsigned"
            ) from None
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


_sign = sign  # SlackRequests.post has a ``sign`` flag that shadows the function


@dataclass
class Reply:
    """The bot's answer to one request; error statuses are returned, not raised."""

    status: int
    body: bytes
    headers: Message

    def json(self) -> Any:
        """The json-decoded body, or None when the body is empty."""
        return json.loads(self.body) if self.body.strip() else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class SlackRequests:
    """Builds the requests Slack sends (slash commands, Events API callbacks, interactions) and posts them."""

    def __init__(self, signing_secret: str) -> None:
        self.signing_secret = signing_secret

    def post(
        self,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        sign: bool = True,
    ) -> Reply:
        """Send a raw body; signed unless ``sign=False``. Extra ``headers`` win."""
        raise NotImplementedError

    def headers_for(
        self, body: bytes, content_type: str, headers: dict[str, str] | None, timestamp: int | None, sign: bool
    ) -> dict[str, str]:
        all_headers = {"Content-Type": content_type}
        if sign:
            all_headers.update(_sign(self.signing_secret, body, timestamp))
        all_headers.update(headers or {})
        return all_headers

    def command(
        self,
        command: str,
        text: str = "",
        *,
        team_id: str = "T0001",
        user_id: str = "U0001",
        enterprise_id: str | None = None,
        channel_id: str = "C0001",
        trigger_id: str | None = None,
        response_url: str = "http://127.0.0.1:1/none",
        **extra: str,
    ) -> Reply:
        """Send a slash command (form-encoded, like Slack does)."""
        fields = {"token": "verification-token", "team_id": team_id, "team_domain": "example"}
        if enterprise_id is not None:
            fields["enterprise_id"] = enterprise_id
        fields.update(
            channel_id=channel_id,
            channel_name="general",
            user_id=user_id,
            user_name="user",
            command=command,
            text=text,
            api_app_id="A0001",
            response_url=response_url,
            trigger_id=trigger_id or new_trigger_id(),
        )
        fields.update(extra)
        return self.post(urlencode(fields).encode(), "application/x-www-form-urlencoded")

    def event(self, payload: dict[str, Any]) -> Reply:
        """Send an Events API callback (JSON, like Slack does)."""
        return self.post(json.dumps(payload).encode(), "application/json")

    def interaction(self, payload: dict[str, Any]) -> Reply:
        """Send an interactivity payload (block_actions, view_submission, ...)."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded")


class SlackSender(SlackRequests):
    """Posts signed Slack payloads to ``<base_url>/slack/events`` over HTTP."""

    def __init__(self, base_url: str, signing_secret: str, timeout: float = 10.0) -> None:
        super().__init__(signing_secret)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def events_url(self) -> str:
        return self.base_url + "/slack/events"

    def post(
        self,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        sign: bool = True,
    ) -> Reply:
        all_headers = self.headers_for(body, content_type, headers, timestamp, sign)
        request = urllib.request.Request(self.events_url, data=body, headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Reply(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            try:
                return Reply(error.code, error.read(), error.headers)
            finally:
                error.close()


def new_trigger_id() -> str:
    """A fresh trigger_id shaped like Slack's."""
    return f"{int(time.time())}.{next(_trigger_counter)}.{secrets.token_hex(16)}"


def command_body(team: str = "T0HTTP") -> bytes:
    """A /create-credential slash command body, for requests sent by hand (forged, unsigned, mislabelled)."""
    return urlencode(
        {
            "command": "/create-credential",
            "text": "",
            "team_id": team,
            "user_id": "U1",
            "trigger_id": "trg-forged",
            "channel_id": "C1",
            "response_url": "http://127.0.0.1:1/",
        }
    ).encode()
