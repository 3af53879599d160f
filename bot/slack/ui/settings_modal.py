"""The workspace Settings modal (issue 22), opened from the Home tab by those allowed to change settings: who is
told (notification channels, the board), who may manage and view credentials, the reminder lead. Pure builders
and readers: settings in, Block Kit out; a view_submission's state in, values (or each field's problem) out.

Block Kit has no user-group select, so groups are typed as ids (S…) in a plain text input beside each user
select: an external select would need an options endpoint listing the workspace's groups (usergroups.list, a
scope more) for little more than a typed id."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.credentials.slack_ids import CHANNEL_ID_PATTERN
from bot.credentials.workspace_settings import MOST_IDS, NAMES, REMINDER_DAYS, SAVED, WorkspaceSettings
from bot.slack.ui.blocks import button, context, plain

OPEN_ACTION = "home_settings"
CALLBACK = "workspace_settings"
TITLE = "Workspace settings"
EVERYONE, CHOSEN = "everyone", "chosen"
NOTIFY, BOARD, ADMIN_USERS, ADMIN_GROUPS = "notify_channels", "board_channel", "admin_users", "admin_groups"
VIEWERS, VIEWER_USERS, VIEWER_GROUPS, DAYS = "viewers_scope", "viewer_users", "viewer_groups", "reminder_days"
CHANNEL_FILTER = {"include": ["public", "private"], "exclude_bot_users": True}
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,19}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,19}$")
SCOPES = {EVERYONE: "Everyone in the workspace", CHOSEN: "Only the people and groups below (and the managers)"}


def settings_button() -> dict:
    return {"type": "actions", "block_id": "settings", "elements": [button("Settings", OPEN_ACTION, "open")]}


def settings_view(current: WorkspaceSettings) -> dict:
    """The modal, drawn from the settings in effect; each field says whether its value is saved or the default."""
    low, high = REMINDER_DAYS
    admins, viewers = current.admins, current.viewers or ()
    viewer_scope = CHOSEN if current.viewers else EVERYONE
    blocks = [
        context("about", "Each field says where its value comes from: *saved* for this workspace, or the "
                "deployment's *default* (used until this workspace saves its own)."),
        _input(NOTIFY, "Notification channels", current, "notify_channels", {
            "type": "multi_conversations_select", "filter": CHANNEL_FILTER, "max_selected_items": MOST_IDS,
            **_initial("initial_conversations", list(current.notify_channels))}),
        _input(BOARD, "Board channel", current, "board_channel", {
            "type": "conversations_select", "filter": CHANNEL_FILTER,
            **_initial("initial_conversation", current.board_channel)}),
        _input(ADMIN_USERS, "Who may manage credentials: people", current, "admins", {
            "type": "multi_users_select", "max_selected_items": MOST_IDS,
            **_initial("initial_users", [p for p in admins if not p.startswith("S")])},
            hint="Nobody chosen here or below: everyone in the workspace may manage."),
        _input(ADMIN_GROUPS, "Who may manage: user group ids", current, "admins", _text(admins),
               hint="User group ids (S…), separated by spaces or commas."),
        _input(VIEWERS, "Who may view credentials", current, "viewers", {
            "type": "radio_buttons", "options": [_option(k) for k in SCOPES],
            "initial_option": _option(viewer_scope)}, optional=False),
        _input(VIEWER_USERS, "Viewers: people", current, "viewers", {
            "type": "multi_users_select", "max_selected_items": MOST_IDS,
            **_initial("initial_users", [p for p in viewers if not p.startswith("S")])}),
        _input(VIEWER_GROUPS, "Viewers: user group ids", current, "viewers", _text(viewers),
               hint="User group ids (S…), separated by spaces or commas."),
        _input(DAYS, f"Reminder lead, in days ({low}–{high})", current, "reminder_days", {
            "type": "number_input", "is_decimal_allowed": False, "min_value": str(low), "max_value": str(high),
            "initial_value": str(current.reminder_days)}, optional=False),
    ]  # fmt: skip
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": plain(TITLE),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": metadata(current.versions),
        "blocks": blocks,
    }


def _input(block_id: str, label: str, current: WorkspaceSettings, name: str, element: dict, **kw: Any) -> dict:
    source = current.sources.get(name)
    where = f"saved for {source.saved_on}" if source and source.kind == SAVED else "default"
    hint = f"{kw['hint']} " if kw.get("hint") else ""
    return {
        "type": "input",
        "block_id": block_id,
        "optional": kw.get("optional", True),
        "label": plain(label),
        "hint": plain(f"{hint}({where})"),
        "element": {"action_id": f"{block_id}_input", **element},
    }


def _initial(key: str, value: Any) -> dict:
    return {key: value} if value else {}


def _text(principals: tuple[str, ...]) -> dict:
    groups = " ".join(p for p in principals if p.startswith("S"))
    return {"type": "plain_text_input", "max_length": 500, **_initial("initial_value", groups)}


def _option(key: str) -> dict:
    return {"text": plain(SCOPES[key]), "value": key}


def metadata(versions: Any) -> str:
    """The versions the modal was drawn from (no secret: setting names and counters), for a stale save's refusal."""
    return json.dumps({"v": {name: int(versions[name]) for name in NAMES if name in versions}}, separators=(",", ":"))


