"""A Paddle key typed as text, through the real server (gunicorn, HTTP, SQLite or PostgreSQL): someone types
``/create-credential Billing <key> prod``, then the same as the name, then the key where it belongs; lists with it
as a filter; renames to it. Afterwards the key is in no log line, no byte of the database's files (SQLite's file
and WAL; PostgreSQL's table, index and TOAST files after a CHECKPOINT, and its WAL since the test began) and no
call to Slack; the credential exists, its key stored only sealed."""

from __future__ import annotations

import time
import uuid

from tests.kit import Workspace, view_text
from tests.kit.sweep import database_file_bytes, slack_text


def next_view(workspace: Workspace, view: dict, values: dict) -> tuple[dict, dict]:
    body = workspace.submit(view, values).json()
    return body, {**body.get("view", view), "id": view["id"], "hash": view["hash"]}


def test_a_key_typed_as_text_lands_nowhere_but_sealed(start_bot, slack, paddle_live):
    since = time.time()
    bot = start_bot()
    workspace = Workspace(bot, slack)
    key = paddle_live.new_key("live", uuid.uuid4().hex, "edges")
    typed = f"Billing {key} prod"

    trigger = "trg-" + uuid.uuid4().hex
    ack = workspace.command("/create-credential", typed, trigger_id=trigger).json() or {}
    call = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger)
    view = {**call.json("view"), "id": call.response["view"]["id"], "hash": call.response["view"]["hash"]}
    prefilled = next(b for b in view["blocks"] if b.get("block_id") == "name")["element"].get("initial_value")

    # The person presses Next on what the form holds, or types the text again; refused, they name it plainly.
    stage1, view2 = next_view(workspace, view, {"name": prefilled or typed})
    if stage1["response_action"] == "errors":
        _, view2 = next_view(workspace, view, {"name": "Billing prod"})
    _, view3 = next_view(workspace, view2, {"entity_type": "bill"})
    _, view4 = next_view(workspace, view3, {"destination": "paddle"})
    workspace.submit(view4, {"api_key": key})
    created = workspace.view_containing(view["id"], "Credential created")
    credential_id = next(b for b in created["blocks"] if b.get("block_id") == "created")["text"]["text"]
    credential_id = credential_id.split("ID `")[1].split("`")[0]

    listing = workspace.command("/list-credentials", typed).json()
    workspace.choose(f"rename:{credential_id}")
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_rename")
    rename = workspace.submit(modal, {"name": typed}).json()
    bot.wait_idle()
    assert bot.stop() == 0  # a graceful stop: the log is complete

    stored = database_file_bytes(bot, since)
    for fragment in (key, key[-20:]):
        assert fragment not in bot.log(), "the key is in the log file"
        assert fragment.encode() not in stored, "the key is in the database's files"
        assert fragment not in slack_text(slack), "the key went to Slack"
    assert b"Billing prod" in stored  # the sweep read the files the credential is in

    assert "looks like an API key" in ack.get("text", "") and not prefilled
    assert stage1["response_action"] == "errors" and "looks like an API key" in stage1["errors"]["name"]
    assert "looks like an API key" in listing["text"] and "blocks" not in listing
    assert rename["response_action"] == "errors" and "looks like an API key" in rename["errors"]["name"]
    assert bot.sql("SELECT name FROM credentials WHERE id = :i", i=credential_id) == [("Billing prod",)]
    assert "refused" in bot.log() and view_text(created).count("Billing prod") >= 1
