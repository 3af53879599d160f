"""Installation tokens are bound to their workspace (security issue 21, finding 12): a database writer who swaps
``team_id`` between two installation rows no longer makes one workspace's requests use the other's token. Through
the real server in OAuth mode, on SQLite and PostgreSQL; and the rows sealed before migration 0012, re-sealed once
by the next start."""

from __future__ import annotations

import pytest

from tests.e2e.test_oauth import OAUTH, install, tokens_used
from tests.kit import Workspace, settled, test_key

FIRST, SECOND = "xoxb-first-" + "a" * 20, "xoxb-second-" + "b" * 20


def relabel(bot, first_team: str, second_team: str) -> None:
    """Swap the two rows' team ids (through a third value: the pair is unique)."""
    for old, new in ((first_team, "T0SWAPPING"), (second_team, first_team), ("T0SWAPPING", second_team)):
        bot.sql("UPDATE slack_installations SET team_id = :new WHERE team_id = :old", new=new, old=old)


def test_rows_relabelled_to_each_others_workspace_give_no_token(start_bot, slack):
    bot = start_bot(**OAUTH)
    first, second = Workspace(bot, slack), Workspace(bot, slack)
    install(bot, slack, first.team_id, FIRST)
    install(bot, slack, second.team_id, SECOND)
    relabel(bot, first.team_id, second.team_id)
    slack.reset()

    reply = first.command("/create-credential", trigger_id="trg-relabelled", response_url=slack.response_url("first"))
    assert reply.status == 200
    answered = settled(
        lambda: [call.method for call in slack.calls],
        lambda methods: {"views.open", "response_url:first"} & set(methods),
    )
    assert "Bearer " + SECOND not in tokens_used(slack, "views.open"), "workspace A's request used B's token"
    assert "response_url:first" in answered, answered
    assert "not installed in this workspace" in slack.wait_for("response_url:first").params["text"]

    second.command("/create-credential", trigger_id="trg-second", response_url=slack.response_url("second"))
    slack.wait_for("response_url:second")
    assert tokens_used(slack, "views.open") == []  # neither workspace got a token, least of all the other's
    log = settled(bot.log, lambda text: text.count("do not decrypt as that workspace's") >= 2)
    lines = [line for line in log.splitlines() if "do not decrypt as that workspace's" in line]
    assert len(lines) == 2 and all(" ERROR " in line for line in lines), lines
    assert any(first.team_id in line for line in lines) and any(second.team_id in line for line in lines), lines
    assert FIRST not in log and SECOND not in log
    audited = bot.sql("SELECT team_id FROM audit_events WHERE action = 'installation.token'")
    assert sorted(team for (team,) in audited) == sorted([first.team_id, second.team_id])

    first.command("/create-credential", trigger_id="trg-again", response_url=slack.response_url("again"))
    slack.wait_for("response_url:again")
    assert len([line for line in bot.log().splitlines() if "do not decrypt" in line]) == 2  # said once per row


def test_tokens_sealed_before_the_migration_are_re_sealed_once_by_the_next_start(start_bot, database, slack):
    from bot.credentials.models import SlackInstallation
    from bot.credentials.vault import KeyRing, Sealed, VaultError
    from bot.infra.secret import Secret
    from bot.infra.setting_checks import parse_encryption_keys
    from bot.slack.oauth.token_binding import token_aad

    key = test_key("binding")
    db = {"DATABASE_URL": database.new_url("binding"), "CREDBOT_ENCRYPTION_KEYS": key}
    bot = start_bot(**(OAUTH | db))
    workspace = Workspace(bot, slack)
    install(bot, slack, workspace.team_id, FIRST)
    assert bot.stop() == 0

    # What an instance before 0012 wrote: the token bound to the row's id and purpose only.
    ring = KeyRing(parse_encryption_keys(key)[0])
    ((row_id,),) = bot.sql("SELECT id FROM slack_installations")
    old_way = token_aad(SlackInstallation(id=row_id, token_binding=1), "bot")
    legacy = ring.encrypt(Secret(FIRST), old_way)
    bot.sql("UPDATE slack_installations SET encrypted_bot_token = :blob, token_binding = 1", blob=legacy.blob)

    again = start_bot(**(OAUTH | db))
    assert "re-sealed the Slack tokens of 1 installation(s)" in again.log()
    assert again.sql("SELECT token_binding FROM slack_installations") == [(2,)]
    ((blob,),) = again.sql("SELECT encrypted_bot_token FROM slack_installations")
    with pytest.raises(VaultError):  # bound to its workspace now: the old associated data no longer opens it
        ring.decrypt(Sealed("binding", bytes(blob)), old_way)
    Workspace(again, slack, team_id=workspace.team_id).open_wizard()
    assert tokens_used(slack, "views.open")[-1] == "Bearer " + FIRST
