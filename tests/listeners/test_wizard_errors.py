"""Every bad input to the wizard gets a clear answer, and nothing is stored that should not be."""

from __future__ import annotations

import json

import pytest

from tests.kit import Workspace, core_service, make_key, make_legacy_key, seed, view_text


def count_rows(bot, team_id: str) -> int:
    return bot.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=team_id)[0][0]


def stage_four(workspace, name: str = "Stage four", destination: str = "paddle") -> dict:
    view = workspace.open_wizard()
    for block, value in (("name", name), ("entity_type", "bill"), ("destination", destination)):
        body = workspace.submit(view, {block: value}).json()
        view = {**body["view"], "id": view["id"]}
    return view


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Enter a name"),
        ("    ", "Enter a name"),
        (None, "Enter a name"),
        ("x" * 101, "at most 100 characters"),
        ("bad\u0007bell", "control characters"),
    ],
)
def test_stage_one_rejects_bad_names_inline(workspace, name, message):
    view = workspace.open_wizard()
    reply = workspace.submit(view, {"name": name})
    body = reply.json()
    assert reply.status == 200
    assert body["response_action"] == "errors"
    assert message in body["errors"]["name"]


def test_name_limit_is_after_trimming(workspace):
    view = workspace.open_wizard()
    body = workspace.submit(view, {"name": "  " + "y" * 100 + "  "}).json()
    assert body["response_action"] == "update"


@pytest.mark.parametrize(
    "existing, attempt",
    [
        ("Acme Billing", "acme billing"),
        ("Straße", "STRASSE"),  # Unicode case folding, not lower()
        ("ﬁnance", "FINANCE"),  # compatibility ligature folds too
    ],
)
def test_stage_one_refuses_a_name_taken_ignoring_case(bot, workspace, existing, attempt):
    seed(core_service(bot), workspace, existing)
    view = workspace.open_wizard()
    body = workspace.submit(view, {"name": attempt}).json()
    assert body["response_action"] == "errors"
    assert "already exists" in body["errors"]["name"]


@pytest.mark.parametrize("attempt", ["\u0410lpha", "A1pha", "ALPHA"])
def test_stage_one_refuses_a_name_that_looks_the_same_and_names_it(bot, workspace, attempt):
    seed(core_service(bot), workspace, "Alpha")
    view = workspace.open_wizard()
    body = workspace.submit(view, {"name": attempt}).json()
    assert body["response_action"] == "errors"
    assert "looks the same as “Alpha”" in body["errors"]["name"]


@pytest.mark.parametrize(
    "attempt, words",
    [
        ("Alpha\u034f", "invisible"),
        ("Alpha\u3164", "invisible"),
        ("Alpha\u2800", "invisible"),
        ("\u0301" * 100, "letter or digit"),
        ("\ufdfa" * 100, "too long once"),
    ],
)
def test_stage_one_refuses_hidden_characters_before_paddle_is_called(bot, workspace, paddle_live, attempt, words):
    calls_before = len(paddle_live.requests)
    view = workspace.open_wizard()
    body = workspace.submit(view, {"name": attempt}).json()
    assert body["response_action"] == "errors"
    assert words in body["errors"]["name"]
    assert len(paddle_live.requests) == calls_before


def test_a_lookalike_that_slips_past_stage_one_loses_on_the_unique_index(bot, workspace):
    from bot.credentials.errors import NameTaken

    service = core_service(bot)
    seed(service, workspace, "Alpha")
    answers = iter([None])  # the first look (stage 1's) ran before "Alpha" was stored; later ones see it
    real_holder = service.queries.name_holder
    service.queries.name_holder = lambda *args: next(answers, real_holder(*args))
    with pytest.raises(NameTaken):
        seed(service, workspace, "\u0410lpha")
    assert [row[0] for row in bot.sql("SELECT name FROM credentials")] == ["Alpha"]


def test_same_name_is_fine_in_another_workspace(bot, slack, workspace):
    from tests.kit import Workspace

    seed(core_service(bot), workspace, "Shared name")
    other = Workspace(bot, slack)
    view = other.open_wizard()
    assert other.submit(view, {"name": "Shared name"}).json()["response_action"] == "update"


def test_missing_selection_is_an_inline_error(workspace):
    view = workspace.open_wizard()
    v2 = workspace.submit(view, {"name": "Selections"}).json()["view"]
    body = workspace.submit({**v2, "id": view["id"]}, {"entity_type": None}).json()
    assert body == {"response_action": "errors", "errors": {"entity_type": "Select an entity type."}}
    v3 = workspace.submit({**v2, "id": view["id"]}, {"entity_type": "bill"}).json()["view"]
    body = workspace.submit({**v3, "id": view["id"]}, {"destination": "stripe"}).json()
    assert body == {"response_action": "errors", "errors": {"destination": "Select a destination."}}


