"""A Slack workspace with a user, as the bot sees it: the payloads Slack would send from it, and the views the
bot answered with (read back from the fake Web API). Works with any bot of tests.kit: in-process or a server."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.kit.bots import BotBase
from tests.kit.fakes import FakeSlack


class HomeTabActions:
    """The Credentials tab as a person uses it: open it, wait for it to be published, use its menus and buttons
    (a part of Workspace, kept apart to keep each class readable at once)."""

    bot: BotBase
    slack: FakeSlack
    team_id: str
    user_id: str
    enterprise_id: str
    org_wide: bool
    _base: Callable[[], dict]  # Workspace's: the fields every payload from this workspace carries

    def open_home(self, timeout: float = 15.0) -> dict:
        """The user opens the app's Home tab; returns the view the bot published for them."""
        before = len([c for c in self.slack.calls_to("views.publish") if c.params.get("user_id") == self.user_id])
        event = {"type": "app_home_opened", "user": self.user_id, "channel": "D0HOME", "tab": "home"}
        reply = self.send_event(event)
        assert reply.status == 200, reply.text
        return self.published(before, timeout=timeout)

    def send_event(self, event: dict):
        """An Events API callback from this workspace, as Slack wraps it; returns the bot's answer."""
        payload = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": "A0001",
            "event": {"event_ts": str(time.time()), **event},
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "is_ext_shared_channel": False,
            "authorizations": [
                {
                    "enterprise_id": self.enterprise_id,
                    "team_id": self.team_id,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": self.org_wide,
                }
            ],
        }
        if self.enterprise_id:
            payload["enterprise_id"] = self.enterprise_id
        return self.bot.sender.event(payload)

    def published(self, before: int, where=lambda text: True, timeout: float = 15.0) -> dict:
        """The first views.publish for this user after ``before`` earlier ones (whose text passes ``where``)."""
        call = self.slack.wait_for(
            "views.publish",
            lambda c: (
                c.params.get("user_id") == self.user_id
                and self._nth_publish(c) >= before
                and where(view_text(c.params))
            ),
            timeout=timeout,
        )
        return call.json("view")

    def published_with(self, text: str, timeout: float = 15.0) -> dict:
        """The first views.publish for this user whose view contains ``text``."""
        call = self.slack.wait_for(
            "views.publish",
            lambda c: c.params.get("user_id") == self.user_id and text in view_text(c.params),
            timeout=timeout,
        )
        return call.json("view")

    def publish_count(self) -> int:
        return len([c for c in self.slack.calls_to("views.publish") if c.params.get("user_id") == self.user_id])

    def _nth_publish(self, call) -> int:
        mine = [c for c in self.slack.calls_to("views.publish") if c.params.get("user_id") == self.user_id]
        return next((i for i, c in enumerate(mine) if c is call), -1)

    def choose(self, value: str, *, block_id: str = "credential_x"):
        """Pick an item of a credential's overflow menu in the Home tab."""
        payload = self._base() | {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {
                "id": "VHOME",
                "type": "home",
                "team_id": self.team_id,
                "app_installed_team_id": self.team_id,
                "private_metadata": "",
                "callback_id": "",
                "state": {"values": {}},
                "hash": "h",
            },
            "actions": [
                {
                    "type": "overflow",
                    "action_id": "credential_menu",
                    "block_id": block_id,
                    "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self.bot.sender.interaction(payload)

    def home_button(self, action_id: str, value: str = ""):
        payload = self._base() | {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {
                "id": "VHOME",
                "type": "home",
                "team_id": self.team_id,
                "app_installed_team_id": self.team_id,
                "private_metadata": "",
                "callback_id": "",
                "state": {"values": {}},
                "hash": "h",
            },
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self.bot.sender.interaction(payload)

    def opened(self, predicate=lambda view: True, timeout: float = 15.0, after: int = 0) -> dict:
        """The first modal opened (views.open) matching ``predicate`` among those after the first ``after``."""

        def nth(call) -> int:
            return next(i for i, c in enumerate(self.slack.calls_to("views.open")) if c is call)

        call = self.slack.wait_for(
            "views.open", lambda c: predicate(c.json("view") or {}) and nth(c) >= after, timeout=timeout
        )
        return {**call.json("view"), "id": call.response["view"]["id"], "hash": call.response["view"]["hash"]}

    def open_settings(self) -> dict:
        """Click the Home tab's Settings button; the modal the bot opened."""
        opened = len(self.slack.calls_to("views.open"))
        assert self.home_button("home_settings", "open").status == 200
        return self.opened(after=opened)

    def submit_settings(self, view: dict, **chosen: Any):
        """Submit the Settings modal as Slack does: every field's state as its element type reports it (what
        ``chosen`` sets, else the value the modal was drawn with, as the person left it)."""
        return self.submit(view, settings_state(view, **chosen))

    # -- the whole wizard ----------------------------------------------------------------


class Workspace(HomeTabActions):
    """A Slack workspace with a user: builds the payloads Slack would send from it."""

    def __init__(
        self,
        bot: BotBase,
        slack: FakeSlack,
        team_id: str | None = None,
        user_id: str = "U0ALICE",
        enterprise_id: str | None = None,
        org_wide: bool = False,
    ) -> None:
        self.bot, self.slack = bot, slack
        self.org_wide = org_wide  # an org-wide install: interaction payloads carry "team": null
        self.team_id = team_id or "T" + uuid.uuid4().hex[:10].upper()
        self.user_id = user_id
        self.enterprise_id = enterprise_id
        # Slack knows its people: users.info names this user's own workspace (and organisation). A test that set
        # the user elsewhere first (someone of another organisation) keeps that.
        slack.user_teams.setdefault(user_id, self.team_id)
        if enterprise_id:
            slack.user_enterprises.setdefault(user_id, enterprise_id)

    # -- slash commands ------------------------------------------------------------

    def command(self, command: str, text: str = "", **extra: Any):
        if self.enterprise_id:
            extra.setdefault("enterprise_id", self.enterprise_id)
        if self.org_wide:
            extra.setdefault("is_enterprise_install", "true")
        return self.bot.sender.command(command, text, team_id=self.team_id, user_id=self.user_id, **extra)

    def open_wizard(self, text: str = "") -> dict:
        """/create-credential, then the view the bot opened with views.open."""
        trigger = "trg-" + uuid.uuid4().hex
        reply = self.command("/create-credential", text, trigger_id=trigger)
        assert reply.status == 200, reply.text
        call = self.slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger)
        view = dict(call.json("view"))
        view["id"] = call.response["view"]["id"]
        view["hash"] = call.response["view"]["hash"]
        return view

    # -- interactions ------------------------------------------------------------------

    def _base(self) -> dict:
        payload: dict[str, Any] = {
            "team": {"id": self.team_id, "domain": "example"},
            "user": {"id": self.user_id, "username": "alice", "name": "alice", "team_id": self.team_id},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "trigger_id": "trg-" + uuid.uuid4().hex,
            "is_enterprise_install": False,
            "enterprise": {"id": self.enterprise_id} if self.enterprise_id else None,
        }
        if self.org_wide:
            payload["team"] = None
            payload["is_enterprise_install"] = True
        return payload

    def submit(
        self,
        view: dict,
        values: dict[str, Any] | None = None,
        *,
        private_metadata: str | None = None,
        callback_id: str | None = None,
    ):
        """A view_submission of ``view`` with the given input values ({block_id: value})."""
        payload = self.submission(view, values, private_metadata=private_metadata, callback_id=callback_id)
        return self.bot.sender.interaction(payload)

    def submission(
        self,
        view: dict,
        values: dict[str, Any] | None = None,
        *,
        private_metadata: str | None = None,
        callback_id: str | None = None,
    ) -> dict:
        """The view_submission payload itself (for HTTP or a Socket Mode envelope)."""
        state = {}
        for block_id, value in (values or {}).items():
            if isinstance(value, dict):
                state[block_id] = {f"{block_id}_input": value}
            elif block_id in ("entity_type", "destination"):
                state[block_id] = {
                    f"{block_id}_input": {
                        "type": "static_select",
                        "selected_option": (
                            None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}
                        ),
                    }
                }
            else:
                state[block_id] = {f"{block_id}_input": {"type": "plain_text_input", "value": value}}
        payload = self._base() | {
            "type": "view_submission",
            "view": {
                "id": view.get("id", "V0"),
                "team_id": self.team_id,
                "app_installed_team_id": self.team_id,
                "type": "modal",
                "callback_id": callback_id if callback_id is not None else view["callback_id"],
                "private_metadata": private_metadata
                if private_metadata is not None
                else view.get("private_metadata", ""),
                "blocks": view.get("blocks", []),
                "state": {"values": state},
                "hash": view.get("hash", "h"),
                "previous_view_id": view.get("previous_view_id"),  # a pushed view's: the one beneath it
                "root_view_id": view.get("root_view_id", view.get("id", "V0")),
                "title": view.get("title"),
                "app_id": "A0001",
                "bot_id": "BBOT",
            },
            "response_urls": [],
        }
        return payload

    def click(
        self,
        action_id: str,
        value: str = "",
        *,
        view: dict | None = None,
        block_id: str = "b",
        response_url: str | None = None,
        state: dict | None = None,
    ):
        """A block_actions payload for a button in a view or in a message."""
        payload = self._base() | {
            "type": "block_actions",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = {**view, "state": {"values": state or {}}}
        else:
            payload["container"] = {"type": "message", "message_ts": "1.0", "channel_id": "C0001", "is_ephemeral": True}
            payload["channel"] = {"id": "C0001", "name": "general"}
            payload["response_url"] = response_url or self.slack.response_url("list")
        return self.bot.sender.interaction(payload)

    # -- App Home ----------------------------------------------------------------------------

    def run_wizard(self, name: str, destination: str, api_key: str, entity_type: str = "bill") -> tuple[dict, Any]:
        """Walk all four stages; returns the final ack's view and the reply."""
        view = self.open_wizard()
        for block, value in (("name", name), ("entity_type", entity_type), ("destination", destination)):
            reply = self.submit(view, {block: value})
            body = reply.json()
            assert reply.status == 200 and body and body.get("response_action") == "update", (
                block,
                reply.status,
                reply.text,
            )
            view = {**body["view"], "id": view["id"], "hash": view["hash"]}
        reply = self.submit(view, {"api_key": api_key})
        return view, reply

    def outcome(self, view_id: str, timeout: float = 15.0) -> dict:
        """The view the bot put in place of "Verifying…" (the last views.update of this modal)."""
        call = self.slack.wait_for(
            "views.update",
            lambda c: (
                c.params.get("view_id") == view_id
                and (c.json("view") or {}).get("callback_id") != "credential_wizard_verifying"
            ),
            timeout=timeout,
        )
        return call.json("view")

    def view_containing(self, view_id: str, text: str, timeout: float = 20.0) -> dict:
        """The first views.update of this modal whose view contains ``text``."""
        call = self.slack.wait_for(
            "views.update",
            lambda c: c.params.get("view_id") == view_id and text in view_text(c.params),
            timeout=timeout,
        )
        return call.json("view")


def view_text(view: dict) -> str:
    """Every piece of text in a view, for assertions."""
    return json.dumps(view, ensure_ascii=False)


def created_id(workspace: Workspace, name: str, key: str, destination: str = "paddle") -> str:
    """Walk the wizard to the end and return the new credential's id, read from the outcome view."""
    view, _ = workspace.run_wizard(name, destination, key)
    outcome = workspace.view_containing(view["id"], "Credential created")
    text = next(b for b in outcome["blocks"] if b.get("block_id") == "created")["text"]["text"]
    return text.split("ID `")[1].split("`")[0]


# What Slack reports in a view_submission's state for each element type: the key holding the choice, and the
# element's initial-value key it starts from (Block Kit reference: the select menus, radio buttons, number input).
STATE_KEYS = {
    "multi_conversations_select": ("selected_conversations", "initial_conversations", []),
    "conversations_select": ("selected_conversation", "initial_conversation", None),
    "multi_users_select": ("selected_users", "initial_users", []),
    "radio_buttons": ("selected_option", "initial_option", None),
    "plain_text_input": ("value", "initial_value", None),
    "number_input": ("value", "initial_value", None),
    "static_select": ("selected_option", "initial_option", None),
}


def settings_state(view: dict, **chosen: Any) -> dict[str, dict]:
    """A modal's state ({block_id: element state}) as Slack sends it on submit: ``chosen[block_id]`` where given
    (a list of ids, an id, a text, or a radio's option value), else the element's initial value."""
    state: dict[str, dict] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict) or element.get("type") not in STATE_KEYS:
            continue
        key, initial, empty = STATE_KEYS[element["type"]]
        value = chosen[block["block_id"]] if block["block_id"] in chosen else element.get(initial, empty)
        if element["type"] in ("radio_buttons", "static_select") and isinstance(value, str):
            value = next(o for o in element["options"] if o["value"] == value)
        state[block["block_id"]] = {"type": element["type"], key: value}
    return state
