"""The Settings modal's builder and reader (bot.slack.ui.settings_modal): what it draws is what slack-sdk's models
accept, and whatever a client sends back is read as values or a field's problem, never an exception."""

from __future__ import annotations

import pytest
from slack_sdk.models.views import View

from bot.credentials.types import Workspace
from bot.credentials.workspace_settings import SettingDefaults, compose
from bot.slack.ui import settings_modal

DEFAULTS = SettingDefaults(notify_channels=("C0A",), board_channel="C0B", admins=("U0A", "S0G"), viewers=("U0V",))


def test_the_modal_is_valid_block_kit_and_says_where_each_value_comes_from():
    view = settings_modal.settings_view(compose(Workspace(team_id="T0X"), {}, DEFAULTS))
    View(**view).validate_json()  # slack-sdk's own limits (title, labels, hints, elements)
    assert len(view["title"]["text"]) <= 24 and len(view["private_metadata"]) < 3000
    assert all(block["hint"]["text"].endswith("(default)") for block in view["blocks"] if block["type"] == "input")
    radio = next(b["element"] for b in view["blocks"] if b["block_id"] == settings_modal.VIEWERS)
    assert radio["initial_option"]["value"] == settings_modal.CHOSEN


@pytest.mark.parametrize(
    "state",
    [
        None,
        {"values": None},
        {"values": {"notify_channels": "C0A"}},
        {"values": {"notify_channels": {"notify_channels_input": {"selected_conversations": "C0A"}}}},
        {"values": {"admin_users": {"admin_users_input": {"selected_users": [1, None]}}}},
        {"values": {"reminder_days": {"reminder_days_input": {"value": "٣"}}}},
        {"values": {"viewers_scope": {"viewers_scope_input": {"selected_option": {"value": "all"}}}}},
    ],
)
def test_any_shape_from_the_client_is_a_problem_not_an_exception(state):
    values, errors = settings_modal.read_submission({"state": state})
    assert errors and set(values) == {"notify_channels", "board_channel", "admins", "viewers", "reminder_days"}


def test_metadata_round_trips_and_anything_else_is_none():
    assert settings_modal.parse_metadata(settings_modal.metadata({"admins": 3})) == {"admins": 3}
    for raw in (None, "", "[]", '{"v": {"admins": true}}', '{"v": {"nope": 1}}', "x" * 600):
        assert settings_modal.parse_metadata(raw) is None
