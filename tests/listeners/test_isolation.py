"""Workspace isolation: every read and write is scoped by the signed payload's enterprise and team."""

from __future__ import annotations

import json

from tests.kit import Workspace, core_service, seed, view_text


def names_listed(workspace: Workspace) -> str:
    return view_text(workspace.command("/list-credentials").json())


def test_the_same_team_id_under_another_enterprise_sees_nothing(bot, slack):
    grid = Workspace(bot, slack, enterprise_id="E0GRIDA")
    seed(core_service(bot), grid, "Grid secret")
    assert "Grid secret" in names_listed(grid)
    assert "Grid secret" not in names_listed(Workspace(bot, slack, team_id=grid.team_id, enterprise_id="E0GRIDB"))
    assert "Grid secret" not in names_listed(Workspace(bot, slack, team_id=grid.team_id))  # same team, no grid


def test_org_wide_payloads_without_a_team_are_scoped_to_the_user_workspace(bot, slack, paddle_live):
    org = Workspace(bot, slack, enterprise_id="E0ORG", org_wide=True)
    view, _ = org.run_wizard("Org-wide", "paddle", paddle_live.new_key("live"))
    assert "Credential created" in view_text(org.outcome(view["id"]))
    assert bot.sql("SELECT enterprise_id, team_id FROM credentials WHERE name = 'Org-wide'") == [("E0ORG", org.team_id)]
    assert "Org-wide" in names_listed(org)
    sibling = Workspace(bot, slack, enterprise_id="E0ORG", org_wide=True)  # another workspace of the same org
    assert "Org-wide" not in names_listed(sibling)


def test_a_modal_or_button_carried_into_another_workspace_acts_only_there(bot, slack, paddle_live):
    """private_metadata and button values come back through the client: the scope never comes from them."""
    home = Workspace(bot, slack)
    for number in range(21):
        seed(core_service(bot), home, f"Home {number:02d}")
    view = home.open_wizard()
    for block, value in (("name", "Carried over"), ("entity_type", "bill"), ("destination", "paddle")):
        view = {**home.submit(view, {block: value}).json()["view"], "id": view["id"]}
    body = home.command("/list-credentials").json()
    next_value = next(e["value"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"])

    stranger = Workspace(bot, slack)
    stranger.submit(view, {"api_key": paddle_live.new_key("live")})  # home's modal, submitted from elsewhere
    assert "Credential created" in view_text(stranger.outcome(view["id"]))
    assert bot.sql("SELECT team_id FROM credentials WHERE name = 'Carried over'") == [(stranger.team_id,)]
    stranger.click("list_page_next", next_value, response_url=slack.response_url("carried"))
    seen = view_text(slack.wait_for("response_url:carried").params)
    assert "Home" not in seen and "Carried over" in seen
    forged = json.dumps({"q": "", "a": ["2999-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"], "p": 20})
    stranger.click("list_page_next", forged, response_url=slack.response_url("forged"))
    assert "Home" not in view_text(slack.wait_for("response_url:forged").params)
