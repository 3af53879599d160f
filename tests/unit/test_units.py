"""Pure parts: settings, catalog, offline key checks, wizard state, Block Kit builders, redaction."""

from __future__ import annotations

import json
from datetime import datetime, UTC

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.infra.settings import ConfigError, load_settings
from bot.credentials import catalog
from bot.credentials.errors import InvalidInput, WizardStateInvalid
from bot.credentials.types import CredentialPage, CredentialSummary
from bot.credentials.names import name_key as normalise_name
from bot.credentials.validation import check_api_key, validate_name
from bot.credentials.wizard_state import WizardState
from bot.infra.logs import MASK, Redactor
from bot.infra.secret import Secret
from bot.slack.ui import channel_messages as channel_ui
from bot.slack.ui import home_tab as home_ui
from bot.slack.ui import credential_list as credentials_ui
from bot.slack.ui import wizard_modal as wizard_ui
from bot.slack.ui.text import escape
from tests.kit import make_key


def test_defaults_and_parsing():
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s" * 32,
            "CREDBOT_DATA_DIR": "/tmp/cb",
            "CREDBOT_NOTIFY_CHANNELS": " C1AAA, C2BBB ,C1AAA",
            "CREDBOT_VERIFY_KEYS": "off",
        }
    )
    assert settings.port == 3000 and settings.host == "0.0.0.0"
    assert settings.database_url == "sqlite:////tmp/cb/credbot.db" and settings.database_is_default
    assert settings.notify_channels == ("C1AAA", "C2BBB")
    assert settings.verify_keys is False
    assert settings.base_url("paddle") == "https://api.paddle.com"
    assert settings.base_url("paddle_sandbox") == "https://sandbox-api.paddle.com"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.socket_mode
    assert "xoxb-1" not in repr(settings)


def test_socket_mode_needs_no_signing_secret_and_postgres_urls_get_psycopg():
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
            "DATABASE_URL": "postgres://u@h/db",
            "CREDBOT_ENCRYPTION_KEYS": "k:" + "A" * 43 + "=",
        }
    )
    assert settings.socket_mode and settings.database_url == "postgresql+psycopg://u@h/db"


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as raised:
        load_settings({"PORT": "0", "DATABASE_URL": "mysql://x", "LOG_LEVEL": "chatty"})
    # token, signing secret, port, database URL, keys (required with a DATABASE_URL), log level
    assert len(raised.value.problems) == 6
    assert "Credbot cannot start" in raised.value.render()


def test_db_and_keys_commands_need_no_slack_settings():
    load_settings({}, purpose="db")


@pytest.mark.parametrize("raw, expected", [("  Acme  ", "Acme"), ("x" * 100, "x" * 100), ("émoji 🔑", "émoji 🔑")])
def test_valid_names(raw, expected):
    assert validate_name(raw) == expected


def test_name_key_folds_case_and_compatibility_forms():
    assert normalise_name("STRASSE") == normalise_name("straße")
    assert normalise_name("ﬁnance") == normalise_name("FINANCE")


def test_catalog_is_the_single_source_of_options():
    assert [e.label for e in catalog.ENTITY_TYPES] == ["Bill"]
    assert [d.label for d in catalog.DESTINATIONS] == ["Paddle", "Paddle (Sandbox Mode)"]
    assert catalog.destinations_matching("SANDBOX") == ["paddle_sandbox"]
    assert catalog.destination_label("retired") == "retired"


def test_keys_match_their_destination():
    live, sandbox = catalog.destination("paddle"), catalog.destination("paddle_sandbox")
    key = make_key("live")
    assert check_api_key(f"  {key}\n", live, live_verification=True).reveal() == key
    with pytest.raises(InvalidInput, match="Paddle sandbox account"):
        check_api_key(make_key("sdbx"), live, live_verification=True)
    assert check_api_key(make_key("sdbx"), sandbox, live_verification=False)


