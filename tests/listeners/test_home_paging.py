"""The Credentials tab's Previous/Next: a value that names no page the tab could draw now (mangled, another
number system, past the end) is answered with the first page and a notice, never with silence."""

from __future__ import annotations

import pytest

from tests.kit import core_service, scope, seed, view_text

GONE = "That page is no longer available. Here is the first page."


def credential_ids(view: dict) -> list[str]:
    return [
        b["block_id"].removeprefix("credential_")
        for b in view["blocks"]
        if b.get("block_id", "").startswith("credential_")
    ]


def turn(workspace, value: str) -> dict:
    before = workspace.publish_count()
    workspace.home_button("home_page_next", value)
    return workspace.published(before)


@pytest.fixture
def two_pages(bot, workspace):
    core = core_service(bot)
    for number in range(45):
        seed(core, workspace, f"Paged {number:02d}")
    return credential_ids(workspace.open_home())


@pytest.mark.parametrize(
    "value",
    [
        "²",  # str.isdigit() says yes, int() raises: the tab was never drawn again (issue 21)
        "١",  # Arabic-Indic one: int() reads it as 1
        "2",  # past the last page
        "999999",
        "9999999",
        "-1",
        "01",
        " 1",
        "1.0",
        "",
        "abc",
        "1" * 5000,
    ],
)
def test_a_page_that_is_not_there_shows_the_first_page_saying_so(workspace, two_pages, value):
    view = turn(workspace, value)
    assert GONE in view_text(view) and credential_ids(view) == two_pages and "1–40 of 45" in view_text(view)


def test_real_pages_carry_no_notice(workspace, two_pages):
    second = turn(workspace, "1")
    assert "41–45 of 45" in view_text(second) and GONE not in view_text(second)
    first = turn(workspace, "0")
    assert credential_ids(first) == two_pages and GONE not in view_text(first)


def test_a_page_gone_since_the_button_was_drawn_shows_the_first(bot, workspace, two_pages):
    core = core_service(bot)
    for item in core.queries.list(scope(workspace), limit=10).items:
        core.delete(scope(workspace), workspace.user_id, item.id)
    view = turn(workspace, "1")  # 35 left: one page
    assert GONE in view_text(view) and "1–35 of 35" in view_text(view)
