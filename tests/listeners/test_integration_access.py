"""Integration access from the Credentials tab, in-process through Bolt: the menu's form issues a token shown
once in the modal (never in a message or a log), the tokens modal lists and revokes, and a person who may not
manage gets nothing, forged submissions and clicks included."""

from __future__ import annotations

import json
import logging
import re

import pytest

from bot.credentials.access_token_rules import TOKEN_SHAPE, token_hash
from bot.infra.logs import RedactingFormatter, RedactingJSONFormatter
from tests.kit import InProcessBot, Workspace, created_id, view_text
from tests.kit.integration_access import EXPIRES_90, access, form


def test_the_form_issues_a_token_shown_once_and_stored_as_a_hash(bot, workspace, paddle_live, caplog):
    caplog.set_level(logging.DEBUG)
    credential_id = created_id(workspace, "Nightly billing", paddle_live.new_key("live"))
    view = form(workspace, credential_id)
    reply = workspace.submit(view, {"name": "billing-sync", "expires": EXPIRES_90, "allow_from": "10.0.0.0/8"})
    answer = reply.json()
    assert answer["response_action"] == "update" and answer["view"]["callback_id"] == "credential_access_token"
    [token] = re.findall(r"cbt_[A-Za-z0-9_-]{43}", view_text(answer["view"]))
    assert TOKEN_SHAPE.fullmatch(token) and "submit" not in answer["view"]  # shown; nothing to send back
    [(stored, allow, team)] = bot.sql("SELECT token_hash, allow_from, team_id FROM access_tokens")
    assert stored == token_hash(token) and allow == "10.0.0.0/8" and team == workspace.team_id
    assert bot.sql("SELECT credential_id FROM access_token_scopes") == [(credential_id,)]
    assert InProcessBot.settle_all()
    sent = json.dumps([c.params for c in workspace.slack.calls if c.method != "views.open"])
    assert token not in sent  # never in a message, an update or a publish
    # Bolt logs its answer at DEBUG (when its logger is at DEBUG), token included: the formatters every handler of
    # Credbot's uses mask it.
    for formatter in (RedactingFormatter(), RedactingJSONFormatter()):
        assert not [r for r in caplog.records if token in formatter.format(r)]
    trail = bot.sql("SELECT action, outcome, actor FROM audit_events WHERE action LIKE 'access_token.%'")
    assert trail == [("access_token.issue", "issued", workspace.user_id)]


@pytest.mark.parametrize(
    "values, field, said",
    [
        ({"name": "", "expires": EXPIRES_90}, "name", "give the token a name"),
        ({"name": "x", "expires": EXPIRES_90, "allow_from": "10.0.0.0/33"}, "allow_from", "not an address"),
        (
            {"name": "x", "expires": {"type": "static_select", "selected_option": {"value": "9999"}}},
            "expires",
            "how long",
        ),
        ({"name": "x"}, "expires", "how long"),
    ],
)
def test_a_form_that_cannot_be_issued_says_why_inline(bot, workspace, paddle_live, values, field, said):
    credential_id = created_id(workspace, "Inline", paddle_live.new_key("live"))
    answer = workspace.submit(form(workspace, credential_id), values).json()
    assert answer["response_action"] == "errors" and said in answer["errors"][field]
    assert bot.sql("SELECT count(*) FROM access_tokens") == [(0,)]


def test_a_key_pasted_as_the_integrations_name_is_refused_and_not_repeated(bot, workspace, paddle_live):
    key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Pasted", paddle_live.new_key("live"))
    answer = workspace.submit(form(workspace, credential_id), {"name": key, "expires": EXPIRES_90}).json()
    assert answer["response_action"] == "errors" and key not in view_text(answer)


