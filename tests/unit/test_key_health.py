"""The key health line's words for a key's use (bot.slack.ui.key_health) and the rule that flags an idle key
(CredentialSummary.unused): last used per Paddle, never used, unknown for legacy keys; flagged after
CREDBOT_UNUSED_KEY_DAYS, a never-used key only once stored that long; the read by an integration."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.credentials import catalog
from bot.credentials.types import CredentialSummary, Outcome, Verification
from bot.slack.ui import credential_list
from bot.slack.ui.key_health import Usage, health_text, last_use_text

NOW = datetime.now(UTC).replace(microsecond=0)  # the list reads the clock itself
DAYS = 30


def credential(*, created_days_ago: float = 100, used_days_ago: float | None = 1, looked: bool = True):
    return CredentialSummary(
        id="c1",
        name="Billing",
        entity_type=catalog.ENTITY_TYPES[0],
        destination="paddle",
        destination_label="Paddle",
        sandbox=False,
        created_by="U0ALICE",
        created_at=NOW - timedelta(days=created_days_ago),
        key_hint="abcd",
        verification=Verification(NOW - timedelta(hours=2), Outcome.ACCEPTED),
        key_status="active",
        key_last_used_at=NOW - timedelta(days=used_days_ago) if used_days_ago is not None else None,
        key_looked_at=NOW - timedelta(hours=2) if looked else None,
    )


@pytest.mark.parametrize(
    ("item", "flagged"),
    [
        (credential(used_days_ago=1), False),
        (credential(used_days_ago=DAYS - 0.01), False),
        (credential(used_days_ago=DAYS), True),
        (credential(used_days_ago=400), True),
        (credential(used_days_ago=None, created_days_ago=DAYS + 1), True),  # never used, stored long ago
        (credential(used_days_ago=None, created_days_ago=2), False),  # never used, but new
        (credential(used_days_ago=None, looked=False), None),  # legacy, or not read yet: unknown
    ],
)
def test_a_key_is_idle_after_the_days_and_a_new_one_is_not(item, flagged):
    assert item.unused(NOW, DAYS) is flagged


def test_the_words_for_each_kind_of_use():
    usage = Usage(NOW, DAYS)
    assert last_use_text(credential(used_days_ago=1), usage).startswith("last used <!date^")
    assert last_use_text(credential(used_days_ago=1), usage).endswith("(per Paddle)")
    assert last_use_text(credential(used_days_ago=None, created_days_ago=2), usage) == "never used (per Paddle)"
    assert last_use_text(credential(used_days_ago=None, looked=False), usage) == "last use unknown"
    idle = last_use_text(credential(used_days_ago=45), usage)
    assert idle.startswith(":zzz: last used") and idle.endswith("(per Paddle): not used for 30+ days")
    assert ":zzz:" not in last_use_text(credential(used_days_ago=45))  # no usage given (a modal): not flagged


def test_the_line_says_when_an_integration_last_read_it():
    item = credential()
    read = NOW - timedelta(hours=3)
    line = health_text(item, Usage(NOW, DAYS, {"c1": read}))
    assert f"read by an integration <!date^{int(read.timestamp())}^" in line
    assert "read by an integration" not in health_text(item, Usage(NOW, DAYS))
    assert "read by an integration" not in health_text(replace(item, id="c2"), Usage(NOW, DAYS, {"c1": read}))


def test_the_list_flags_only_an_idle_key():
    assert "not used for 30+ days (per Paddle)" in credential_list.status_text(credential(used_days_ago=400), DAYS)
    assert credential_list.status_text(credential(used_days_ago=1), DAYS) == ""
    assert credential_list.status_text(credential(used_days_ago=400)) == ""  # no setting given: no flag