@pytest.mark.parametrize(
    "destination, key, message",
    [
        ("paddle", make_key("sdbx", "x"), "belongs to a Paddle sandbox account"),
        ("paddle_sandbox", make_key("live", "y"), "belongs to a live Paddle account"),
        ("paddle", make_key("sdbx", "short")[:-3], "belongs to a Paddle sandbox account"),  # unfamiliar, yet marked
        ("paddle", "sk_live_1234567890", "does not look like a Paddle API key"),
        ("paddle", "", "Paste the API key"),
        (
            "paddle",
            make_key("live", "w")[:40] + " " + make_key("live", "w")[40:],
            "characters Paddle keys never contain",
        ),
        ("paddle", make_key("live", "q")[:-2] + "+/", "characters Paddle keys never contain"),
        ("paddle", "pdl_live_apikey_" + "a" * 190, "longer than any Paddle key"),
    ],
)
def test_stage_four_refuses_malformed_or_wrong_environment_keys(
    bot, workspace, paddle_live, paddle_sandbox, destination, key, message
):
    view = stage_four(workspace, destination=destination)
    calls_before = len(paddle_live.requests) + len(paddle_sandbox.requests)
    reply = workspace.submit(view, {"api_key": key})
    body = reply.json()
    assert body["response_action"] == "errors"
    assert message in body["errors"]["api_key"]
    if key:
        assert key not in reply.text  # the error never repeats the key
    assert len(paddle_live.requests) + len(paddle_sandbox.requests) == calls_before  # checked offline
    assert count_rows(bot, workspace.team_id) == 0


def test_legacy_key_is_accepted_when_verified_live(workspace, paddle_live):
    legacy = make_legacy_key()
    paddle_live.valid_keys.add(legacy)
    view, reply = workspace.run_wizard("Legacy", "paddle", legacy)
    assert reply.json()["response_action"] == "update"
    assert "Credential created" in view_text(workspace.outcome(view["id"]))


def test_key_paddle_rejects_returns_to_stage_four_and_saves_nothing(bot, workspace, paddle_live):
    unknown = make_key("live", "revoked")  # well formed, but Paddle answers 403 invalid_token
    view, reply = workspace.run_wizard("Revoked key", "paddle", unknown)
    assert "Verifying with Paddle" in view_text(reply.json()["view"])
    outcome = workspace.outcome(view["id"])
    assert outcome["callback_id"] == "credential_wizard:api_key"
    problem = next(b for b in outcome["blocks"] if b.get("block_id") == "problem")["text"]["text"]
    assert (
        "Paddle says this key is invalid or has been revoked: create a new one in Paddle › Developer tools › "
        "Authentication"
        in problem
        and "invalid_token" not in problem
    )  # what to do, not Paddle's code
    support = next(b for b in outcome["blocks"] if b.get("block_id") == "problem_code")
    assert support["type"] == "context" and "`invalid_token`" in view_text(support)  # the code, apart, for support
    assert unknown not in view_text(outcome)
    assert count_rows(bot, workspace.team_id) == 0


@pytest.mark.parametrize(
    "mode, message",
    [
        ("down", "Paddle could not be reached (it answered HTTP 503)"),
        ("error500", "Paddle could not be reached (it answered HTTP 500)"),
        ("slow", "Paddle did not answer in time"),
    ],
)
def test_paddle_unreachable_says_so_and_saves_nothing(bot, workspace, paddle_live, live_key, mode, message):
    paddle_live.mode = mode
    view, _ = workspace.run_wizard(f"Paddle {mode}", "paddle", live_key)
    outcome = workspace.outcome(view["id"])
    assert outcome["callback_id"] == "credential_wizard:api_key"
    assert message in view_text(outcome) and "Nothing was saved" in view_text(outcome)
    assert count_rows(bot, workspace.team_id) == 0


def test_name_taken_while_typing_the_key_goes_back_to_stage_one(bot, workspace, live_key, paddle_live):
    view = stage_four(workspace, name="Raced name")
    seed(core_service(bot), workspace, "RACED NAME")  # someone else finished first
    calls = len(paddle_live.requests)
    workspace.submit(view, {"api_key": live_key})
    outcome = workspace.outcome(view["id"])
    assert outcome["callback_id"] == "credential_wizard:name"
    assert "already exists" in view_text(outcome)
    assert count_rows(bot, workspace.team_id) == 1
    assert len(paddle_live.requests) == calls  # found before asking Paddle


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "not json",
        json.dumps({"v": 1, "stage": "api_key", "name": "x", "entity_type": "bill", "destination": "stripe"}),
        json.dumps({"v": 1, "stage": "nowhere"}),
        json.dumps({"v": 99, "stage": "name"}),
        json.dumps({"v": 1, "stage": "name", "name": ["a"]}),
        json.dumps({"v": 1, "stage": "name"})[:-5],
    ],
)
def test_tampered_or_truncated_metadata_is_refused(bot, workspace, live_key, metadata):
    view = stage_four(workspace, name="Tamper target")
    reply = workspace.submit(view, {"api_key": live_key}, private_metadata=metadata)
    body = reply.json()
    assert reply.status == 200 and body["response_action"] == "update"
    assert "start again with /create-credential" in view_text(body["view"])
    assert count_rows(bot, workspace.team_id) == 0


