"""App Home's Credentials tab and its menu: copy the id, test, replace the key, rename, delete."""

from __future__ import annotations

import json
import re

import pytest

from tests.kit import InProcessBot, Workspace, core_service, created_id, make_key, seed, view_text

ADMINS = "U0ADMIN"


def credential_ids(view: dict) -> list[str]:
    return [
        b["block_id"].removeprefix("credential_")
        for b in view["blocks"]
        if b.get("block_id", "").startswith("credential_")
    ]


def menu_choices(view: dict, credential_id: str) -> list[str]:
    block = next(b for b in view["blocks"] if b.get("block_id") == f"credential_{credential_id}")
    return [o["value"].split(":")[0] for o in block["accessory"]["options"]]


def next_publish(workspace: Workspace, action) -> dict:
    before = workspace.publish_count()
    action()
    return workspace.published(before)


@pytest.fixture(scope="module")
def guarded(bot_class, database, tmp_path_factory, slack, paddle_live, paddle_sandbox):
    workdir = tmp_path_factory.mktemp("home-guarded")
    bot = bot_class(
        workdir, slack, paddle_live, paddle_sandbox, CREDBOT_ADMINS=ADMINS, **database.provision(workdir)
    ).start()
    yield bot
    bot.stop()
    bot.close_database()


def test_empty_tab_offers_create_and_the_button_opens_the_wizard(workspace):
    home = workspace.open_home()
    assert home["type"] == "home"
    assert "No credentials yet" in view_text(home) and "Create credential" in view_text(home)
    workspace.home_button("home_create_credential", "create")
    wizard = workspace.opened(lambda v: v.get("callback_id") == "credential_wizard:name")
    assert wizard["title"]["text"] == "Create credential"


def test_tab_groups_by_destination_shows_every_field_and_refreshes_after_a_create(
    workspace, paddle_live, paddle_sandbox
):
    workspace.open_home()
    sandbox_id = created_id(workspace, "Sandbox one", paddle_sandbox.new_key("sandbox"), "paddle_sandbox")
    live_key = paddle_live.new_key("live")
    live_id = created_id(workspace, "Live one", live_key)
    home = workspace.published_with(live_id)  # refreshed for the creator, without reopening the tab
    assert credential_ids(home) == [live_id, sandbox_id]  # Paddle first, then Paddle (Sandbox Mode)
    text = view_text(home)
    assert text.index('"Paddle"') < text.index("Paddle (Sandbox Mode)")
    assert "`Live one`" in text and "Bill" in text and "<@U0ALICE>" in text and "<!date^" in text
    assert f"…{live_key[-4:]}" in text and ":white_check_mark: verified" in text
    assert "key expires" in text  # from Paddle's record of the key (GET /api-keys/{id})
    assert live_key not in text
    assert menu_choices(home, live_id) == ["copy_id", "test", "replace", "rename", "delete"]
    assert len(home["blocks"]) <= 100


def test_only_those_who_opened_the_tab_get_it_redrawn_after_a_change(bot, slack, workspace, paddle_live):
    created_id(workspace, "Never looked", paddle_live.new_key("live"))
    assert InProcessBot.settle_all()
    assert workspace.publish_count() == 0  # drawing a tab nobody opened would be wasted work
    workspace.open_home()
    created_id(workspace, "Now looking", paddle_live.new_key("live"))
    workspace.published_with("Now looking")
    assert bot.sql("SELECT user_id FROM home_viewers WHERE team_id = :t", t=workspace.team_id) == [("U0ALICE",)]


def test_many_credentials_are_paged_within_slack_limits(bot, workspace):
    core = core_service(bot)
    for number in range(45):
        seed(core, workspace, f"Paged {number:02d}", "paddle_sandbox" if number % 3 == 0 else "paddle")
    first = workspace.open_home()
    assert len(credential_ids(first)) == 40 and len(first["blocks"]) <= 100
    assert "1–40 of 45" in view_text(first)
    second = next_publish(workspace, lambda: workspace.home_button("home_page_next", "1"))
    assert len(credential_ids(second)) == 5 and "41–45 of 45" in view_text(second)
    assert not set(credential_ids(first)) & set(credential_ids(second))
    back = next_publish(workspace, lambda: workspace.home_button("home_page_previous", "0"))
    assert credential_ids(back) == credential_ids(first)
    junk = next_publish(workspace, lambda: workspace.home_button("home_page_next", "-1; DROP TABLE"))
    assert credential_ids(junk) == credential_ids(first)  # a mangled value shows the first page


