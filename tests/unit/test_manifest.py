"""Checks manifest.yml against Slack's app manifest JSON schemas, against the code, and our own rules.

The schemas are vendored in tests/data/ (Slack's manifest schemas 2.0.0, the newest published, and 1.0.0, which
Slack's top-level schema still applies to a manifest without ``_metadata``; MIT, licence beside them), so a
fresh clone needs nothing outside the repository. A missing schema is a failure, not a skip: without it the
validation test would prove nothing. What must match the code (the events listened for, the bot scopes) is
collected from the code, not pinned here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from jsonschema.validators import validator_for
from slack_bolt import App

from bot.infra.db import upgrade
from bot.infra.settings import DEFAULT_SLACK_SCOPES, load_settings
from bot.keys.local_keys import load_key_ring
from bot.slack.app import build_app
from bot.slack.services import build_services

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"
DATA = REPO_ROOT / "tests" / "data"
NEWEST_SCHEMA = "2.0.0"
SCHEMAS = {version: DATA / f"slack-manifest.schema.{version}.json" for version in (NEWEST_SCHEMA, "1.0.0")}

EXPECTED_COMMANDS = {"/create-credential", "/list-credentials"}


@pytest.fixture(scope="module")
def manifest_text() -> str:
    assert MANIFEST_PATH.is_file(), f"manifest not found at {MANIFEST_PATH}"
    return MANIFEST_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def manifest(manifest_text: str) -> dict:
    data = yaml.safe_load(manifest_text)
    assert isinstance(data, dict), "manifest.yml must be a YAML mapping"
    return data


def _schema(version: str) -> dict:
    path = SCHEMAS[version]
    if not path.is_file():
        pytest.fail(
            f"Slack manifest schema not found at {path}. It is vendored in tests/data/; restore it from "
            "git rather than skipping this test.",
            pytrace=False,
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _validator(schema: dict) -> jsonschema.protocols.Validator:
    cls = validator_for(schema, default=None)
    assert cls is not None, f"unrecognised $schema {schema.get('$schema')!r}"
    # The vendored schemas declare draft-07; if that ever changes, look again.
    assert schema.get("$schema") == "http://json-schema.org/draft-07/schema#"
    assert cls is jsonschema.Draft7Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def schema() -> dict:
    """The newest published schema: what the guards below break the manifest against."""
    return _schema(NEWEST_SCHEMA)


@pytest.fixture(scope="module")
def validator(schema: dict) -> jsonschema.protocols.Validator:
    return _validator(schema)


def _errors(validator, instance) -> list[jsonschema.ValidationError]:
    return sorted(validator.iter_errors(instance), key=lambda e: list(e.path))


def _describe(errors) -> str:
    return "\n".join(f"- at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def _commands(manifest: dict) -> dict[str, dict]:
    return {c["command"]: c for c in manifest["features"]["slash_commands"]}


@pytest.mark.parametrize("version", SCHEMAS)
def test_manifest_matches_slack_schema(manifest, version):
    errors = _errors(_validator(_schema(version)), manifest)
    assert not errors, f"{MANIFEST_PATH.name} has {len(errors)} error(s) against schema {version}:\n" + _describe(
        errors
    )


def test_newest_schema_is_2_0_0(schema):
    # v2 definitions (workflows, functions) are what set 2.0.0 apart from 1.0.0: the file is the one we name.
    assert "app-manifests.v2.hermes.workflows" in schema["definitions"]


@pytest.mark.parametrize(
    "breakage, expected_keyword",
    [
        ("command_missing_description", "required"),
        ("app_description_too_long", "maxLength"),
        ("unknown_top_level_key", "additionalProperties"),
    ],
)
def test_validator_rejects_bad_manifests(manifest, validator, schema, breakage, expected_keyword):
    """Guards against the schema test passing vacuously."""
    bad = copy.deepcopy(manifest)
    if breakage == "command_missing_description":
        del bad["features"]["slash_commands"][0]["description"]
    elif breakage == "app_description_too_long":
        limit = schema["definitions"]["app-manifests.v1.display_information.schema"]["properties"]["description"][
            "maxLength"
        ]
        bad["display_information"]["description"] = "x" * (limit + 1)
    elif breakage == "unknown_top_level_key":
        bad["not_a_manifest_key"] = True
    errors = _errors(validator, bad)
    assert errors, f"validator accepted a manifest with {breakage}"
    assert expected_keyword in {e.validator for e in errors}, _describe(errors)


def test_background_color_is_hex(manifest, schema):
    # The schema spells this constraint "regex", which JSON Schema ignores,
    # so check it here.
    prop = schema["definitions"]["app-manifests.v1.display_information.schema"]["properties"]["background_color"]
    color = manifest["display_information"]["background_color"]
    assert re.fullmatch(prop["regex"], color), color


def test_both_slash_commands_present(manifest):
    commands = _commands(manifest)
    assert set(commands) == EXPECTED_COMMANDS
    for name, cmd in commands.items():
        assert cmd.get("description", "").strip(), f"{name} has no description"
        assert cmd.get("usage_hint", "").strip(), f"{name} has no usage_hint"
        assert cmd.get("should_escape") is False, name


def test_bot_scopes_are_least_privilege(manifest):
    scopes = manifest["oauth_config"]["scopes"]
    bot = scopes["bot"]
    assert len(bot) == len(set(bot)), f"duplicate scopes: {bot}"
    # What an OAuth install asks for (the settings' default, which the code uses), nothing more: usergroups:read
    # for CREDBOT_ADMINS groups, users:read for who is from another organisation in Slack Connect, channels:read and
    # groups:read for which workspace owns an announcement or board channel (conversations.info).
    assert tuple(bot) == DEFAULT_SLACK_SCOPES
    assert "chat:write.public" not in bot
    assert set(scopes) == {"bot"}, "no user or optional scopes expected"


def test_interactivity_enabled(manifest):
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_socket_mode_on(manifest):
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    # In socket mode no request URLs are set; they stay commented out.
    assert "request_url" not in settings["interactivity"]
    for name, cmd in _commands(manifest).items():
        assert "url" not in cmd, f"{name} has a url while socket mode is on"


def test_app_home_is_the_credentials_page_and_messages_are_bot_only(manifest):
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True
    assert app_home["messages_tab_read_only_enabled"] is True


def test_http_switch_instructions_are_commented(manifest_text):
    assert "request_url" in manifest_text
    assert "/slack/events" in manifest_text
    assert "socket_mode_enabled false" in manifest_text.replace(":", "")
    # Every mention of the HTTP endpoint is inside a comment.
    for line in manifest_text.splitlines():
        if "/slack/events" in line:
            assert line.lstrip().startswith("#"), line
    commented_urls = re.findall(r"^\s*#\s*url: https://YOUR-HOST/slack/events", manifest_text, re.M)
    assert len(commented_urls) == len(EXPECTED_COMMANDS)
    assert re.search(r"^\s*#\s*request_url: https://YOUR-HOST/slack/events", manifest_text, re.M)


# Each mode's settings, as an operator sets them (README): one workspace's bot token, or OAuth's client.
MODES = {
    "single-workspace": {
        "SLACK_BOT_TOKEN": "xoxb-1-manifest-test",
        "SLACK_SIGNING_SECRET": "signing-secret-for-tests-1234567",
    },
    "oauth": {
        "SLACK_CLIENT_ID": "1111111111.2222222222",
        "SLACK_CLIENT_SECRET": "oauth-secret-for-tests",
        "SLACK_SIGNING_SECRET": "signing-secret-for-tests-1234567",
    },
}
# The bot scopes each event needs, from its page in Slack's Events API reference ("Required scopes"): an event
# listened for that is not here fails the test below until someone has looked it up.
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_uninstalled": (),  # Events API only; no scope
    "tokens_revoked": (),  # "No scopes required!"
}


class RecordingApp(App):
    """Bolt's App, noting the event type of every listener registered through its public ``event`` (our listener
    packages and Bolt's own ``enable_token_revocation_listeners`` alike)."""

    def __init__(self, *args, **kwargs) -> None:
        self.events: set[str] = set()
        super().__init__(*args, **kwargs)

    def event(self, event, *args, **kwargs):
        kind = event.get("type") if isinstance(event, dict) else event
        assert isinstance(kind, str), f"a listener for {event!r}: the manifest cannot be checked against a pattern"
        self.events.add(kind)
        return super().event(event, *args, **kwargs)


