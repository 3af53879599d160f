"""FairUse alone (security finding 6): claims, their expiry, the per-person window and the bounded pool, on a
clock the test turns (moved from test_fair_use.py, whose listener tests stay in tests/listeners)."""

from __future__ import annotations

import threading

from bot.credentials.types import Workspace as Scope
from bot.slack.fair_use import FairUse, already_running


def scope() -> Scope:
    return Scope("", "T1")


def test_claims_expire_with_the_window_and_release_frees_the_credential():
    now = [0.0]
    fair = FairUse(lambda: now[0], per_person=2, window=60)
    try:
        assert fair.claim(scope(), "U1", "c1", "paddle") is None
        assert fair.claim(scope(), "U2", "c1", "paddle") == already_running("paddle")
        fair.release("c1")
        assert fair.claim(scope(), "U1", "c1", "paddle") is None
        fair.release("c1")
        assert "wait 60 s" in fair.claim(scope(), "U1", "c2", "paddle")
        now[0] = 60.5
        assert fair.claim(scope(), "U1", "c2", "paddle") is None
        assert fair.claim(Scope("", "T2"), "U1", "c3", "paddle") is None  # another workspace's U1 is another person
    finally:
        fair.close()


def test_a_claim_never_released_frees_its_credential_after_its_expiry():
    now = [0.0]
    fair = FairUse(lambda: now[0])
    try:
        assert fair.claim(scope(), "U1", "c1", "paddle") is None
        now[0] = 121
        assert fair.claim(scope(), "U2", "c1", "paddle") is None
    finally:
        fair.close()


def test_the_pool_refuses_when_full_and_releases_the_claim():
    fair = FairUse(workers=1, queue=1)
    gate = threading.Event()
    try:
        for credential_id in ("a", "b"):
            assert fair.claim(scope(), "U1", credential_id, "paddle") is None
            assert fair.run(credential_id, gate.wait)
        assert fair.claim(scope(), "U1", "c", "paddle") is None
        assert not fair.run("c", gate.wait)
        assert fair.claim(scope(), "U2", "c", "paddle") is None  # refused work does not hold its credential
    finally:
        gate.set()
        fair.close()