def test_copy_id_shows_it_in_a_code_block(workspace, paddle_live):
    credential_id = created_id(workspace, "Copied", paddle_live.new_key("live"))
    workspace.choose(f"copy_id:{credential_id}")  # for one who may manage: with its integration access
    shown = workspace.opened(lambda v: f"```{credential_id}```" in view_text(v))
    assert shown["title"]["text"] == "Integration access"


def test_test_connection_records_ok_and_paddle_down(bot, workspace, paddle_live):
    workspace.open_home()
    credential_id = created_id(workspace, "Tested", paddle_live.new_key("live"))
    workspace.choose(f"test:{credential_id}")
    testing = workspace.opened(lambda v: "Testing" in view_text(v))
    result = workspace.view_containing(testing["id"], "Paddle accepted the key")
    assert ":white_check_mark:" in view_text(result)

    paddle_live.mode = "down"
    opened_before = workspace.slack.count("views.open")
    workspace.choose(f"test:{credential_id}")
    workspace.view_containing(
        workspace.opened(lambda v: "Testing" in view_text(v), after=opened_before)["id"], "could not be reached"
    )
    workspace.published_with(":warning: Paddle unreachable <!date")
    assert bot.sql("SELECT last_verification FROM credentials WHERE id = :i", i=credential_id) == [
        ("unavailable:http_503",)
    ]
    events = bot.sql(
        "SELECT outcome FROM audit_events WHERE credential_id = :i AND action = 'credential.test' ORDER BY id",
        i=credential_id,
    )
    assert events == [("ok",), ("unavailable:http_503",)]


def test_replace_checks_the_new_key_like_the_wizard_and_keeps_the_id(bot, slack, workspace, paddle_live):
    workspace.open_home()
    old_key = paddle_live.new_key("live")
    credential_id = created_id(workspace, "Replaced", old_key)
    assert InProcessBot.settle_all()
    workspace.choose(f"replace:{credential_id}")
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_replace")
    assert old_key not in view_text(modal) and old_key[-4:] in view_text(modal)

    wrong_env = workspace.submit(modal, {"api_key": make_key("sdbx", "wrong-env")})
    problem = wrong_env.json()["errors"]["api_key"]
    assert "belongs to a Paddle sandbox account" in problem and "Go Back" not in problem
    refused = workspace.submit(modal, {"api_key": make_key("live", "not-at-paddle")})
    assert refused.json()["view"]["callback_id"] == "credential_replace_verifying"
    again = {
        **workspace.view_containing(modal["id"], "Paddle says this key is invalid or has been revoked"),
        "id": modal["id"],
    }
    assert again["callback_id"] == "credential_replace"
    problem = next(b for b in again["blocks"] if b.get("block_id") == "problem")
    support = next(b for b in again["blocks"] if b.get("block_id") == "problem_code")
    assert "invalid_token" not in view_text(problem) and "`invalid_token`" in view_text(support)

    new_key = paddle_live.new_key("live")
    workspace.submit(again, {"api_key": new_key})
    workspace.view_containing(modal["id"], "was replaced")
    home = workspace.published_with(f"…{new_key[-4:]}")
    assert credential_ids(home) == [credential_id]
    core = core_service(bot)
    assert core.reveal(credential_id, "test").reveal() == new_key  # same id, new key, under the primary key
    announced = [c for c in slack.calls_to("chat.postMessage") if "had its API key replaced" in view_text(c.params)]
    assert {c.params["channel"] for c in announced} == {"CNOTIFYA", "CNOTIFYB"}
    assert all(new_key not in view_text(c.params) and old_key not in view_text(c.params) for c in announced)
    assert ("credential.replace", "replaced") in bot.sql(
        "SELECT action, outcome FROM audit_events WHERE credential_id = :i", i=credential_id
    )