@pytest.fixture(scope="module")
def listened_for(tmp_path_factory) -> dict[str, set[str]]:
    """Each mode's event types, from the app ``serve`` builds (bot.slack.app.build_app) in that mode."""
    events = {}
    for mode, env in MODES.items():
        data_dir = tmp_path_factory.mktemp(mode)
        settings = load_settings(env | {"CREDBOT_DATA_DIR": str(data_dir)}, purpose="serve")
        upgrade(settings.database_url)
        services = build_services(settings, load_key_ring(settings))
        try:
            app = build_app(services, app_class=RecordingApp)
            assert isinstance(app, RecordingApp), "build_app no longer builds onto app_class: nothing was recorded"
            events[mode] = app.events
        finally:
            services.close()
    return events


def _bot_events(manifest: dict) -> list[str]:
    return manifest["settings"]["event_subscriptions"]["bot_events"]


@pytest.mark.parametrize("mode", MODES)
def test_manifest_subscribes_to_every_event_listened_for(manifest, listened_for, mode):
    events = listened_for[mode]
    assert events, f"no event listener recorded in {mode} mode: is build_app still registering onto app_class?"
    missing = sorted(events - set(_bot_events(manifest)))
    assert not missing, f"{mode} mode listens for {missing}, which manifest.yml does not subscribe to"


def test_manifest_subscribes_only_to_events_listened_for(manifest, listened_for):
    bot_events = _bot_events(manifest)
    assert len(bot_events) == len(set(bot_events)), bot_events
    unheard = sorted(set(bot_events) - set().union(*listened_for.values()))
    assert not unheard, f"manifest.yml subscribes to {unheard}, which no mode listens for"


def test_manifest_grants_the_scopes_each_event_needs(manifest, listened_for):
    bot_scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in sorted(set().union(*listened_for.values())):
        assert event in EVENT_SCOPES, f"look up {event}'s required scopes in Slack's Events API reference"
        assert set(EVENT_SCOPES[event]) <= bot_scopes, (event, EVENT_SCOPES[event])
