"""Someone of another organisation in a Slack Connect channel shared with a workspace, as Slack presents them to
the app installed in that workspace (or org-wide in its organisation).

What Slack sends for such a person (its Slack Connect and org-wide app guides, and what the Bolt frameworks were
changed for: bolt-js #1614, bolt-python #734 and #1229, java-slack-sdk #1041):

- everything that names the installation is the host's: a command's ``team_id`` and ``enterprise_id``, an
  interaction's ``team`` (``null`` in an org-wide install) and ``enterprise``, an event's ``team_id`` and
  ``authorizations``, ``is_enterprise_install``; a view's ``app_installed_team_id`` is the host's workspace;
- the person's own workspace is in an interaction's ``user.team_id``, and a ``view_submission``'s ``team`` is
  theirs too; a command or an event does not say it, but a command in a shared channel is marked
  ``is_ext_shared_channel``;
- ``users.info`` names their own workspace in ``team_id`` and their organisation in ``enterprise_user``, with
  ``is_stranger`` false (they share a channel with the app).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from tests.kit.signing import new_trigger_id
from tests.kit.workspace import Workspace

PARTNER_TEAM = "T0PARTNER"
PARTNER_ENTERPRISE = "E0PARTNER"
SHARED_CHANNEL = "C0SHARED"
FORM = "application/x-www-form-urlencoded"


class ConnectGuest:
    """A person of the partner organisation in ``host``'s shared channel. Each method returns the raw request
    (body, content type) Slack would send for them; ``send`` posts one to the host's bot."""

    def __init__(
        self,
        host: Workspace,
        user_id: str = "U0GUEST",
        team_id: str = PARTNER_TEAM,
        enterprise_id: str | None = PARTNER_ENTERPRISE,
    ) -> None:
        self.host, self.user_id, self.team_id, self.enterprise_id = host, user_id, team_id, enterprise_id
        host.slack.user_teams[user_id] = team_id
        if enterprise_id:
            host.slack.user_enterprises[user_id] = enterprise_id
        else:
            host.slack.user_enterprises.pop(user_id, None)

    def send(self, request: tuple[bytes, str]):
        body, content_type = request
        return self.host.bot.sender.post(body, content_type)

    # -- slash commands -------------------------------------------------------------------

    def command(self, command: str, text: str = "", *, response_url: str) -> tuple[bytes, str]:
        host = self.host
        fields = {"token": "verification-token", "team_id": host.team_id, "team_domain": "host"}
        if host.enterprise_id:
            fields["enterprise_id"] = host.enterprise_id
        if host.org_wide:
            fields["is_enterprise_install"] = "true"
        fields.update(
            channel_id=SHARED_CHANNEL,
            channel_name="shared-with-partner",
            is_ext_shared_channel="true",
            user_id=self.user_id,
            user_name="guest",
            command=command,
            text=text,
            api_app_id="A0001",
            response_url=response_url,
            trigger_id=new_trigger_id(),
        )
        return urlencode(fields).encode(), FORM

    # -- interactions ---------------------------------------------------------------------

    def _interaction(self, kind: str, *, submitted: bool = False, **fields: Any) -> tuple[bytes, str]:
        """``submitted``: a view_submission, whose ``team`` is the submitter's own workspace."""
        host = self.host
        team = {"id": host.team_id, "domain": "host"} if not host.org_wide else None
        payload: dict[str, Any] = {
            "type": kind,
            "team": {"id": self.team_id, "domain": "partner"} if submitted else team,
            "enterprise": {"id": host.enterprise_id, "name": "Host"} if host.enterprise_id else None,
            "user": {"id": self.user_id, "username": "guest", "name": "guest", "team_id": self.team_id},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "trigger_id": new_trigger_id(),
            "is_enterprise_install": host.org_wide,
            **fields,
        }
        return urlencode({"payload": json.dumps(payload)}).encode(), FORM

    def _view(self, view: dict, values: dict) -> dict:
        return {
            "id": view.get("id") or "V0GUEST",
            "team_id": self.host.team_id,
            "app_installed_team_id": self.host.team_id,
            "type": view.get("type", "modal"),
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "blocks": view.get("blocks", []),
            "state": {"values": values},
            "hash": view.get("hash", "h"),
            "app_id": "A0001",
            "bot_id": "BBOT",
        }

    def view_submission(self, view: dict, values: dict) -> tuple[bytes, str]:
        """A modal submitted by the guest; ``values`` is the view's state ({block_id: {action_id: element}})."""
        return self._interaction("view_submission", submitted=True, view=self._view(view, values), response_urls=[])

    def block_action(self, action: dict, *, view: dict | None = None, response_url: str = "") -> tuple[bytes, str]:
        """``action`` (a button's or a menu's) clicked in ``view`` (the Home tab, a modal) or in a message of the
        shared channel."""
        action = {"block_id": "b", **action, "action_ts": str(time.time())}
        if view is not None:
            container = {"type": "view", "view_id": view.get("id") or "V0GUEST"}
            return self._interaction("block_actions", container=container, view=self._view(view, {}), actions=[action])
        return self._interaction(
            "block_actions",
            container={"type": "message", "message_ts": "1.0", "channel_id": SHARED_CHANNEL, "is_ephemeral": True},
            channel={"id": SHARED_CHANNEL, "name": "shared-with-partner"},
            response_url=response_url,
            actions=[action],
        )

    def shortcut(self, kind: str, callback_id: str, *, response_url: str = "") -> tuple[bytes, str]:
        """A global (``shortcut``) or message shortcut (``message_action``) run in the shared channel."""
        fields: dict[str, Any] = {"callback_id": callback_id, "action_ts": str(time.time())}
        if kind == "message_action":
            fields |= {
                "channel": {"id": SHARED_CHANNEL, "name": "shared-with-partner"},
                "message": {"type": "message", "ts": "1.0", "text": "hello"},
                "response_url": response_url,
            }
        return self._interaction(kind, **fields)

    def options(self, action_id: str, *, view: dict | None = None) -> tuple[bytes, str]:
        """An external select asking for its options as the guest types."""
        fields: dict[str, Any] = {"action_id": action_id, "block_id": "b", "value": ""}
        if view is not None:
            fields |= {"container": {"type": "view", "view_id": "V0GUEST"}, "view": self._view(view, {})}
        return self._interaction("block_suggestion", **fields)

    # -- events ---------------------------------------------------------------------------

    def event(self, event: dict) -> tuple[bytes, str]:
        """An Events API callback about the guest, delivered to the host's installation."""
        host = self.host
        payload: dict[str, Any] = {
            "token": "legacy-verification-token",
            "team_id": host.team_id,
            "api_app_id": "A0001",
            "event": {"user": self.user_id, "event_ts": str(time.time()), **event},
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "is_ext_shared_channel": event.get("channel") == SHARED_CHANNEL,
            "authorizations": [
                {
                    "enterprise_id": host.enterprise_id,
                    "team_id": host.team_id,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": host.org_wide,
                }
            ],
        }
        if host.enterprise_id:
            payload["enterprise_id"] = host.enterprise_id
        return json.dumps(payload).encode(), "application/json"


