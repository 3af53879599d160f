"""People of another organisation in a Slack Connect channel, through the real server (security, third pass,
finding 2): every listener the app registers, driven over HTTP as such a guest, in a workspace install and in an
org-wide installation made through OAuth, shows and changes nothing; the refusals are audited. Both databases."""

from __future__ import annotations

import pytest

from tests.kit import Workspace, core_service, seed
from tests.kit.connect import INSTALLATION_NOTICES, ConnectGuest, what_the_guest_got_from_each
from tests.kit.every_listener import RecordingApp, attempts, host_screens, unreached
from tests.e2e.test_oauth import OAUTH, install

CREDENTIALS = 41  # more than a page of the list (20) and of the Home tab (40)


def registry_of(bot) -> RecordingApp:
    """The app ``serve`` builds with this bot's settings, built here on an App that notes each registration: its
    listener registry is the server's (the same code, the same settings)."""
    from bot.infra.settings import load_settings
    from bot.keys.local_keys import load_key_ring
    from bot.slack.app import build_app
    from bot.slack.services import build_services

    settings = load_settings(bot.env, purpose="serve")
    services = build_services(settings, load_key_ring(settings))
    try:
        app = build_app(services, app_class=RecordingApp)
    finally:
        services.close()
    assert isinstance(app, RecordingApp)
    return app


@pytest.fixture(params=["workspace install", "org-wide install"])
def host(request, bot, start_bot, slack):
    """A member's workspace: in the session's single-workspace bot, or in an org-wide OAuth installation."""
    if request.param == "workspace install":
        return Workspace(bot, slack, user_id="U0HOST")
    oauth_bot = start_bot(**OAUTH)
    install(oauth_bot, slack, "T0UNUSED", "xoxb-org-" + "7" * 20, enterprise_id="E0HOST", org_wide=True)
    return Workspace(oauth_bot, slack, team_id="T0HOSTEAST", user_id="U0HOST", enterprise_id="E0HOST", org_wide=True)


def test_a_slack_connect_guest_gets_nothing_from_any_listener_of_the_server(host, slack, paddle_live):
    bot = host.bot
    service = core_service(bot)
    made = [seed(service, host, f"Host ledger {n:02d}") for n in range(CREDENTIALS)]
    secrets = [item.name for item in made] + [item.id for item in made]
    key = paddle_live.new_key("live")
    offered = host_screens(host, texts={"api_key": key})
    bot.wait_idle()
    app = registry_of(bot)
    guest = ConnectGuest(host)
    tried = attempts(
        app.registered,
        guest,
        offered,
        texts={"api_key": key},
        fallback_value=made[0].id,
        response_url=slack.response_url,
    )
    assert not unreached(app, tried), "listeners no request reached"
    # Slack's word that the installation is gone is not a person's: in OAuth mode Bolt's own listener forgets the
    # installation's tokens, as it should. The in-process test drives them in single-workspace mode.
    driven = [a for a in tried if bot.env.get("SLACK_CLIENT_ID") is None or a.label not in INSTALLATION_NOTICES]
    problems = what_the_guest_got_from_each(bot, guest, driven, secrets, bot.wait_idle)
    assert not problems, "\n".join(problems)
    assert bot.sql("SELECT count(*) FROM audit_events WHERE actor = 'U0GUEST' AND outcome = 'denied'")[0][0] >= len(
        [a for a in driven if a.label not in INSTALLATION_NOTICES]
    )
