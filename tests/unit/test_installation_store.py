"""The sealed installation store on its own: tokens bound to their row, deletes that name nothing delete nothing."""

from __future__ import annotations

import time

import pytest
from slack_sdk.oauth.installation_store import Bot
from sqlalchemy import create_engine, select

from bot.credentials.models import Base, SlackInstallation
from bot.credentials.vault import KeyRing, VaultError, generate_key
from bot.infra.db import session_factory
from bot.infra.settings import parse_encryption_keys
from bot.slack.installation_store import SealedInstallationStore


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
    with pytest.raises(VaultError):
        store.find_bot(enterprise_id=None, team_id="T0TWO")


def test_a_delete_that_names_no_workspace_deletes_nothing(store):
    store.save_bot(bot("T0KEEP", "xoxb-keep-" + "3" * 20))
    store.delete_bot(enterprise_id=None, team_id=None)
    assert store.find_bot(enterprise_id=None, team_id="T0KEEP") is not None
    store.delete_bot(enterprise_id=None, team_id="T0KEEP")
    assert store.find_bot(enterprise_id=None, team_id="T0KEEP") is None
    assert store.find_bot(enterprise_id=None, team_id="T0NEVER") is None
