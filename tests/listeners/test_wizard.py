"""The /create-credential wizard, stage by stage, through signed requests dispatched to the Bolt app."""

from __future__ import annotations

from slack_sdk.models.views import View

from bot.credentials import catalog
from tests.kit import NOTIFY_CHANNELS, view_text


def assert_valid_view(view: dict) -> None:
    """Slack's own limits, as slack-sdk's models know them."""
    View(**view).validate_json()


def test_command_opens_stage_one_with_prefilled_name(workspace):
    view = workspace.open_wizard("  Acme   Sandbox ")
    assert_valid_view(view)
    assert view["title"]["text"] == "Create credential"
    assert view["submit"]["text"] == "Next"
    assert view["callback_id"] == "credential_wizard:name"
    name_input = next(b for b in view["blocks"] if b.get("block_id") == "name")
    assert name_input["element"]["initial_value"] == "Acme Sandbox"
    text = view_text(view)
    assert "Stage 1  Name the credential" in text
    later = next(b for b in view["blocks"] if b.get("block_id") == "stepper_later")  # greyed later stages
    assert "Select entity type" in view_text(later) and "Authenticate" in view_text(later)
    assert not any(b.get("block_id") == "wizard_nav" for b in view["blocks"])  # no Back on stage 1


def test_full_wizard_creates_verifies_stores_and_announces(workspace, slack, paddle_live, live_key, bot):
    view = workspace.open_wizard()
    stage2 = workspace.submit(view, {"name": "  Acme Live  "}).json()
    assert stage2["response_action"] == "update"
    v2 = stage2["view"]
    assert_valid_view(v2)
    assert v2["callback_id"] == "credential_wizard:entity_type" and v2["submit"]["text"] == "Next"
    assert ":white_check_mark: Stage 1  Name the credential: `Acme Live`" in view_text(v2)
    select = next(b for b in v2["blocks"] if b.get("block_id") == "entity_type")["element"]
    assert [o["text"]["text"] for o in select["options"]] == ["Bill"]
    # Each choice says what it is, in the catalog's words, and the hint explains the one already chosen.
    assert [o["description"]["text"] for o in select["options"]] == [e.description for e in catalog.ENTITY_TYPES]
    hint = next(b for b in v2["blocks"] if b.get("block_id") == "entity_type")["hint"]["text"]
    assert f"Bill: {catalog.entity_type('bill').description}" in hint
    assert any(b.get("block_id") == "wizard_nav" for b in v2["blocks"])

    v3 = workspace.submit({**v2, "id": view["id"]}, {"entity_type": "bill"}).json()["view"]
    assert_valid_view(v3)
    select = next(b for b in v3["blocks"] if b.get("block_id") == "destination")
    assert [o["text"]["text"] for o in select["element"]["options"]] == ["Paddle", "Paddle (Sandbox Mode)"]
    assert [o["description"]["text"] for o in select["element"]["options"]] == [
        d.description for d in catalog.DESTINATIONS
    ]
    assert "sandbox" in select["hint"]["text"].lower() and "live" in select["hint"]["text"].lower()

    v4 = workspace.submit({**v3, "id": view["id"]}, {"destination": "paddle"}).json()["view"]
    assert_valid_view(v4)
    assert v4["submit"]["text"] == "Create credential"
    assert "Paddle Connection" in view_text(v4)
    key_block = next(b for b in v4["blocks"] if b.get("block_id") == "api_key")
    assert key_block["label"]["text"] == "API key"
    hint = key_block["hint"]["text"]
    assert "never shown again" in hint and "encrypted" in hint and "Developer tools > Authentication" in hint

    reply = workspace.submit({**v4, "id": view["id"]}, {"api_key": "  " + live_key + " "})
    verifying = reply.json()
    assert verifying["response_action"] == "update"
    assert "Verifying with Paddle" in view_text(verifying["view"])
    assert live_key not in reply.text

    done = workspace.outcome(view["id"])
    assert_valid_view(done)
    assert "Credential created" in view_text(done)
    assert ":new: `Acme Live`" in view_text(done)
    assert live_key not in view_text(done) and live_key[-4:] in view_text(done)

    # Paddle was asked once, with the key as a bearer token, on the live base URL: for the key's own record,
    # which verifies the key and tells its expiry in one request.
    checks = [r for r in paddle_live.requests if r.headers.get("Authorization") == f"Bearer {live_key}"]
    assert [r.path.split("_")[0] for r in checks] == ["/api-keys/apikey"]

    # Announced to every channel, never with the key.
    posts = [
        slack.wait_for("chat.postMessage", lambda c, ch=ch: c.params.get("channel") == ch) for ch in NOTIFY_CHANNELS
    ]
    for post in posts:
        body = view_text(post.params)
        assert "Acme Live" in body and "<@U0ALICE>" in body and live_key[-4:] in body
        assert live_key not in body and post.params.get("text")
    final = workspace.view_containing(view["id"], "Announced in")
    assert "Announced in <#CNOTIFYA>, <#CNOTIFYB>" in view_text(final)

    # Stored encrypted: the row has ciphertext, a key id, the hint, the creator.
    [row] = bot.sql(
        "SELECT name, entity_type, destination, encrypted_key, encryption_key_id, key_hint, created_by, "
        "team_id FROM credentials WHERE team_id = :t",
        t=workspace.team_id,
    )
    assert row[:3] == ("Acme Live", "bill", "paddle")
    assert live_key.encode() not in row[3] and row[4] and row[5] == live_key[-4:] and row[6] == "U0ALICE"


