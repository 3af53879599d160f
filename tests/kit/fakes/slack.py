"""A fake Slack Web API served on loopback that records every call.

Point ``slack_sdk.WebClient(base_url=fake.api_url, token=...)`` at it, then
assert on ``fake.calls`` / ``fake.wait_for(...)``. Failure behaviour is set
through plain attributes (``channel_failures``, ``gone_view_ids``, ...).
"""

from __future__ import annotations

import functools
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from .loopback import KeepAliveHandler, LoopbackHTTPServer

__all__ = ["Call", "FakeSlack"]

AUTH_TEST = {
    "ok": True,
    "url": "https://example.slack.com/",
    "team": "Example",
    "user": "credbot",
    "team_id": "T0001",
    "user_id": "UBOT",
    "bot_id": "BBOT",
}

VIEW_METHODS = {"views.open", "views.update", "views.push", "views.publish"}
CHAT_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}


TRIGGER_LIFETIME = 3.0  # seconds a trigger_id is good for views.open (Slack's documented limit)
MANIFEST = Path(__file__).resolve().parents[3] / "manifest.yml"


@functools.lru_cache(maxsize=1)
def manifest_bot_scopes() -> tuple[str, ...]:
    """The bot scopes manifest.yml asks for: what an install of the shipped app grants a token."""
    import yaml

    return tuple(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])


def _credential(params: dict[str, Any], headers: dict[str, str]) -> str:
    """The bearer token of a call, or whatever else authenticates it (oauth.v2.access's Basic client id and
    secret, a ``token`` parameter); empty when nothing does."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme == "Bearer" and token.strip():
        return token.strip()
    return authorization or str(params.get("token") or "")


@dataclass
class Call:
    """One request received by the fake (an API method or a response_url post)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float
    status: int = 200
    response: Any = None
    body: bytes = field(default=b"", repr=False)

    def json(self, param: str) -> Any:
        """Return ``params[param]`` json-decoded if it is a string, else as is."""
        value = self.params.get(param)
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a form or JSON body into a dict; anything else yields {}."""
    if not body:
        return {}
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {}


def _decode(value: Any) -> Any:
    """json-decode strings (form-encoded ``view``/``blocks``), pass others through."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Handler(KeepAliveHandler):
    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        params.update(_parse_body(self.headers.get("Content-Type", ""), body))
        headers = dict(self.headers.items())

        fake = self.server.fake
        if url.path.startswith("/api/"):
            method = url.path[len("/api/") :]
            status, extra_headers, payload = fake._answer(method, params, headers)
        elif url.path.startswith("/response/") and self.command == "POST":
            method = "response_url:" + url.path[len("/response/") :]
            params = _parse_body("application/json", body) or params
            status, extra_headers, payload = 200, {}, {"ok": True}
        else:
            method = "unknown:" + url.path
            status, extra_headers, payload = 404, {}, {"ok": False, "error": "unknown_path"}

        fake._record(Call(method, params, headers, time.time(), status, payload, body))

        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class CallLog:
    """What the fake has been asked, oldest first, and waiting for a call (part of FakeSlack)."""

    _cond: threading.Condition
    _calls: list[Call]

    @property
    def calls(self) -> list[Call]:
        """Snapshot of all recorded calls, oldest first."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls to ``method`` (e.g. "chat.postMessage")."""
        with self._cond:
            return [c for c in self._calls if c.method == method]

    def count(self, method: str) -> int:
        return len(self.calls_to(method))

    def wait_for(
        self, method: str, predicate: Callable[[Call], bool] = lambda call: True, timeout: float = 10.0
    ) -> Call:
        """Block until a call to ``method`` matching ``predicate`` is recorded.

        Returns the first such call; raises AssertionError on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if call.method == method and predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self._calls]
                    raise AssertionError(f"no matching {method!r} call within {timeout}s; recorded: {seen}")
                self._cond.wait(remaining)

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()


class RateLimits:
    """Slack's answer to a call over its rate limit, for a share of the calls (part of FakeSlack)."""

    _cond: threading.Condition

    def _configure_rate_limits(self) -> None:
        #: the share of Web API calls (with a token Slack accepts) answered as Slack answers a call over its rate
        #: limit: HTTP 429 with ``Retry-After`` in seconds (api.slack.com/apis/rate-limits); chosen at random from
        #: ``rate_limit_seed``, so a run is repeatable; ``rate_limited_methods`` narrows it (None: every method)
        self.rate_limit_fraction = 0.0
        self.rate_limit_retry_after = 1
        self.rate_limited_methods: set[str] | None = None
        self.rate_limit_seed = 22
        self._rate_limits = random.Random(self.rate_limit_seed)
        self.rate_limited = 0  # how many calls were answered 429 this way

    def _over_limit(self, method: str) -> bool:
        if self.rate_limit_fraction <= 0 or (
            self.rate_limited_methods is not None and method not in self.rate_limited_methods
        ):
            return False
        with self._cond:
            if self._rate_limits.random() >= self.rate_limit_fraction:
                return False
            self.rate_limited += 1
            return True


