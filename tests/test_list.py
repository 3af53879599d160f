"""/list-credentials: only the caller's workspace, newest first, filtered, paged."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from tests.harness import Workspace, core_service, seed, view_text


def listed(reply) -> dict:
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    for block in body["blocks"]:
        Block.parse(block).validate_json()
    return body


def names(body: dict) -> list[str]:
    return [b["text"]["text"].split("*")[1] for b in body["blocks"] if b.get("block_id", "").startswith("credential_")]


def test_empty_workspace_points_at_create(workspace):
    body = listed(workspace.command("/list-credentials"))
    assert "/create-credential" in view_text(body)


def test_lists_newest_first_with_every_field(bot, workspace):
    core = core_service(bot)
    first = seed(core, workspace, "Older")
    second = seed(core, workspace, "Newer", "paddle_sandbox")
    body = listed(workspace.command("/list-credentials"))
    assert names(body) == ["Newer", "Older"]
    text = view_text(body)
    for item in (first, second):
        assert item.id in text and f"…{item.key_hint}" in text
    assert "<@U0ALICE>" in text and "<!date^" in text and "Paddle (Sandbox Mode)" in text and "Bill" in text


def test_other_workspaces_never_appear(bot, slack, workspace):
    seed(core_service(bot), workspace, "Mine only")
    stranger = Workspace(bot, slack, user_id="U0MALLORY")
    assert "Mine only" not in view_text(listed(stranger.command("/list-credentials")))
    assert "Mine only" not in view_text(listed(stranger.command("/list-credentials", "Mine")))
    # Same team id under another enterprise (org) is another scope too.
    other_org = Workspace(bot, slack, team_id=workspace.team_id, enterprise_id="E0OTHER")
    assert "Mine only" not in view_text(listed(other_org.command("/list-credentials")))


def test_filter_matches_name_or_destination(bot, workspace):
    core = core_service(bot)
    seed(core, workspace, "Acme live")
    seed(core, workspace, "Globex", "paddle_sandbox")
    seed(core, workspace, "100%_literal")
    assert names(listed(workspace.command("/list-credentials", "ACME"))) == ["Acme live"]
    assert names(listed(workspace.command("/list-credentials", "sandbox"))) == ["Globex"]
    assert names(listed(workspace.command("/list-credentials", "%_"))) == ["100%_literal"]  # no LIKE wildcards
    body = listed(workspace.command("/list-credentials", "nothing-like-this"))
    assert "No credentials matching" in view_text(body)


def test_pages_of_twenty_with_previous_and_next(bot, slack, workspace):
    core = core_service(bot)
    for number in range(45):
        seed(core, workspace, f"Credential {number:02d}")
    body = listed(workspace.command("/list-credentials"))
    assert names(body) == [f"Credential {n:02d}" for n in range(44, 24, -1)]
    assert "1–20 of 45" in view_text(body)
    buttons = {e["action_id"]: e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert set(buttons) == {"list_page_next"}

    workspace.click("list_page_next", buttons["list_page_next"]["value"], response_url=slack.response_url("p2"))
    page2 = slack.wait_for("response_url:p2").params
    assert page2["replace_original"] is True
    assert names(page2) == [f"Credential {n:02d}" for n in range(24, 4, -1)]
    buttons = {e["action_id"]: e for b in page2["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert set(buttons) == {"list_page_previous", "list_page_next"}

    workspace.click("list_page_next", buttons["list_page_next"]["value"], response_url=slack.response_url("p3"))
    page3 = slack.wait_for("response_url:p3").params
    assert names(page3) == [f"Credential {n:02d}" for n in range(4, -1, -1)]
    assert "41–45 of 45" in view_text(page3)


def test_paging_keeps_the_filter(bot, slack, workspace):
    core = core_service(bot)
    for number in range(22):
        seed(core, workspace, f"Match {number:02d}")
    seed(core, workspace, "Other")
    body = listed(workspace.command("/list-credentials", "match"))
    value = next(e["value"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"])
    workspace.click("list_page_next", value, response_url=slack.response_url("filtered"))
    page = slack.wait_for("response_url:filtered").params
    assert names(page) == ["Match 01", "Match 00"]


@pytest.mark.parametrize("value", ["", "{", "[]", json.dumps({"q": 5, "o": 0}), json.dumps({"q": "", "o": -1}),
                                   json.dumps({"q": "", "o": "20"}), json.dumps({"q": "x" * 500, "o": 0})])
def test_tampered_page_buttons_get_a_clear_answer(bot, slack, workspace, value):
    reply = workspace.click("list_page_next", value, response_url=slack.response_url("tampered"))
    assert reply.status == 200
    answer = slack.wait_for("response_url:tampered").params
    assert "no longer valid" in answer["text"]


def test_page_buttons_from_another_workspace_show_only_the_clicker_workspace(bot, slack, workspace):
    seed(core_service(bot), workspace, "Private")
    stranger = Workspace(bot, slack)
    stranger.click("list_page_next", json.dumps({"q": "", "o": 0}), response_url=slack.response_url("stranger"))
    assert "Private" not in view_text(slack.wait_for("response_url:stranger").params)


def test_a_page_past_the_end_shows_the_last_page(bot, slack, workspace):
    core = core_service(bot)
    for number in range(23):
        seed(core, workspace, f"Item {number:02d}")
    workspace.click("list_page_next", json.dumps({"q": "", "o": 9000}), response_url=slack.response_url("past"))
    page = slack.wait_for("response_url:past").params
    assert names(page) == ["Item 02", "Item 01", "Item 00"] and "21–23 of 23" in view_text(page)