def test_rename_follows_stage_one_rules(bot, workspace, paddle_live):
    workspace.open_home()
    first = created_id(workspace, "Original", paddle_live.new_key("live"))
    created_id(workspace, "Taken", paddle_live.new_key("live"))
    workspace.choose(f"rename:{first}")
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_rename")
    assert "Original" in view_text(modal)
    assert "already exists" in workspace.submit(modal, {"name": "TAKEN"}).json()["errors"]["name"]
    assert "invisible" in workspace.submit(modal, {"name": "Re\u200bnamed"}).json()["errors"]["name"]
    assert workspace.submit(modal, {"name": "Renamed"}).json() == {"response_action": "clear"}
    workspace.published_with("`Renamed`")
    assert bot.sql("SELECT name FROM credentials WHERE id = :i", i=first) == [("Renamed",)]


def test_delete_confirms_by_name_then_erases_announces_and_refreshes(bot, slack, workspace, paddle_live):
    workspace.open_home()
    credential_id = created_id(workspace, "Doomed one", paddle_live.new_key("live"))
    assert InProcessBot.settle_all()
    workspace.choose(f"delete:{credential_id}")
    confirm = workspace.opened(lambda v: v.get("callback_id") == "credential_delete")
    assert "Delete `Doomed one`" in view_text(confirm) and credential_id in view_text(confirm)
    before = workspace.publish_count()
    assert workspace.submit(confirm, {}).json()["response_action"] == "update"
    workspace.view_containing(confirm["id"], "was deleted")
    assert credential_id not in view_text(workspace.published(before, lambda v: credential_id not in v))
    assert bot.sql("SELECT count(*) FROM credentials WHERE id = :i", i=credential_id) == [(0,)]
    slack.wait_for("chat.postMessage", lambda c: "was deleted" in view_text(c.params))
    # The tab was stale: the credential is gone, so any menu item says so clearly and refreshes the tab.
    before = workspace.publish_count()
    workspace.choose(f"test:{credential_id}")
    gone = workspace.opened(lambda v: "no longer exists" in view_text(v))
    assert gone["title"]["text"] == "Integration Credential"
    workspace.published(before)
    # The confirmation submitted twice (a double click) finds nothing to delete, and says so.
    workspace.submit(confirm, {})
    workspace.view_containing(confirm["id"], "no longer exists")


def test_someone_who_may_not_manage_sees_no_such_items_and_is_refused_anyway(guarded, slack, paddle_live):
    admin = Workspace(guarded, slack, user_id="U0ADMIN")
    credential_id = created_id(admin, "Admins only", paddle_live.new_key("live"))
    viewer = Workspace(guarded, slack, team_id=admin.team_id, user_id="U0VIEWER")
    home = viewer.open_home()
    assert "Create credential" not in view_text(home)
    assert menu_choices(home, credential_id) == ["copy_id", "test"]
    for choice in ("replace", "rename", "delete", "rotate"):  # from a stale tab, or forged
        viewer.choose(f"{choice}:{credential_id}")
    assert InProcessBot.settle_all()
    refusals = [c for c in slack.calls_to("views.open") if "Only credential admins" in view_text(c.params)]
    assert len(refusals) == 4
    # A delete confirmation submitted by the viewer (the admin's modal, replayed) is refused; nothing changes.
    admin.choose(f"delete:{credential_id}")
    confirm = admin.opened(lambda v: v.get("callback_id") == "credential_delete")
    reply = viewer.submit(confirm, {})
    assert "Only credential admins" in view_text(reply.json()["view"])
    for callback, values in (
        ("credential_rename", {"name": "Hijacked"}),
        ("credential_replace", {"api_key": paddle_live.new_key("live")}),
        ("credential_rotate", {"grace_period": "0"}),
        ("credential_access_issue", {"name": "Stolen access", "expires": "90"}),
    ):
        forged = {**confirm, "callback_id": callback}
        assert "Only credential admins" in view_text(viewer.submit(forged, values).json()["view"])
    assert InProcessBot.settle_all()
    assert guarded.sql("SELECT name FROM credentials WHERE id = :i", i=credential_id) == [("Admins only",)]
    denied = guarded.sql(
        "SELECT action FROM audit_events WHERE team_id = :t AND outcome = 'denied' ORDER BY id", t=admin.team_id
    )
    assert sorted(row[0] for row in denied) == sorted(
        [
            "credential.replace",
            "credential.rename",
            "credential.delete",
            "credential.rotate",
            "credential.delete",
            "credential.rename",
            "credential.replace",
            "credential.rotate",
            "access_token.issue",
        ]
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "copy_id",
        "copy_id:",
        "explode:00000000-0000-0000-0000-000000000000",
        "test:not-a-uuid",
        "test:' OR 1=1 --",
        "delete:" + "9" * 200,
    ],
)
def test_mangled_menu_values_get_a_clear_answer(workspace, value):
    before = workspace.publish_count()
    assert workspace.choose(value).status == 200
    answer = workspace.opened(lambda v: "out of date" in view_text(v) or "no longer exists" in view_text(v))
    assert answer["type"] == "modal"
    workspace.published(before)


