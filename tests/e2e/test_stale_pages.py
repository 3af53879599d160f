"""Page buttons whose values name no position, through the real server: the person is answered with the first
page and a notice, and the server logs no error (issue 21: a list cursor dated 0001-01-01T00:00:00+01:00 raised
OverflowError, a Home value of "²" ValueError, and neither was answered)."""

from __future__ import annotations

import json

from tests.kit import Workspace, core_service, seed, view_text

GONE = "That page is no longer available. Here is the first page."
ID = "0b5e9f0c-2f43-4a8e-9d7e-0e0f7f5b1c2a"


def test_a_cursor_out_of_the_calendar_and_a_foreign_digit_are_answered(bot, slack):
    workspace = Workspace(bot, slack)
    seed(core_service(bot), workspace, "Still here")
    log_start = len(bot.log())

    for name, value in (
        ("overflow", json.dumps({"q": "", "a": ["0001-01-01T00:00:00+01:00", ID], "p": 20})),
        ("nested", "[" * 1000 + "]" * 1000),
    ):
        workspace.click("list_page_next", value, response_url=slack.response_url(name))
        answer = slack.wait_for(f"response_url:{name}").params
        assert answer["text"] == GONE and "Still here" in view_text(answer)

    workspace.open_home()
    before = workspace.publish_count()
    workspace.home_button("home_page_next", "²")
    home = workspace.published(before)
    assert GONE in view_text(home) and "Still here" in view_text(home)

    bot.wait_idle()
    assert "ERROR" not in bot.log()[log_start:] and "Traceback" not in bot.log()[log_start:]
