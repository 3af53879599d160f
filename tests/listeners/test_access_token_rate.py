"""The read API's per-token rate as the database counts it (AccessTokens.read_secret with ``per_minute``), on
SQLite and PostgreSQL, with a clock the test moves: the window slides, Retry-After is the oldest read's way out,
a refused read records nothing, and each token has its own minute. Two servers sharing it: tests/e2e."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.credentials.access_token_rules import RateLimited
from bot.credentials.access_tokens import AccessTokens
from bot.credentials.audit import AuditLog
from tests.kit import core_service, seed


def test_the_minute_is_counted_in_the_database_and_slides(bot, workspace):
    core = core_service(bot)
    item = seed(core, workspace, "Counted")
    now = [datetime(2026, 12, 3, 12, 0, tzinfo=UTC)]
    audit = AuditLog(core.sessions, clock=lambda: now[0])  # it stamps the reads the rate counts
    tokens = AccessTokens(core.sessions, audit, core.decrypt_for_reader, clock=lambda: now[0])
    _, busy = tokens.issue("busy", [item.id], "U0ALICE")
    _, calm = tokens.issue("calm", [item.id], "U0ALICE")
    for seconds in (0, 10, 20):
        now[0] += timedelta(seconds=seconds and 10)
        tokens.read_secret(busy, item.id, "10.0.0.1", 3)
    now[0] += timedelta(seconds=5)  # 25 s after the first read
    with pytest.raises(RateLimited) as refused:
        tokens.read_secret(busy, item.id, "10.0.0.1", 3)
    assert refused.value.retry_after == 35 and refused.value.status == 429
    assert tokens.read_secret(calm, item.id, "10.0.0.1", 3)[1].reveal()  # its own minute
    reads = bot.sql("SELECT count(*) FROM audit_events WHERE action = 'credential.read'")
    assert reads == [(4,)]  # the refused read wrote no audit row
    now[0] += timedelta(seconds=35)  # the first read leaves the window
    assert tokens.read_secret(busy, item.id, "10.0.0.1", 3)[1].reveal()
    with pytest.raises(RateLimited):
        tokens.read_secret(busy, item.id, "10.0.0.1", 3)
