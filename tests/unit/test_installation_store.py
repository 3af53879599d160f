"""The sealed installation store on its own: tokens bound to their row, deletes that name nothing delete nothing."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from slack_sdk.oauth.installation_store import Bot
from sqlalchemy import create_engine, select

from bot.credentials.models import Base, SlackInstallation
from bot.credentials.vault import KeyRing, Sealed, VaultError, generate_key
from bot.infra.db import session_factory
from bot.infra.setting_checks import parse_encryption_keys
from bot.slack.oauth.installation_store import SealedInstallationStore
from tests.kit import settled


@pytest.fixture
def store(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    Base.metadata.create_all(engine)
    keys, problems = parse_encryption_keys(generate_key("unit"))
    assert not problems
    yield SealedInstallationStore(session_factory(engine), KeyRing(keys), client_id="1.2")
    engine.dispose()


def bot(team: str, token: str) -> Bot:
    return Bot(team_id=team, bot_token=token, bot_id="B1", bot_user_id="U1", installed_at=time.time())


def test_a_token_copied_into_another_row_does_not_decrypt(store):
    store.save_bot(bot("T0ONE", "xoxb-one-" + "1" * 20))
    store.save_bot(bot("T0TWO", "xoxb-two-" + "2" * 20))
    assert store.find_bot(enterprise_id=None, team_id="T0ONE").bot_token == "xoxb-one-" + "1" * 20
    with store.sessions.begin() as session:
        one, two = session.scalars(select(SlackInstallation).order_by(SlackInstallation.team_id)).all()
        two.encrypted_bot_token = one.encrypted_bot_token
    assert store.find_bot(enterprise_id=None, team_id="T0TWO") is None  # reported and audited; no token
    quiet = SealedInstallationStore(store.sessions, store.key_ring, client_id="1.2", report=False)
    with pytest.raises(VaultError):  # the command line's read says why instead
        quiet.find_bot(enterprise_id=None, team_id="T0TWO")


def test_a_row_relabelled_to_another_workspace_does_not_decrypt(store):
    store.save_bot(bot("T0ONE", "xoxb-one-" + "1" * 20))
    store.save_bot(bot("T0TWO", "xoxb-two-" + "2" * 20))
    with store.sessions.begin() as session:
        one, two = session.scalars(select(SlackInstallation).order_by(SlackInstallation.team_id)).all()
        ids = one.id, two.id
    for row_id, team in zip((ids[0], ids[1], ids[0]), ("T0SWAP", "T0ONE", "T0TWO"), strict=True):
        with store.sessions.begin() as session:
            session.get_one(SlackInstallation, row_id).team_id = team
    assert store.find_bot(enterprise_id=None, team_id="T0ONE") is None
    assert store.find_bot(enterprise_id=None, team_id="T0TWO") is None


def test_a_delete_that_names_no_workspace_deletes_nothing(store):
    store.save_bot(bot("T0KEEP", "xoxb-keep-" + "3" * 20))
    store.delete_bot(enterprise_id=None, team_id=None)
    assert store.find_bot(enterprise_id=None, team_id="T0KEEP") is not None
    store.delete_bot(enterprise_id=None, team_id="T0KEEP")
    assert store.find_bot(enterprise_id=None, team_id="T0KEEP") is None
    assert store.find_bot(enterprise_id=None, team_id="T0NEVER") is None


class OneRotation:
    """A token rotator that counts its calls; while it works, ``during`` runs (another instance's request)."""

    def __init__(self, during=None) -> None:
        self.calls, self.during = 0, during

    def perform_bot_token_rotation(self, *, bot: Bot, minutes_before_expiration: int) -> Bot:
        self.calls += 1
        if self.during is not None:
            self.during()
        return Bot(
            team_id=bot.team_id,
            bot_token="xoxb-new-" + "5" * 20,
            bot_id="B1",
            bot_user_id="U1",
            bot_refresh_token="xoxe-1-new",
            bot_token_expires_at=int(time.time()) + 43200,
            installed_at=time.time(),
        )


def expiring(team: str) -> Bot:
    return Bot(
        team_id=team,
        bot_token="xoxb-old-" + "4" * 20,
        bot_id="B1",
        bot_user_id="U1",
        bot_refresh_token="xoxe-1-old",
        bot_token_expires_at=int(time.time()) + 600,
        installed_at=time.time(),
    )


def test_an_instance_that_reads_the_row_while_another_refreshes_waits_instead_of_refreshing_again(store, caplog):
    """The race two instances ran into: B reads the row after A's claim but before A's save. B must not spend
    the single-use refresh token a second time; it waits for A's save and answers with A's new token."""
    store.save_bot(expiring("T0RACE"))
    other = SealedInstallationStore(store.sessions, store.key_ring, client_id="1.2", rotator=OneRotation())
    found = []
    b = threading.Thread(target=lambda: found.append(other.find_bot(enterprise_id=None, team_id="T0RACE")))

    def b_asks_while_a_refreshes():
        b.start()
        # A saves only once B has seen A's claim and waits (its log line): B reads the claimed row, not A's save.
        said = settled(lambda: caplog.messages, lambda lines: any("waiting for another instance" in m for m in lines))
        assert any("waiting for another instance" in m for m in said), said

    caplog.set_level(logging.INFO, logger="bot.slack.oauth.installation_store")
    store.rotator = OneRotation(during=b_asks_while_a_refreshes)
    assert store.find_bot(enterprise_id=None, team_id="T0RACE").bot_token == "xoxb-new-" + "5" * 20
    b.join(15)
    assert (store.rotator.calls, other.rotator.calls) == (1, 0)
    assert found[0].bot_token == "xoxb-new-" + "5" * 20


def test_a_failed_refresh_leaves_no_claim_behind(store):
    store.save_bot(expiring("T0FAIL"))

    class Broken:
        def perform_bot_token_rotation(self, **_):
            raise RuntimeError("Slack said no")

    store.rotator = Broken()
    with pytest.raises(RuntimeError):
        store.find_bot(enterprise_id=None, team_id="T0FAIL")
    with store.sessions() as session:
        assert session.scalars(select(SlackInstallation.refresh_claimed_at)).one() is None
    store.rotator = OneRotation()
    assert store.find_bot(enterprise_id=None, team_id="T0FAIL").bot_token == "xoxb-new-" + "5" * 20


def test_a_row_sealed_the_old_way_is_read_once_and_re_sealed_bound_to_its_workspace(store):
    """A rolling upgrade: an instance of the previous version wrote the row; the first request re-seals it."""
    from bot.infra.secret import Secret
    from bot.slack.oauth.token_binding import token_aad

    store.save_bot(bot("T0OLD", "xoxb-old-" + "4" * 20))
    with store.sessions.begin() as session:
        row = session.scalars(select(SlackInstallation)).one()
        row.token_binding = 1
        sealed = store.key_ring.encrypt(Secret("xoxb-old-" + "4" * 20), token_aad(row, "bot"))
        row.encrypted_bot_token, row.bot_token_key_id = sealed.blob, sealed.key_id
    assert store.find_bot(enterprise_id=None, team_id="T0OLD").bot_token == "xoxb-old-" + "4" * 20
    with store.sessions() as session:
        row = session.scalars(select(SlackInstallation)).one()
        assert row.token_binding == 2 and row.encrypted_bot_token != sealed.blob
        with pytest.raises(VaultError):  # not readable the old way any more
            store.key_ring.decrypt(Sealed(row.bot_token_key_id, row.encrypted_bot_token), token_aad(row, "bot", 1))
