"""Library log lines (Bolt, slack-sdk) never carry a request body above DEBUG, and are truncated at DEBUG
(moved from test_hardening_http.py: the filter alone, no server)."""

from __future__ import annotations

import json
import logging

from bot.infra.logs import LibraryLineLimit


def test_library_lines_above_debug_never_carry_a_body():
    record = logging.LogRecord(
        "slack_bolt.App",
        logging.WARNING,
        __file__,
        1,
        "Unhandled request (%s)",
        (json.dumps({"view": {"state": "typed secret"}}),),
        None,
    )
    LibraryLineLimit().filter(record)
    assert "typed secret" not in record.getMessage()
    assert record.getMessage().startswith("Unhandled request (")


def test_library_lines_at_debug_are_truncated():
    record = logging.LogRecord("slack_sdk.web", logging.DEBUG, __file__, 1, "%s", ("x" * 10_000,), None)
    LibraryLineLimit().filter(record)
    assert len(record.getMessage()) < 2_100


def test_our_own_lines_are_left_alone():
    record = logging.LogRecord("bot.slack", logging.WARNING, __file__, 1, "kept {whole} body", None, None)
    LibraryLineLimit().filter(record)
    assert record.getMessage() == "kept {whole} body"