def test_the_tokens_modal_lists_them_and_revoke_refuses_the_token_from_then_on(bot, workspace, paddle_live):
    credential_id = created_id(workspace, "Listed", paddle_live.new_key("live"))
    workspace.submit(form(workspace, credential_id), {"name": "first", "expires": EXPIRES_90})
    listed = access(workspace, credential_id)
    [(token_id,)] = bot.sql("SELECT id FROM access_tokens")
    assert token_id in view_text(listed) and "never used" in view_text(listed)
    [button] = [b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("action_id")]
    workspace.click(
        button["action_id"], button["value"], view={**listed, "id": "VTOKENS"}, block_id=f"token_{token_id}"
    )
    updated = workspace.slack.wait_for("views.update", lambda c: c.params.get("view_id") == "VTOKENS").json("view")
    assert "Revoked" in view_text(updated) and "Revoke" not in [
        b.get("accessory", {}).get("text", {}).get("text") for b in updated["blocks"]
    ]
    assert bot.sql("SELECT revoked_by FROM access_tokens") == [(workspace.user_id,)]


def test_a_revoke_click_for_another_credentials_token_changes_nothing(bot, workspace, paddle_live):
    mine = created_id(workspace, "Mine", paddle_live.new_key("live"))
    other = created_id(workspace, "Other", paddle_live.new_key("live"))
    workspace.submit(form(workspace, other), {"name": "other's", "expires": EXPIRES_90})
    [(token_id,)] = bot.sql("SELECT id FROM access_tokens")
    view = {
        "id": "VFORGED",
        "callback_id": "credential_access_tokens",
        "private_metadata": json.dumps({"credential_id": mine}),
    }
    workspace.click("access_token_revoke", token_id, view=view, block_id=f"token_{token_id}")
    updated = workspace.slack.wait_for("views.update", lambda c: c.params.get("view_id") == "VFORGED").json("view")
    assert "not one of this credential's" in view_text(updated)
    assert bot.sql("SELECT revoked_at FROM access_tokens") == [(None,)]


def test_a_viewer_gets_no_access_choices_and_forged_ones_are_refused_and_audited(start_bot, slack, paddle_live):
    bot = start_bot(CREDBOT_ADMINS="U0ADMIN")
    pushed = slack.count("views.push")
    admin = Workspace(bot, slack, user_id="U0ADMIN")
    credential_id = created_id(admin, "Guarded", paddle_live.new_key("live"))
    viewer = Workspace(bot, slack, team_id=admin.team_id, user_id="U0VIEWER")
    home = viewer.open_home()
    assert "integration access" not in view_text(home)
    before = len(slack.calls_to("views.open"))
    viewer.choose(f"copy_id:{credential_id}")  # the plain Copy ID for a viewer
    copied = viewer.opened(lambda v: credential_id in view_text(v), after=before)
    assert copied["callback_id"] != "credential_access_tokens"
    viewer.click("access_token_give", credential_id, view={"id": "V0G"}, block_id="give")
    forged = viewer.submit(
        {"id": "V0FORGED", "callback_id": "credential_access_issue"},
        {"name": "sneaky", "expires": EXPIRES_90},
        private_metadata=json.dumps({"credential_id": credential_id}),
    ).json()
    assert forged["response_action"] == "update" and "cbt_" not in view_text(forged)
    viewer.click("access_token_revoke", "tok_0123456789abcdef", view={"id": "V0X", "private_metadata": "{}"})
    assert InProcessBot.settle_all()
    assert bot.sql("SELECT count(*) FROM access_tokens") == [(0,)]
    denied = bot.sql("SELECT action FROM audit_events WHERE outcome = 'denied' AND actor = 'U0VIEWER' ORDER BY id")
    # The menu's and the button's refusals are audited after their acks: their order with the form's varies.
    assert sorted(a for (a,) in denied) == ["access_token.issue", "access_token.issue", "access_token.revoke"]
    assert slack.count("views.push") == pushed