def test_another_workspace_gets_nothing_for_an_id_it_learned(bot, slack, workspace, paddle_live):
    credential_id = created_id(workspace, "Not yours", paddle_live.new_key("live"))
    stranger = Workspace(bot, slack, user_id="U0STRANGER")
    choices = ("copy_id", "test", "replace", "rename", "delete", "rotate")
    for choice in choices:
        stranger.choose(f"{choice}:{credential_id}")
    assert InProcessBot.settle_all()
    opened = [view_text(c.params) for c in slack.calls_to("views.open") if c.params.get("trigger_id")]
    last = opened[-len(choices) :]
    assert credential_id not in "".join(last) and sum("no longer exists" in o for o in last) == len(choices)
    metadata = json.dumps({"credential_id": credential_id})
    for callback, values in (
        ("credential_rename", {"name": "Stolen"}),
        ("credential_delete", {}),
        ("credential_replace", {"api_key": paddle_live.new_key("live")}),
        ("credential_rotate", {"grace_period": "0"}),
        ("credential_access_issue", {"name": "Stolen access", "expires": "90"}),
    ):
        reply = stranger.submit({"id": "V0STRANGE", "callback_id": callback}, values, private_metadata=metadata)
        assert "no longer exists" in view_text(reply.json()) or reply.json().get("response_action") == "update"
    stranger.click("reminder_replace", credential_id)
    assert InProcessBot.settle_all()
    assert bot.sql("SELECT name FROM credentials WHERE id = :i", i=credential_id) == [("Not yours",)]
    assert bot.sql("SELECT count(*) FROM access_tokens") == [(0,)]
    assert core_service(bot).reveal(credential_id, "test").reveal().startswith("pdl_live_")


def test_a_damaged_ciphertext_is_reported_and_audited_not_left_testing(bot, workspace, paddle_live):
    """Security finding 7: Test connection on a key that no longer decrypts says so, with a reference."""
    workspace.open_home()
    credential_id = created_id(workspace, "Damaged", paddle_live.new_key("live"))
    blob = bot.sql("SELECT encrypted_key FROM credentials WHERE id = :i", i=credential_id)[0][0]
    damaged = bytes(blob[:-1]) + bytes([blob[-1] ^ 1])
    bot.sql("UPDATE credentials SET encrypted_key = :b WHERE id = :i", b=damaged, i=credential_id)
    calls_before = len(paddle_live.requests)
    workspace.choose(f"test:{credential_id}")
    shown = workspace.view_containing(
        workspace.opened(lambda v: "Testing" in view_text(v))["id"], "could not be decrypted"
    )
    reference = re.search(r"reference ([0-9a-f]{10})", view_text(shown)).group(1)
    assert "Replace API key" in view_text(shown)
    assert len(paddle_live.requests) == calls_before
    events = bot.sql(
        "SELECT outcome, detail FROM audit_events WHERE credential_id = :i AND action = 'credential.test'",
        i=credential_id,
    )
    assert len(events) == 1 and events[0][0] == "undecryptable" and reference in events[0][1]