class FakeSlack(CallLog, RateLimits, LoopbackHTTPServer):
    """Fake Slack Web API on 127.0.0.1 recording every call in ``.calls``."""

    handler_class = _Handler

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._view_counter = 0
        self._ts_counter = 0
        self._configure_defaults()

    def _configure_defaults(self) -> None:
        #: channel id -> "ratelimited:N" | "server_error[:N]" | any Slack error code
        self.channel_failures: dict[str, str] = {}
        #: view ids for which views.update answers ``not_found``
        self.gone_view_ids: set[str] = set()
        #: trigger ids for which views.open answers ``expired_trigger_id``
        self.expired_triggers: set[str] = set()
        #: trigger id -> when it was issued (``issue_trigger``): views.open with it answers ``expired_trigger_id``
        #: TRIGGER_LIFETIME seconds later, as Slack does
        self.issued_triggers: dict[str, float] = {}
        #: when True, views.* calls carrying a ``hash`` answer ``hash_conflict``
        self.stale_hash = False
        #: usergroup id -> list of user ids for usergroups.users.list
        self.usergroups: dict[str, list[str]] = {}
        #: usergroup id -> Slack error code usergroups.users.list answers for it ("down": HTTP 503)
        self.usergroup_errors: dict[str, str] = {}
        #: URL returned by apps.connections.open (None -> not_configured)
        self.socket_url: str | None = None
        #: user id -> the workspace users.info reports for them (unknown users: user_not_found); a
        #: tests.kit.Workspace puts its user here, as Slack knows the people of a workspace
        self.user_teams: dict[str, str] = {}
        #: user id -> the Enterprise organisation users.info reports them in (``enterprise_user``); unlisted: none
        self.user_enterprises: dict[str, str] = {}
        #: user id -> their roles users.info reports true ("is_admin", "is_owner", "is_primary_owner"); unlisted:
        #: a plain member (each role false, as Slack answers)
        self.user_roles: dict[str, set[str]] = {}
        #: channel id -> the workspace conversations.info names as its owner (context_team_id); unlisted: none
        self.channel_teams: dict[str, str] = {}
        #: channel id -> the Slack error conversations.info answers for it
        self.channel_info_errors: dict[str, str] = {}
        #: oauth.v2.access: code -> the answer to its exchange, refresh token -> the answer to its refresh
        #: (each answered once; anything else is invalid_code / invalid_refresh_token)
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.oauth_refreshes: dict[str, dict[str, Any]] = {}
        #: tokens Slack no longer accepts: every method answers ``invalid_auth`` (as Slack does for a wrong token)
        self.invalid_tokens: set[str] = set()
        #: token -> the scopes Slack says it was granted (the ``X-OAuth-Scopes`` header); unlisted: the manifest's
        self.token_scopes: dict[str, tuple[str, ...]] = {}
        #: channel id -> conversations.info's ``is_member`` for the bot; unlisted channels: True
        self.channel_members: dict[str, bool] = {}
        #: method -> called with a call's params before the fake answers it (a test's look at the moment the bot
        #: is waiting for Slack)
        self.on_call: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._failures_served: dict[str, int] = {}
        self._configure_rate_limits()

    # -- lifecycle -----------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL for ``slack_sdk.WebClient(base_url=...)`` (ends with '/')."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "x") -> str:
        """A response_url whose posts are recorded as ``response_url:<name>``."""
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # -- triggers ------------------------------------------------------------

    def issue_trigger(self, trigger_id: str) -> str:
        """Note that Slack issued ``trigger_id`` now (with the request that carries it): it expires like Slack's."""
        with self._cond:
            self.issued_triggers[trigger_id] = time.monotonic()
        return trigger_id

    def _trigger_expired(self, trigger_id: object) -> bool:
        issued = self.issued_triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        return issued is not None and time.monotonic() - issued > TRIGGER_LIFETIME

    def reset(self) -> None:
        """Forget recorded calls and all failure configuration."""
        with self._cond:
            self._calls.clear()
            self._configure_defaults()

    # -- API behaviour -------------------------------------------------------

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Compute (status, extra headers, JSON payload) for an API call.

        Like Slack, every answer to a call with a token Slack accepts carries the token's granted scopes in
        ``X-OAuth-Scopes`` (", "-separated, as in Slack's example), whatever the method and whether or not it
        succeeded."""
        token = _credential(params, headers)
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token in self.invalid_tokens:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        scopes = self.token_scopes.get(token)
        granted = {"X-OAuth-Scopes": ", ".join(manifest_bot_scopes() if scopes is None else scopes)}
        if method in self.on_call:
            self.on_call[method](params)
        if self._over_limit(method):
            return (
                429,
                {**granted, "Retry-After": str(self.rate_limit_retry_after)},
                {"ok": False, "error": "ratelimited"},
            )
        status, extra, payload = self._method(method, params)
        return status, {**granted, **extra}, payload

    def _method(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if method == "auth.test":
            return 200, {}, dict(AUTH_TEST)
        if method == "oauth.v2.access":
            return 200, {}, self._oauth(params)
        if method in VIEW_METHODS:
            return 200, {}, self._view(method, params)
        if method in CHAT_METHODS:
            return self._chat(method, params)
        if method == "usergroups.users.list":
            error = self.usergroup_errors.get(params.get("usergroup", ""))
            if error == "down":
                return 503, {}, {"ok": False, "error": "service_unavailable"}
            if error:
                return 200, {}, {"ok": False, "error": error}
            users = list(self.usergroups.get(params.get("usergroup", ""), []))
            return 200, {}, {"ok": True, "users": users}
        if method == "conversations.info":
            channel = params.get("channel", "")
            if channel in self.channel_info_errors:
                return 200, {}, {"ok": False, "error": self.channel_info_errors[channel]}
            owner = {"context_team_id": self.channel_teams[channel]} if channel in self.channel_teams else {}
            member = self.channel_members.get(channel, True)
            return 200, {}, {"ok": True, "channel": {"id": channel, "is_member": member, **owner}}
        if method == "users.info":
            return self._user(params.get("user", ""))
        if method == "apps.connections.open":
            if self.socket_url is None:
                return 200, {}, {"ok": False, "error": "not_configured"}
            return 200, {}, {"ok": True, "url": self.socket_url}
        return 200, {}, {"ok": True}

    def _user(self, user_id: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        """users.info as Slack answers it: the person's own workspace in ``team_id`` (for someone of another
        organisation in a Slack Connect channel too: theirs, not the asking workspace's), ``enterprise_user`` for a
        member of an Enterprise organisation, and ``is_stranger`` false (they share a channel with the app)."""
        team = self.user_teams.get(user_id)
        if team is None:
            return 200, {}, {"ok": False, "error": "user_not_found"}
        user: dict[str, Any] = {"id": user_id, "team_id": team, "is_stranger": False}
        roles = self.user_roles.get(user_id, set())
        user.update({role: role in roles for role in ("is_admin", "is_owner", "is_primary_owner")})
        enterprise = self.user_enterprises.get(user_id)
        if enterprise:
            user["enterprise_user"] = {"id": user_id, "enterprise_id": enterprise, "teams": [team]}
        return 200, {}, {"ok": True, "user": user}

    def _oauth(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            if params.get("grant_type") == "refresh_token":
                answer = self.oauth_refreshes.pop(params.get("refresh_token", ""), None)
                return answer or {"ok": False, "error": "invalid_refresh_token"}
            return self.oauth_codes.pop(params.get("code", ""), None) or {"ok": False, "error": "invalid_code"}

    def _view(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            if method == "views.update" and params.get("view_id") in self.gone_view_ids:
                return {"ok": False, "error": "not_found"}
            if method == "views.open" and (
                params.get("trigger_id") in self.expired_triggers or self._trigger_expired(params.get("trigger_id"))
            ):
                return {"ok": False, "error": "expired_trigger_id"}
            if params.get("hash") and self.stale_hash:
                return {"ok": False, "error": "hash_conflict"}
            if method == "views.update" and params.get("view_id"):
                view_id = params["view_id"]
            else:
                self._view_counter += 1
                view_id = f"V{self._view_counter:08d}"
        view = _decode(params.get("view"))
        view = dict(view) if isinstance(view, dict) else {}
        new_hash = f"{int(time.time())}.{secrets.token_hex(4)}"
        view.update(id=view_id, hash=new_hash)
        return {"ok": True, "view": view, "hash": new_hash}

    def _chat(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        channel = params.get("channel", "")
        failure = self._failure_for(channel)
        if failure == "ratelimited":
            return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
        if failure == "server_error":
            return 500, {}, {"ok": False, "error": "fatal_error"}
        if failure:
            return 200, {}, {"ok": False, "error": failure}

        with self._cond:
            self._ts_counter += 1
            new_ts = f"{1700000000 + self._ts_counter}.{self._ts_counter:06d}"
        ts = params.get("ts") if method == "chat.update" and params.get("ts") else new_ts
        message: dict[str, Any] = {
            "type": "message",
            "user": AUTH_TEST["user_id"],
            "bot_id": AUTH_TEST["bot_id"],
            "text": params.get("text", ""),
            "ts": ts,
        }
        if "blocks" in params:
            message["blocks"] = _decode(params["blocks"])
        payload = {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            payload["message_ts"] = ts
        return 200, {}, payload

    def _failure_for(self, channel: str) -> str | None:
        """The failure to serve now for ``channel`` (None = succeed).

        "ratelimited:N" / "server_error:N" fail the first N chat calls for the
        channel; bare "ratelimited" / "server_error" fail every time.
        """
        with self._cond:
            spec = self.channel_failures.get(channel)
            if not spec:
                return None
            kind, _, limit = spec.partition(":")
            if kind not in ("ratelimited", "server_error"):
                return spec
            if limit:
                served = self._failures_served.get(channel, 0)
                if served >= int(limit):
                    return None
                self._failures_served[channel] = served + 1
            return kind