def test_revoke_all_access_refuses_every_token_that_reads_the_credential_and_says_what_goes(
    bot, workspace, paddle_live
):
    from bot.credentials.access_tokens import AccessTokens
    from bot.credentials.types import Workspace as Scope
    from tests.kit import core_service

    mine = created_id(workspace, "All of it", paddle_live.new_key("live"))
    other = created_id(workspace, "Elsewhere", paddle_live.new_key("live"))
    workspace.submit(form(workspace, mine), {"name": "only mine", "expires": EXPIRES_90})
    core = core_service(bot)
    tokens = AccessTokens(core.sessions, core.audit, core.decrypt_for_reader)
    scope = Scope("", workspace.team_id)
    _, both = tokens.issue("both", [mine, other], "U0ALICE", workspace=scope)
    _, theirs = tokens.issue("theirs", [other], "U0ALICE", workspace=scope)
    listed = access(workspace, mine)
    [revoke_all] = [e for b in listed["blocks"] if b.get("block_id") == "give" for e in b["elements"][1:]]
    assert revoke_all["text"]["text"] == "Revoke all access" and revoke_all["style"] == "danger"
    said = revoke_all["confirm"]["text"]["text"]  # Slack asks first, and says what the click does
    assert "2 tokens that may read All of it" in said and "1 token also read other credentials" in said
    workspace.click(revoke_all["action_id"], revoke_all["value"], view={**listed, "id": "VALL"}, block_id="give")
    updated = workspace.slack.wait_for("views.update", lambda c: c.params.get("view_id") == "VALL").json("view")
    assert "no integration can read the key now" in view_text(updated) and both.id in view_text(updated)
    assert "Revoke all access" not in view_text(updated)  # nothing left to revoke
    states = dict(bot.sql("SELECT name, revoked_by FROM access_tokens"))
    assert states == {"only mine": workspace.user_id, "both": workspace.user_id, "theirs": None}
    revocations = bot.sql("SELECT credential_id FROM audit_events WHERE action = 'access_token.revoke'")
    assert revocations == [(mine,), (mine,)] and theirs.id not in view_text(updated)


def test_revoke_all_access_is_refused_to_a_viewer_and_audited(start_bot, slack, paddle_live):
    bot = start_bot(CREDBOT_ADMINS="U0ADMIN")
    admin = Workspace(bot, slack, user_id="U0ADMIN")
    credential_id = created_id(admin, "Kept", paddle_live.new_key("live"))
    admin.submit(form(admin, credential_id), {"name": "kept", "expires": EXPIRES_90})
    viewer = Workspace(bot, slack, team_id=admin.team_id, user_id="U0VIEWER")
    view = {"id": "V0ALL", "private_metadata": json.dumps({"credential_id": credential_id})}
    viewer.click("access_token_revoke_all", credential_id, view=view, block_id="give")
    refused = slack.wait_for("views.update", lambda c: c.params.get("view_id") == "V0ALL").json("view")
    assert "Revoked" not in view_text(refused)
    assert bot.sql("SELECT revoked_at FROM access_tokens") == [(None,)]
    assert bot.sql("SELECT action FROM audit_events WHERE outcome = 'denied'") == [("access_token.revoke",)]


def test_after_the_form_the_tokens_modal_beneath_lists_the_new_token_and_never_the_token(bot, workspace, paddle_live):
    """Done on the token goes back to the tokens modal: it is drawn again with the new token and its Revoke."""
    credential_id = created_id(workspace, "Beneath", paddle_live.new_key("live"))
    view = form(workspace, credential_id)
    answer = workspace.submit(view, {"name": "fresh", "expires": EXPIRES_90}).json()
    [token] = re.findall(r"cbt_[A-Za-z0-9_-]{43}", view_text(answer["view"]))
    [(token_id,)] = bot.sql("SELECT id FROM access_tokens")
    beneath = workspace.slack.wait_for(
        "views.update", lambda c: c.params.get("view_id") == view["previous_view_id"]
    ).json("view")
    assert beneath["callback_id"] == "credential_access_tokens" and token_id in view_text(beneath)
    assert "Revoke all access" in view_text(beneath) and token not in view_text(beneath)
