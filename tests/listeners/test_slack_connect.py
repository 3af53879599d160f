"""People of another organisation in a Slack Connect channel (security, third pass, finding 2): every listener the
app registers, driven as such a guest, in a workspace install and in an org-wide install, shows and changes
nothing, and the refusal is audited."""

from __future__ import annotations

import pytest

from tests.kit import InProcessBot, Workspace, core_service, seed, view_text
from tests.kit.connect import ConnectGuest, what_the_guest_got_from_each
from tests.kit.every_listener import RecordingApp, attempts, host_screens, unreached

INSTALLS = {"workspace install": {}, "org-wide install": {"enterprise_id": "E0HOST", "org_wide": True}}
CREDENTIALS = 41  # more than a page of the list (20) and of the Home tab (40): both have a Next button


@pytest.fixture(scope="module")
def recording_bot(database, tmp_path_factory, slack, paddle_live, paddle_sandbox):
    """Credbot as serve builds it, on an App that notes what each registration matches."""
    workdir = tmp_path_factory.mktemp("connect")
    bot = InProcessBot(
        workdir, slack, paddle_live, paddle_sandbox, app_class=RecordingApp, **database.provision(workdir)
    ).start()
    yield bot
    bot.stop()
    bot.close_database()


def host_with_credentials(bot, slack, **install) -> tuple[Workspace, list[str]]:
    """A member's workspace with CREDENTIALS credentials; their names and ids (what no guest may see)."""
    host = Workspace(bot, slack, user_id="U0HOST", **install)
    slack.user_roles["U0HOST"] = {"is_admin"}  # a Slack admin: shown the Settings view too, for the guest to replay
    service = core_service(bot)
    made = [seed(service, host, f"Host ledger {n:02d}") for n in range(CREDENTIALS)]
    return host, [item.name for item in made] + [item.id for item in made]


@pytest.mark.parametrize("install", list(INSTALLS))
def test_a_slack_connect_guest_gets_nothing_from_any_listener(recording_bot, slack, paddle_live, install):
    host, secrets = host_with_credentials(recording_bot, slack, **INSTALLS[install])
    key = paddle_live.new_key("live")
    offered = host_screens(host, texts={"api_key": key})
    assert [v for v in offered.views() if v.get("callback_id") == "workspace_settings"], "the host's Settings view"
    assert InProcessBot.settle_all()
    guest = ConnectGuest(host)
    tried = attempts(
        recording_bot.app.registered,
        guest,
        offered,
        texts={"api_key": key},
        fallback_value=secrets[CREDENTIALS],  # a credential's id
        response_url=slack.response_url,
    )
    assert not unreached(recording_bot.app, tried), "listeners no request reached"
    problems = what_the_guest_got_from_each(recording_bot, guest, tried, secrets, settle)
    assert not problems, "\n".join(problems)


def settle() -> None:
    assert InProcessBot.settle_all()


def test_the_refusal_says_credbot_is_for_members_of_this_workspace(bot, slack, workspace):
    guest = ConnectGuest(workspace)
    answer = guest.send(guest.command("/list-credentials", response_url=slack.response_url("told"))).json()
    assert "Credbot is for members of this workspace" in answer["text"] and "blocks" not in answer
    guest.send(guest.event({"type": "app_home_opened", "channel": "D0GUEST", "tab": "home"}))
    tab = slack.wait_for("views.publish", lambda c: c.params.get("user_id") == "U0GUEST").json("view")
    assert "Credbot is for members of this workspace" in view_text(tab)
    assert bot.sql("SELECT count(*) FROM home_viewers") == [(0,)]