def parse_metadata(raw: object) -> dict[str, int] | None:
    if not isinstance(raw, str) or len(raw) > 500:
        return None
    try:
        versions = json.loads(raw).get("v")
    except (ValueError, AttributeError):
        return None
    if not isinstance(versions, dict):
        return None
    ok = all(n in NAMES and isinstance(v, int) and not isinstance(v, bool) for n, v in versions.items())
    return versions if ok else None


# -- the submission -----------------------------------------------------------------------------------------------


def read_submission(view: dict) -> tuple[dict[str, Any], dict[str, str]]:
    """The five settings a submission asks for, and each field's problem (block id -> sentence) as Slack shows
    them with ``response_action: errors``. Everything here came from the person's client: any other shape is a
    problem, never an exception."""
    state = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}

    def element(block: str) -> dict:
        found = (state.get(block) or {}).get(f"{block}_input") if isinstance(state.get(block), dict) else None
        return found if isinstance(found, dict) else {}

    channels = element(NOTIFY).get("selected_conversations") or []
    board = element(BOARD).get("selected_conversation") or None
    for block, ids in ((NOTIFY, channels), (BOARD, [board] if board else [])):
        if not isinstance(ids, list) or not all(isinstance(c, str) and CHANNEL_ID_PATTERN.match(c) for c in ids):
            errors[block] = "Choose channels from the list."
    admins = _people(element(ADMIN_USERS), element(ADMIN_GROUPS), ADMIN_USERS, ADMIN_GROUPS, errors)
    viewers = _people(element(VIEWER_USERS), element(VIEWER_GROUPS), VIEWER_USERS, VIEWER_GROUPS, errors)
    scope = (element(VIEWERS).get("selected_option") or {}).get("value")
    if scope not in SCOPES:
        errors[VIEWERS] = "Choose who may view credentials."
    elif scope == CHOSEN and not viewers:
        errors[VIEWER_USERS] = "Choose the people or groups who may view, or choose everyone."
    days = _days(element(DAYS).get("value"))
    if days is None:
        errors[DAYS] = f"A whole number of days from {REMINDER_DAYS[0]} to {REMINDER_DAYS[1]}."
    values = {
        "notify_channels": tuple(channels) if isinstance(channels, list) else (),
        "board_channel": board if isinstance(board, str) else None,
        "admins": admins,
        "viewers": viewers if scope == CHOSEN else None,
        "reminder_days": days,
    }
    return values, errors


def _people(users_state: dict, groups_state: dict, users_block: str, groups_block: str, errors: dict) -> tuple:
    users = users_state.get("selected_users") or []
    if not isinstance(users, list) or not all(isinstance(u, str) and USER_ID.match(u) for u in users):
        errors[users_block] = "Choose people from the list."
        users = []
    text = groups_state.get("value") or ""
    groups = [g for g in re.split(r"[\s,]+", text if isinstance(text, str) else "") if g]
    wrong = [g for g in groups if not GROUP_ID.match(g)]
    if wrong:
        errors[groups_block] = f"Not a user group id (S…): {', '.join(wrong[:5])[:120]}"
    chosen = tuple(dict.fromkeys([*users, *(g for g in groups if GROUP_ID.match(g))]))
    if len(chosen) > MOST_IDS:
        errors[users_block] = f"At most {MOST_IDS} people and groups together (a user group holds more people)."
    return chosen


def _days(raw: object) -> int | None:
    low, high = REMINDER_DAYS
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 3):
        return None
    return int(raw) if low <= int(raw) <= high else None


def not_member_error(channels: list[str]) -> str:
    """A field's error for channels the bot is not in: which, and the line that puts it there."""
    named = ", ".join(channels[:5])
    return f"Credbot is not a member of {named}. Invite it first: type /invite @Credbot in that channel."[:150]
