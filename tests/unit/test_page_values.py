"""The page buttons' values come back through the user's client: their decoders turn anything into a position the
list could have drawn, or a ValueError, and nothing else (issue 21: a cursor dated 0001-01-01T00:00:00+01:00
raised OverflowError and the person got no answer)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.credentials.types import Cursor
from bot.slack.ui import credential_list, home_tab
from bot.slack.ui.credential_list import PageRequest, page_value, parse_page_value

ID = "0b5e9f0c-2f43-4a8e-9d7e-0e0f7f5b1c2a"


def decoded(raw: object) -> PageRequest | None:
    """The decoder's answer: a request, or None for its one refusal; any other exception fails the test."""
    try:
        return parse_page_value(raw)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+01:00", "0001-01-01T00:59:59+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_dates_that_leave_the_calendar_in_utc_are_refused(stamp):
    assert decoded(json.dumps({"a": [stamp, ID]})) is None
    assert decoded(json.dumps({"b": [stamp, ID]})) is None


def test_the_calendars_edges_in_utc_are_positions():
    for stamp in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00-01:00"):
        assert decoded(json.dumps({"a": [stamp, ID]})) is not None


def test_what_the_list_draws_reads_back():
    at = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    value = page_value("billing", Cursor(at, ID), "a", 20)
    assert parse_page_value(value) == PageRequest("billing", Cursor(at, ID), None, 20)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1")), st.none()))
def test_any_text_is_a_position_or_refused(raw):
    decoded(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["q", "p", "a", "b", "x"]), inner),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_any_json_is_a_position_or_refused(value):
    decoded(json.dumps(value))


offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
stamps = st.one_of(
    st.datetimes(timezones=offsets | st.just(UTC)).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # naive: refused
    st.text(max_size=45),
)
ids = st.one_of(st.just(ID), st.uuids().map(str), st.text(max_size=40), st.just(ID + "\n"))


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(["a", "b"]), stamps, ids, st.one_of(st.integers(), st.booleans(), st.text(max_size=5)))
def test_any_cursor_is_a_utc_position_or_refused(direction, stamp, credential_id, offset):
    request = decoded(json.dumps({"q": "", "p": offset, direction: [stamp, credential_id]}))
    if request is not None:
        cursor = request.after or request.before
        assert cursor is not None and cursor.created_at.utcoffset() == timedelta(0)
        assert credential_list.UUID.fullmatch(cursor.id) and 0 <= request.offset <= 10_000_000


def test_json_nested_past_the_parsers_depth_is_refused():
    assert decoded("[" * 5000 + "]" * 5000) is None  # past 2,000 characters: refused before parsing
    assert decoded("[" * 1000 + "]" * 1000) is None  # RecursionError inside json.loads


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=12), st.integers(min_value=-(10**8), max_value=10**8).map(str), st.none()))
def test_a_home_page_value_is_a_page_number_as_drawn_or_refused(raw):
    try:
        page = home_tab.parse_page(raw)
    except ValueError:
        return
    assert isinstance(raw, str) and raw == str(page) and 0 <= page < 10**home_tab.PAGE_DIGITS


@pytest.mark.parametrize("raw", ["²", "١", "٣٢", "01", "-0", "+1", " 1", "1 ", "1_000", "1000000"])
def test_home_page_numbers_other_than_the_tabs_own_are_refused(raw):
    with pytest.raises(ValueError):
        home_tab.parse_page(raw)
