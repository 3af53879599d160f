"""`credbot check`'s lines and the X-OAuth-Scopes header it reads, as pure functions."""

from __future__ import annotations

from bot.cli.deployment_check import FAILED, OK, SKIPPED, Check, render
from bot.slack.slack_checks import granted_scopes, missing_scopes


def test_each_status_renders_as_one_line_a_person_reads():
    assert render(Check("settings", OK)) == "ok settings"
    assert render(Check("paddle live", OK, "https://api.paddle.com")) == "ok paddle live: https://api.paddle.com"
    assert (
        render(Check("slack token", FAILED, "Slack said invalid_auth: copy it again"))
        == "FAIL slack token: Slack said invalid_auth: copy it again"
    )
    assert (
        render(Check("slack scopes", SKIPPED, "the token check failed"))
        == "skipped slack scopes: the token check failed"
    )


def test_a_check_document_has_name_ok_status_and_detail():
    assert Check("database", FAILED, "gone").document() == {
        "name": "database",
        "ok": False,
        "status": "failed",
        "detail": "gone",
    }
    assert Check("database", SKIPPED, "why").document()["ok"] is False


def test_slacks_documented_header_is_read_in_any_case():
    # Slack's example ("Working with scopes"): X-OAuth-Scopes: files:read, chat:write:bot
    assert granted_scopes({"X-OAuth-Scopes": "files:read, chat:write:bot"}) == ("files:read", "chat:write:bot")
    assert granted_scopes({"x-oauth-scopes": "commands,chat:write"}) == ("commands", "chat:write")
    assert granted_scopes({"x-oauth-scopes": ""}) == ()
    assert granted_scopes({"Content-Type": "application/json"}) is None


def test_missing_scopes_keep_the_wanted_order():
    assert missing_scopes(("chat:write",), ("commands", "chat:write", "users:read")) == ["commands", "users:read"]
    assert missing_scopes(("a", "b"), ()) == []