def test_incomplete_metadata_on_the_final_stage_sends_the_user_back(bot, workspace, live_key):
    view = stage_four(workspace, name="Half done")
    metadata = json.dumps({"v": 1, "stage": "api_key", "name": "Half done", "entity_type": "bill", "destination": ""})
    body = workspace.submit(view, {"api_key": live_key}, private_metadata=metadata).json()
    assert body["view"]["callback_id"] == "credential_wizard:destination"
    assert count_rows(bot, workspace.team_id) == 0


def test_result_reaches_the_user_by_dm_when_the_modal_was_closed(bot, slack, workspace, live_key):
    view = stage_four(workspace, name="Closed modal")
    slack.gone_view_ids.add(view["id"])
    workspace.submit(view, {"api_key": live_key})
    dm = slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == workspace.user_id)
    assert "Closed modal" in dm.params["text"] and "created" in dm.params["text"]
    assert live_key not in view_text(dm.params)
    assert count_rows(bot, workspace.team_id) == 1


def test_an_expired_trigger_is_explained_to_the_user(workspace, slack):
    slack.expired_triggers.add("trg-late")
    reply = workspace.command("/create-credential", "", trigger_id="trg-late", response_url=slack.response_url("late"))
    assert reply.status == 200
    answer = slack.wait_for("response_url:late").params
    assert "could not be opened" in answer["text"] and "expired_trigger_id" in answer["text"]


def test_back_on_a_modal_that_changed_meanwhile_is_ignored(workspace, slack):
    view = workspace.open_wizard()
    v2 = workspace.submit(view, {"name": "Conflict"}).json()["view"]
    slack.stale_hash = True
    reply = workspace.click("wizard_back", "back", view={**v2, "id": view["id"], "hash": "old"}, block_id="wizard_nav")
    assert reply.status == 200
    slack.wait_for("views.update", lambda c: c.params.get("hash") == "old")
    assert "unhandled error" not in workspace.bot.log()


def test_unknown_actions_and_views_get_no_crash(workspace, bot):
    assert workspace.click("made_up_action", "x", view={"id": "V1", "callback_id": "x"}).status == 404
    reply = workspace.submit({"id": "V1", "callback_id": "credential_wizard:nonsense"}, {})
    assert reply.status == 404
    assert workspace.command("/list-credentials").status == 200  # still serving


def refuse_doomed_inserts(bot) -> None:
    if bot.database_kind == "sqlite":
        bot.sql(
            "CREATE TRIGGER IF NOT EXISTS refuse_doomed BEFORE INSERT ON credentials "
            "WHEN NEW.name = 'Doomed' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
        return
    bot.sql(
        "CREATE OR REPLACE FUNCTION refuse_doomed() RETURNS trigger AS $$ BEGIN "
        "IF NEW.name = 'Doomed' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
    )
    bot.sql("CREATE TRIGGER refuse_doomed BEFORE INSERT ON credentials FOR EACH ROW EXECUTE FUNCTION refuse_doomed()")


def test_a_database_failure_saves_nothing_and_says_so(bot, workspace, live_key):
    refuse_doomed_inserts(bot)  # make this one insert fail inside the transaction
    try:
        view, _ = workspace.run_wizard("Doomed", "paddle", live_key)
        outcome = workspace.outcome(view["id"])
    finally:
        bot.sql("DROP TRIGGER refuse_doomed" + (" ON credentials" if bot.database_kind == "postgresql" else ""))
    assert outcome["callback_id"] == "credential_wizard:api_key"
    assert "could not be saved (database error). Nothing was stored" in view_text(outcome)
    assert count_rows(bot, workspace.team_id) == 0
    events = bot.sql("SELECT action, outcome FROM audit_events WHERE team_id = :t", t=workspace.team_id)
    assert ("credential.create", "created") not in events and ("credential.create", "failed") in events


def test_a_credential_whose_audit_event_cannot_be_written_is_not_stored_either(bot, slack, workspace, live_key):
    """The credential and its "created" event are written together or not at all (on PostgreSQL one statement,
    on SQLite one transaction): here the event's insert fails, so the credential must be gone too."""
    doomed = Workspace(bot, slack, team_id=workspace.team_id, user_id="U0DOOMED")
    if bot.database_kind == "sqlite":
        bot.sql(
            "CREATE TRIGGER refuse_event BEFORE INSERT ON audit_events WHEN NEW.actor = 'U0DOOMED' "
            "AND NEW.outcome = 'created' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
    else:
        bot.sql(
            "CREATE OR REPLACE FUNCTION refuse_event() RETURNS trigger AS $$ BEGIN IF NEW.actor = 'U0DOOMED' "
            "AND NEW.outcome = 'created' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        bot.sql(
            "CREATE TRIGGER refuse_event BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_event()"
        )
    try:
        view, _ = doomed.run_wizard("Unrecorded", "paddle", live_key)
        outcome = doomed.outcome(view["id"])
    finally:
        bot.sql("DROP TRIGGER refuse_event" + (" ON audit_events" if bot.database_kind == "postgresql" else ""))
    assert "could not be saved (database error). Nothing was stored" in view_text(outcome)
    assert count_rows(bot, workspace.team_id) == 0