def test_wizard_state_round_trips_and_never_carries_a_key():
    state = WizardState(stage="api_key", name="Acme", entity_type="bill", destination="paddle")
    assert WizardState.from_metadata(state.to_metadata()) == state
    assert state.with_answer("api_key", "pdl_live_x") == state
    assert "api_key" not in json.loads(state.to_metadata()) or json.loads(state.to_metadata())["stage"] == "api_key"


@pytest.mark.parametrize("raw", [None, "", "[]", "{}", '{"v":1,"stage":5}', "x" * 4000])
def test_wizard_state_refuses_bad_metadata(raw):
    with pytest.raises(WizardStateInvalid):
        WizardState.from_metadata(raw)


@pytest.mark.parametrize("stage", ["name", "entity_type", "destination", "api_key"])
def test_every_stage_view_is_valid_block_kit(stage):
    state = WizardState(stage=stage, name="n" * 100, entity_type="bill", destination="paddle_sandbox")
    view = wizard_ui.stage_view(state, problem="<b>bad</b> & worse")
    View(**view).validate_json()  # built as plain dicts for speed: held to Slack's limits by the models here
    assert view["title"]["text"] == "Create credential"
    assert view["submit"]["text"] == ("Create credential" if stage == "api_key" else "Next")
    problem = next(b for b in view["blocks"] if b.get("block_id") == "problem")
    assert problem["text"] == {"type": "plain_text", "text": "⚠️ <b>bad</b> & worse"}  # shown as is, never formatted


@pytest.mark.parametrize("stage", ["name", "entity_type", "destination", "api_key"])
def test_stage_views_stay_within_slacks_limits_at_their_longest(stage):
    state = WizardState(stage=stage, name="`<&>*" * 20, entity_type="bill", destination="paddle_sandbox")
    for problem in (None, "p" * 5000, "<@U1> " * 800):
        view = wizard_ui.stage_view(state, problem=problem)
        View(**view).validate_json()
        assert json.loads(json.dumps(view)) == view  # nothing but JSON in it
    View(**wizard_ui.verifying_view(state)).validate_json()


def test_slack_limits_are_enforced_by_the_models():
    with pytest.raises(SlackObjectFormationError):
        wizard_ui.message_view("t", "x" * 3001).to_dict()


def summary(number: int, name: str = "Name") -> CredentialSummary:
    return CredentialSummary(
        f"id-{number}",
        f"{name} {number}",
        catalog.ENTITY_TYPES[0],
        "paddle",
        "Paddle",
        False,
        "U1",
        datetime(2026, 11, 28, tzinfo=UTC),
        "abcd",
    )


def test_list_and_success_views_fit_slack_limits_at_full_pages():
    items = [summary(n, "<!here> " + "w" * 90) for n in range(20)]
    page = CredentialPage(items, 500, 20, 20, has_next=True, has_previous=True)
    blocks = credentials_ui.list_blocks(page, "f`<@U1>*" * 12)  # plain dicts: held to Slack's limits here
    assert [b.to_dict() for b in Block.parse_all(blocks)] == blocks
    assert len(blocks) <= 50
    assert "<!here>" not in json.dumps(blocks)
    failures = [(f"C{n:010d}", "x" * 60) for n in range(60)]  # a long notice is cut to fit
    view = credentials_ui.created_view(items[0], page, credentials_ui.announced_notice(["C1"], failures))
    assert View(**view).to_dict() == view  # plain dicts: held to Slack's limits here
    assert len(view["blocks"]) <= 100


def test_announcements_are_what_the_models_would_send_at_their_longest():
    item = summary(1, "<!channel> " + "w" * 90)
    for text, blocks in (
        credentials_ui.announcement(item),
        channel_ui.change_announcement("was deleted", item, "U" + "9" * 31, "x" * 200),
    ):
        assert [b.to_dict() for b in Block.parse_all(blocks)] == blocks  # plain dicts: held to Slack's limits here
        assert "<!channel>" not in text + json.dumps(blocks)


