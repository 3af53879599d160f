"""The grace period of a rotation through Paddle (bot.credentials.key_rotation.grace_seconds): Paddle's range,
0–86400 whole seconds, whatever came back through a client or a command line."""

from __future__ import annotations

import pytest

from bot.credentials.errors import InvalidInput
from bot.credentials.key_rotation import DEFAULT_GRACE_SECONDS, grace_seconds


@pytest.mark.parametrize(("raw", "seconds"), [("300", 300), (" 0 ", 0), ("86400", 86400), (60, 60), ("0060", 60)])
def test_whole_seconds_in_paddles_range_are_taken(raw, seconds):
    assert grace_seconds(raw) == seconds


@pytest.mark.parametrize(
    "raw", ["-1", "86401", 86401, -1, True, None, "", " ", "1e3", "3.5", "300s", "３００", "0000300abc", "9" * 5000]
)
def test_anything_else_is_refused_in_words(raw):
    with pytest.raises(InvalidInput) as refused:
        grace_seconds(raw)
    assert refused.value.field == "grace_period" and "0 to 86400" in refused.value.message


def test_the_default_is_awss_and_within_range():
    assert grace_seconds(DEFAULT_GRACE_SECONDS) == 300