INSTALLATION_NOTICES = ("event app_uninstalled", "event tokens_revoked")  # Slack's word about the installation


def database_state(bot: Any) -> dict[str, list[str]]:
    """Every row of every table but the audit trail (which a refusal adds to), for comparing before and after."""
    from sqlalchemy import inspect, text

    with bot.engine.connect() as conn:  # one connection for every table (a transaction per table cost twice as much)
        tables = sorted(t for t in inspect(conn).get_table_names() if t != "audit_events")
        return {
            table: sorted(repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))) for table in tables
        }


def what_the_guest_got_from_each(
    bot: Any, guest: ConnectGuest, attempts: list[Any], secrets: list[str], settle
) -> list[str]:
    """``what_the_guest_got`` for each attempt in turn, each compared with the database as the one before left it
    (read once between two attempts, not twice: the settled state after one is the state before the next)."""
    problems: list[str] = []
    state = database_state(bot)
    for attempt in attempts:
        found, state = _what_the_guest_got(bot, guest, attempt, secrets, settle, state)
        problems += found
    return problems


def what_the_guest_got(bot: Any, guest: ConnectGuest, attempt: Any, secrets: list[str], settle) -> list[str]:
    """Send ``attempt`` as ``guest`` and say what went wrong: any of ``secrets`` (the host's credential names and
    ids) in the answer or in anything the bot then sent Slack, any change to the database, a refusal not
    audited as one from another organisation."""
    return _what_the_guest_got(bot, guest, attempt, secrets, settle, database_state(bot))[0]


def _what_the_guest_got(
    bot: Any, guest: ConnectGuest, attempt: Any, secrets: list[str], settle, state: dict[str, list[str]]
) -> tuple[list[str], dict[str, list[str]]]:
    """What went wrong with ``attempt`` against the database ``state`` before it, and the state it left."""
    slack = guest.host.slack
    calls = len(slack.calls)
    audited = bot.sql("SELECT count(*) FROM audit_events")[0][0]
    reply = guest.send(attempt.request)
    settle()
    problems = []
    if reply.status >= 500 or reply.status == 404:
        problems.append(f"{attempt.label}: answered {reply.status}")
    shown = [reply.text] + [json.dumps(call.params) for call in slack.calls[calls:]]
    leaked = sorted({s for s in secrets if any(s in text for text in shown)})
    if leaked:
        problems.append(f"{attempt.label}: showed {leaked[:3]}{' …' if len(leaked) > 3 else ''}")
    after = database_state(bot)
    changed = [table for table in after if after[table] != state.get(table)]
    if changed:
        problems.append(f"{attempt.label}: changed {changed}")
    rows = bot.sql("SELECT actor, outcome, detail FROM audit_events ORDER BY id")[audited:]
    wrong = [row for row in rows if row[0] == guest.user_id and (row[1] != "denied" or "organisation" not in row[2])]
    if wrong:
        problems.append(f"{attempt.label}: audited {wrong}")
    if not any(row[0] == guest.user_id for row in rows) and attempt.label not in INSTALLATION_NOTICES:
        problems.append(f"{attempt.label}: no refusal audited")
    return problems, after