def test_slack_date_is_localised_with_a_utc_fallback():
    from bot.slack.ui.text import slack_date

    assert (
        slack_date(datetime(2026, 11, 28, 9, 30, tzinfo=UTC))
        == "<!date^1795858200^{date_short_pretty} at {time}|2026-11-28 09:30 UTC>"
    )


def test_escape():
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_secret_is_masked_everywhere():
    secret = Secret("pdl_live_apikey_value")
    assert "value" not in repr(secret) and "value" not in str(secret) and "value" not in f"{secret}"
    assert secret.hint() == "alue"
    with pytest.raises(TypeError):
        __import__("pickle").dumps(secret)


def test_redactor_masks_known_values_patterns_and_in_flight_keys():
    redactor = Redactor()
    redactor.add(["xoxb-known-token-123"])
    key = make_key("live")
    odd = "something-unusual-but-secret"
    with redactor.holding(Secret(odd)):
        line = redactor.redact(f"token xoxb-known-token-123 key {key} {odd} xapp-1-A0-123456")
    assert key not in line and odd not in line and "xoxb-known" not in line and "xapp-1-A0" not in line
    assert line.count(MASK) == 4
    assert redactor.redact(odd) == odd  # only while in flight


def test_healthz_is_503_when_the_database_cannot_answer(tmp_path):
    from sqlalchemy import create_engine

    from bot.slack.server.http_door import CredbotWSGI
    from bot.slack.services import build_services

    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 32, "CREDBOT_DATA_DIR": str(tmp_path)}
    )
    services = build_services(settings)
    try:
        services.engine = create_engine(f"sqlite:///file:{tmp_path}/missing/x.db?mode=ro&uri=true")
        statuses = []
        body = b"".join(
            CredbotWSGI(services)(
                {"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}, lambda status, headers: statuses.append(status)
            )
        )
    finally:
        services.close()
    assert statuses == ["503 Service Unavailable"]
    assert json.loads(body) == {"status": "unavailable", "database": "unreachable", "version": "0.1.0"}


def test_an_exception_raised_while_a_key_is_in_scope_is_logged_without_it(capsys):
    """Whatever a library puts in an exception (a header, a URL, the key itself) is masked when logged."""
    import logging

    from bot.infra.logs import REDACTOR, RedactingFormatter, RedactingJSONFormatter

    secret = Secret("unpatterned-secret-value-42")  # matches no key pattern: only the in-flight list catches it
    for formatter in (RedactingFormatter(), RedactingJSONFormatter()):
        handler = logging.StreamHandler()
        handler.setFormatter(formatter)
        logger = logging.getLogger(f"test.scope.{type(formatter).__name__}")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            with REDACTOR.holding(secret):
                try:
                    raise RuntimeError(f"request failed: Authorization: Bearer {secret.reveal()}")
                except RuntimeError:
                    logger.exception("verification crashed with %s", secret.reveal())
        finally:
            logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert err.count(MASK) >= 4 and "unpatterned-secret-value-42" not in err
    assert repr(secret) == "Secret('********')" and str(secret) == "Secret('********')"  # the wrapper is masked


def test_http_workers_default_to_the_cores_up_to_two(monkeypatch):
    import os

    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 32}
    for cores, workers in ((1, 1), (2, 2), (64, 2), (None, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        assert load_settings(base).http_workers == workers
    assert load_settings(base | {"CREDBOT_HTTP_WORKERS": "5"}).http_workers == 5


def test_the_home_tab_is_valid_block_kit_within_slack_limits():
    """home_view builds plain dicts for speed; parsing them into slack-sdk's models checks Slack's limits."""
    from slack_sdk.models.views import View

    from bot.credentials.types import HomePage

    items = [summary(n, "<!here> *x* " + "w" * 88) for n in range(40)]
    for may_manage in (True, False):
        for page in (HomePage(items, 1, 40, 1000, has_next=True, total_capped=True), HomePage([], 0, 40, 0)):
            view = home_ui.home_view(page, may_manage=may_manage, notice="note")
            parsed = View(**view).to_dict()  # raises SlackObjectFormationError beyond Slack's limits
            assert len(parsed["blocks"]) <= 100 and "<!here>" not in json.dumps(parsed)
            menus = [b["accessory"]["options"] for b in view["blocks"] if "accessory" in b]
            assert all(len(m) == (5 if may_manage else 2) for m in menus)


@pytest.mark.parametrize(
    "one, other",
    [
        ("Alpha", "\u0410lpha"),  # Cyrillic А
        ("alpha", "A1pha"),  # digit one for l
        ("Paddle live", "PADDLE LIVE"),
        ("credo", "cred0"),
    ],
)
def test_names_that_look_the_same_share_a_key(one, other):
    assert normalise_name(one) == normalise_name(other)


@pytest.mark.parametrize("one, other", [("Paddle live", "Paddle sandbox"), ("Key 1", "Key 2"), ("ab", "a b")])
def test_names_that_read_differently_keep_their_own_keys(one, other):
    assert normalise_name(one) != normalise_name(other)


@pytest.mark.parametrize(
    "name, words",
    [
        ("Alpha\u034f", "invisible"),  # combining grapheme joiner (default-ignorable)
        ("Alpha\u3164", "invisible"),  # Hangul filler
        ("\u115fAlpha", "invisible"),  # Hangul choseong filler
        ("Alpha\uffa0", "invisible"),  # halfwidth Hangul filler
        ("Alpha\u2800", "invisible"),  # braille blank
        ("Al\ufe0fpha", "invisible"),  # a variation selector outside an emoji
        ("\u0301" * 100, "letter or digit"),  # bare combining marks
        ("-- !! --", "letter or digit"),
        ("Alpha\ue000", "no agreed appearance"),  # private use
        ("\ufdfa" * 100, "too long once"),  # folds to 1,800 characters, more than the column holds
    ],
)
def test_names_that_hide_what_they_are_are_refused(name, words):
    with pytest.raises(InvalidInput) as refused:
        validate_name(name)
    assert words in refused.value.message


@pytest.mark.parametrize("name", ["👩\u200d💻 dev", "❤\ufe0f ops", "Straße", "東京 billing", "Ünïcödé"])
def test_names_with_emoji_sequences_and_other_scripts_are_kept(name):
    assert validate_name(name) == name


def test_the_slack_client_logger_has_the_configured_level_so_request_bodies_are_not_formatted_above_debug():
    """slack-sdk builds each call's debug line (the whole JSON body) when its logger's own level is 0 or DEBUG."""
    import logging

    from slack_sdk import WebClient

    from bot.infra.logs import configure_logging

    root = logging.getLogger()
    client_logger = logging.getLogger("slack_sdk.web.base_client")
    saved = list(root.handlers), root.level, client_logger.level
    try:
        configure_logging("INFO")
        assert WebClient(token="xoxb-1").logger.level == logging.INFO
        configure_logging("DEBUG")
        assert WebClient(token="xoxb-1").logger.level == logging.DEBUG
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        client_logger.setLevel(saved[2])


def test_the_stage_table_is_the_wizard_states_fields_and_the_services_arguments():
    """Adding a wizard field is a row of STAGES: the state carries exactly its carried fields, and the service's
    create takes each of them by name (wizard_submit passes state.answers())."""
    import dataclasses
    import inspect

    from bot.credentials.service import CredentialService
    from bot.credentials.wizard_state import CARRIED, KEY_STAGE, STAGES

    assert [f.name for f in dataclasses.fields(WizardState)] == ["stage", *CARRIED]
    parameters = inspect.signature(CredentialService.create).parameters
    assert set(CARRIED) | {KEY_STAGE} <= set(parameters)
    assert [s.field for s in STAGES if not s.carried] == [KEY_STAGE] == [STAGES[-1].field]
