"""Hostile input through Slack's door: each gets a clear answer, the bot keeps serving, nothing bad is stored."""

from __future__ import annotations

import pytest

from tests.kit import InProcessBot, Workspace, view_text

ACCEPTED_NAMES = [
    "<!channel> alert",
    "<!here|here> and <!everyone>",
    "<@U0123456> owns this",
    "<#C0123456> secrets",
    "*bold* _italic_ ~strike~ `code` > quote",
    "<https://evil.example/login|Click to verify>",
    "<script>alert(1)</script> & <b>html</b>",
    ":rotating_light: Payments 💳 👩‍💻",
    "עברית RTL name",
    "مفتاح الدفع",
    "back`tick` trick",
]

REFUSED_NAMES = [
    ("\u202eevil\u202c", "invisible characters"),  # right-to-left override
    ("pay\u200bments", "invisible characters"),  # zero-width space
    ("\ufeffbom", "invisible characters"),  # zero-width no-break space
    ("bad\u0007bell", "control characters"),
    ("line\nbreak", "control characters"),
    ("nul\u0000byte", "control characters"),
    ("x" * 10_000, "Use at most 100 characters (this one has 10000)"),
    ("\ud800", "control characters"),  # a lone surrogate
]


def stored_names(bot, team_id: str) -> list[str]:
    return [row[0] for row in bot.sql("SELECT name FROM credentials WHERE team_id = :t", t=team_id)]


@pytest.mark.parametrize("name, message", REFUSED_NAMES, ids=lambda v: repr(v)[:30] if isinstance(v, str) else v)
def test_hostile_names_get_an_inline_error(workspace, name, message):
    view = workspace.open_wizard()
    reply = workspace.submit(view, {"name": name})
    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "errors" and message in body["errors"]["name"], body


def test_hostile_names_are_stored_as_typed_and_shown_inert(bot, slack, workspace, paddle_live):
    for number, name in enumerate(ACCEPTED_NAMES):  # each by its own creator: a person's Paddle checks are few a minute
        creator = Workspace(bot, slack, team_id=workspace.team_id, user_id=f"U0HOSTILE{number}")
        view, _ = creator.run_wizard(name, "paddle", paddle_live.new_key("live"))
        assert "Credential created" in view_text(creator.outcome(view["id"])), name
    assert sorted(stored_names(bot, workspace.team_id)) == sorted(ACCEPTED_NAMES)
    assert InProcessBot.settle_all()
    shown = [view_text(call.params) for call in slack.calls_to("chat.postMessage")]
    shown.append(view_text(workspace.command("/list-credentials").json()))
    for text in shown:
        # Nothing a name carried can mention, link or open a channel; markup is escaped inside code spans.
        for live in ("<!channel>", "<!here", "<!everyone>", "<@U0123456>", "<#C0123456>", "<https://evil", "<script>"):
            assert live not in text
    listing = view_text(workspace.command("/list-credentials").json())
    assert "`&lt;!channel&gt; alert`" in listing and "`*bold* _italic_ ~strike~ ˋcodeˋ &gt; quote`" in listing
    assert "`back\\u02cbtick\\u02cb trick`" in listing or "`backˋtickˋ trick`" in listing


def test_a_hostile_filter_is_literal(bot, workspace):
    for text in ("<!channel>", "%", "_", "' OR 1=1 --", "x" * 10_000, "\u202e"):
        reply = workspace.command("/list-credentials", text)
        assert reply.status == 200
        assert "<!channel>" not in view_text(reply.json())


@pytest.mark.parametrize(
    "values",
    [
        {},  # no field at all
        {"name": {"type": "plain_text_input"}},  # the field without a value
        {"name": {"type": "plain_text_input", "value": None}},
        {"name": {"type": "plain_text_input", "value": 12345}},  # not a string
        {"name": "not even an object"},
    ],
)
def test_empty_or_malformed_fields_get_an_inline_error(workspace, values):
    view = workspace.open_wizard()
    state_values = {key: value for key, value in values.items()}
    payload = workspace.submission(view)
    payload["view"]["state"]["values"] = {
        k: ({"name_input": v} if isinstance(v, dict) else v) for k, v in state_values.items()
    }
    reply = workspace.bot.sender.interaction(payload)
    assert reply.status == 200
    assert reply.json() == {"response_action": "errors", "errors": {"name": "Enter a name for the credential."}}
