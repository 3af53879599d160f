"""Send correctly (or deliberately incorrectly) signed Slack requests to the bot."""

from __future__ import annotations

import hashlib
import hmac
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

__all__ = ["Reply", "SlackSender", "sign"]

_trigger_counter = itertools.count(1)


def sign(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack v0 signature headers for ``body`` (timestamp defaults to now)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": "v0=" + digest}


_sign = sign  # SlackSender.post has a ``sign`` flag that shadows the function


@dataclass
class Reply:
    """An HTTP response from the bot; error statuses are returned, not raised."""

    status: int
    body: bytes
    headers: Message

    def json(self) -> Any:
        """The json-decoded body, or None when the body is empty."""
        return json.loads(self.body) if self.body.strip() else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class SlackSender:
    """Posts signed Slack payloads to ``<base_url>/slack/events``."""

    def __init__(self, base_url: str, signing_secret: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret
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
        """POST a raw body; signed unless ``sign=False``. Extra ``headers`` win."""
        all_headers = {"Content-Type": content_type}
        if sign:
            all_headers.update(_sign(self.signing_secret, body, timestamp))
        all_headers.update(headers or {})
        request = urllib.request.Request(
            self.events_url, data=body, headers=all_headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Reply(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            try:
                return Reply(error.code, error.read(), error.headers)
            finally:
                error.close()

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
        fields = {
            "token": "verification-token",
            "team_id": team_id,
            "team_domain": "example",
        }
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


def new_trigger_id() -> str:
    """A fresh trigger_id shaped like Slack's."""
    return f"{int(time.time())}.{next(_trigger_counter)}.{secrets.token_hex(16)}"
