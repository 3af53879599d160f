"""A key typed where text goes (a name, a rename, /create-credential's text, a /list-credentials filter, and
the wizard state and page buttons that come back through the client) is refused without being repeated, and
lands nowhere: no Slack call, no answer, no log line, no database row, no private_metadata.

Every shape the catalog knows is tried: Paddle's documented examples (live and sandbox), a fresh key over the
whole alphabet, a legacy key, and a key of a destination registered at run time (tests/kit/destinations.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.kit import DOCUMENTED_KEYS, InProcessBot, core_service, make_key, make_legacy_key, scope, seed, view_text
from tests.kit.destinations import registered_destination
from tests.kit.sweep import database_text, slack_text

KINDS = ("documented_live", "documented_sdbx", "fresh", "legacy", "registered")
REFUSED = "looks like an API key"


@pytest.fixture(params=KINDS)
def key(request, bot):
    """A key of one kind; the registered destination's is issued by its own fake provider."""
    kind = request.param
    if kind != "registered":
        yield {
            "documented_live": lambda: DOCUMENTED_KEYS["live"],
            "documented_sdbx": lambda: DOCUMENTED_KEYS["sdbx"],
            "fresh": lambda: make_key("live", uuid.uuid4().hex, "edges"),
            "legacy": make_legacy_key,
        }[kind]()
        return
    with registered_destination() as (_entry, provider):
        yield provider.new_key()
        assert InProcessBot.settle_all()  # what the test set off finishes while the destination is registered


@pytest.fixture
def nowhere(bot, slack):
    """Asserts, once the bot has finished what the test set off, that ``key`` is in no Slack call, no answer the
    test got, no log line written meanwhile and no value of any table."""
    log_start = len(bot.log())

    def check(key: str, *answers) -> None:
        assert InProcessBot.settle_all()
        places = {
            "a Slack call": slack_text(slack),
            "an answer": "\n".join(a.text if hasattr(a, "text") else json.dumps(a) for a in answers),
            "the log": bot.log()[log_start:],
            "the database": database_text(bot),
        }
        for fragment in (key, key[-20:]):  # the whole key, and its secret's tail alone (a truncated echo)
            found = [where for where, text in places.items() if fragment in text]
            assert found == [], f"the key is in {', '.join(found)}"

    return check


def typed(key: str) -> str:
    return f"Billing {key} prod"


def test_a_name_holding_a_key_is_refused_at_stage_one(workspace, key, nowhere):
    view = workspace.open_wizard()
    reply = workspace.submit(view, {"name": typed(key)})
    nowhere(key, reply)
    body = reply.json()
    assert body["response_action"] == "errors" and REFUSED in body["errors"]["name"], body


def test_a_rename_to_a_key_is_refused_and_the_name_kept(bot, workspace, key, nowhere):
    item = seed(core_service(bot), workspace, "Original")
    workspace.choose(f"rename:{item.id}")
    modal = workspace.opened(lambda v: v.get("callback_id") == "credential_rename")
    reply = workspace.submit(modal, {"name": typed(key)})
    nowhere(key, reply)
    body = reply.json()
    assert body["response_action"] == "errors" and REFUSED in body["errors"]["name"], body
    assert bot.sql("SELECT name FROM credentials WHERE id = :i", i=item.id) == [("Original",)]


def test_create_credential_text_holding_a_key_is_refused_and_the_wizard_opens_empty(workspace, slack, key, nowhere):
    trigger = "trg-" + uuid.uuid4().hex
    reply = workspace.command("/create-credential", typed(key), trigger_id=trigger)
    opened = slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger).json("view")
    nowhere(key, reply)
    assert reply.status == 200 and REFUSED in (reply.json() or {}).get("text", ""), reply.text
    name_input = next(b for b in opened["blocks"] if b.get("block_id") == "name")["element"]
    assert not name_input.get("initial_value") and "not used as the name" in view_text(opened)


def test_a_list_filter_holding_a_key_is_refused(bot, workspace, key, nowhere):
    seed(core_service(bot), workspace, "Billing prod")
    reply = workspace.command("/list-credentials", typed(key))
    nowhere(key, reply)
    body = reply.json()
    assert body["response_type"] == "ephemeral" and REFUSED in body["text"] and "blocks" not in body, body


def test_wizard_state_carrying_a_key_as_name_is_refused_at_every_stage(workspace, slack, key, nowhere):
    """The state comes back through the client: one carrying a key (forged, or from before the rule) is not
    drawn again, at Next, at Back, nor at the final submission."""
    view = workspace.open_wizard()
    forged = json.dumps({"v": 1, "stage": "name", "name": typed(key), "entity_type": "bill", "destination": ""})
    stage2 = workspace.submit(
        view, {"entity_type": "bill"}, private_metadata=forged, callback_id="credential_wizard:entity_type"
    )
    final_metadata = json.loads(forged) | {"destination": "paddle"}
    final = workspace.submit(
        view,
        {"api_key": make_key("live")},
        private_metadata=json.dumps(final_metadata),
        callback_id="credential_wizard:api_key",
    )
    back_view = {**view, "callback_id": "credential_wizard:destination", "private_metadata": forged}
    workspace.click("wizard_back", "back", view=back_view, block_id="wizard_nav")
    back = slack.wait_for("views.update", lambda c: c.params.get("view_id") == view["id"])
    nowhere(key, stage2, final)
    for answer in (stage2.json(), final.json(), {"view": back.json("view")}):
        assert "start again" in view_text(answer["view"]), answer
    assert workspace.bot.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=scope(workspace).team_id) == [
        (0,)
    ]


def test_a_page_button_carrying_a_key_as_filter_answers_with_the_first_page(bot, slack, workspace, key, nowhere):
    seed(core_service(bot), workspace, "Billing prod")
    value = json.dumps({"q": typed(key), "p": 0})
    reply = workspace.click("list_page_next", value, response_url=slack.response_url("forged"))
    answer = slack.wait_for("response_url:forged").params
    nowhere(key, reply)
    assert "no longer available" in answer["text"] and "Billing prod" in view_text(answer)