def test_sandbox_destination_uses_sandbox_api_and_marks_announcement(workspace, slack, paddle_sandbox, sandbox_key):
    view, reply = workspace.run_wizard("Acme Test", "paddle_sandbox", sandbox_key)
    assert reply.json()["response_action"] == "update"
    done = workspace.outcome(view["id"])
    assert "Credential created" in view_text(done)
    assert any(r.headers.get("Authorization") == f"Bearer {sandbox_key}" for r in paddle_sandbox.requests)
    post = slack.wait_for("chat.postMessage", lambda c: "Acme Test" in view_text(c.params))
    # The destination's label says Sandbox Mode; nothing says it again beside it.
    for text in (post.params["text"], view_text(post.params), view_text(done)):
        assert text.lower().count("sandbox") == text.count("Paddle (Sandbox Mode)") >= 1, text


def test_back_returns_to_previous_stage_with_answer_prefilled(workspace, slack):
    view = workspace.open_wizard()
    v2 = workspace.submit(view, {"name": "Back and forth"}).json()["view"]
    v3 = workspace.submit({**v2, "id": view["id"]}, {"entity_type": "bill"}).json()["view"]
    v4 = workspace.submit({**v3, "id": view["id"]}, {"destination": "paddle_sandbox"}).json()["view"]

    # Back from stage 4 -> stage 3 with the destination chosen.
    reply = workspace.click(
        "wizard_back", "back", view={**v4, "id": view["id"], "hash": "hash-4"}, block_id="wizard_nav"
    )
    assert reply.status == 200
    call = slack.wait_for("views.update", lambda c: c.params.get("hash") == "hash-4")
    back3 = call.json("view")
    assert_valid_view(back3)
    assert back3["callback_id"] == "credential_wizard:destination"
    select = next(b for b in back3["blocks"] if b.get("block_id") == "destination")["element"]
    assert select["initial_option"]["value"] == "paddle_sandbox"

    # Back from stage 3 -> stage 2, and from stage 2 -> stage 1 with the name filled in.
    workspace.click("wizard_back", "back", view={**back3, "id": view["id"], "hash": "hash-3"}, block_id="wizard_nav")
    back2 = slack.wait_for("views.update", lambda c: c.params.get("hash") == "hash-3").json("view")
    assert back2["callback_id"] == "credential_wizard:entity_type"
    workspace.click("wizard_back", "back", view={**back2, "id": view["id"], "hash": "hash-2"}, block_id="wizard_nav")
    back1 = slack.wait_for("views.update", lambda c: c.params.get("hash") == "hash-2").json("view")
    assert back1["callback_id"] == "credential_wizard:name"
    name_input = next(b for b in back1["blocks"] if b.get("block_id") == "name")
    assert name_input["element"]["initial_value"] == "Back and forth"


def test_back_keeps_a_choice_made_but_not_submitted(workspace, slack):
    view = workspace.open_wizard()
    v2 = workspace.submit(view, {"name": "Draft keeper"}).json()["view"]
    v3 = workspace.submit({**v2, "id": view["id"]}, {"entity_type": "bill"}).json()["view"]
    state = {"destination": {"destination_input": {"type": "static_select", "selected_option": {"value": "paddle"}}}}
    workspace.click(
        "wizard_back", "back", view={**v3, "id": view["id"], "hash": "hash-d"}, block_id="wizard_nav", state=state
    )
    back2 = slack.wait_for("views.update", lambda c: c.params.get("hash") == "hash-d").json("view")
    again = workspace.submit({**back2, "id": view["id"]}, {"entity_type": "bill"}).json()["view"]
    select = next(b for b in again["blocks"] if b.get("block_id") == "destination")["element"]
    assert select["initial_option"]["value"] == "paddle"
