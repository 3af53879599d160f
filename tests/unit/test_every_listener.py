"""tests.kit.every_listener on its own: a listener no request reaches is named, whichever way it was registered,
and a pattern's every alternative is written out."""

from __future__ import annotations

import re
from types import SimpleNamespace

from tests.kit.connect import ConnectGuest
from tests.kit.every_listener import Offered, RecordingApp, attempts, strings_for, unreached


def noop(ack):
    ack()


def app_and_guest():
    app = RecordingApp(token="xoxb-unit", signing_secret="unit", token_verification_enabled=False)
    slack = SimpleNamespace(user_teams={}, user_enterprises={})
    host = SimpleNamespace(slack=slack, team_id="T0HOST", enterprise_id=None, org_wide=False, bot=None)
    return app, ConnectGuest(host)


def tried(app, guest):
    return attempts(
        app.registered, guest, Offered(), texts={}, fallback_value="x", response_url=lambda name: f"http://r/{name}"
    )


def test_every_registered_listener_is_reached_and_one_added_later_is_named():
    app, guest = app_and_guest()
    app.command("/list-credentials")(noop)
    app.view(re.compile("^wizard:(name|kind)$"))(noop)
    app.action("menu")(noop)
    app.event("app_home_opened")(noop)
    app.options("picker")(noop)
    app.shortcut("open")(noop)
    assert unreached(app, tried(app, guest)) == []
    before = tried(app, guest)
    app.action("added_later")(noop)
    assert unreached(app, before) == ["#6: noop []"]
    assert unreached(app, tried(app, guest)) == []


def test_a_listener_registered_in_a_way_the_kit_does_not_record_is_named():
    app, guest = app_and_guest()
    app.command("/list-credentials")(noop)
    app.function("a_function")(noop)  # a kind the kit cannot build a request for yet
    assert unreached(app, tried(app, guest)) == ["#1: noop []"]


def test_a_patterns_every_alternative_is_written_out():
    assert strings_for(re.compile("^credential_wizard:(name|entity_type|destination)$"), "callback_id") == [
        "credential_wizard:name",
        "credential_wizard:entity_type",
        "credential_wizard:destination",
    ]
    assert strings_for(re.compile(r"^(list_page_previous|list_page_next)$"), "action_id") == [
        "list_page_previous",
        "list_page_next",
    ]
    assert strings_for({"type": "view_submission", "callback_id": "x"}, "callback_id") == ["x"]
