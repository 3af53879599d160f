"""Checks manifest.yml against Slack's app manifest JSON schema and our own rules.

The schema is vendored in tests/data/slack-manifest.schema.json (Slack's
manifest schema 1.0.0, MIT, licence beside it), so a fresh clone needs nothing
outside the repository. A missing schema is a failure, not a skip: without it
the validation test would prove nothing.
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

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"
SCHEMA_PATH = REPO_ROOT / "tests" / "data" / "slack-manifest.schema.json"

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


@pytest.fixture(scope="module")
def schema() -> dict:
    if not SCHEMA_PATH.is_file():
        pytest.fail(
            f"Slack manifest schema not found at {SCHEMA_PATH}. It is vendored "
            "in tests/data/; restore it from git rather than "
            "skipping this test.",
            pytrace=False,
        )
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict) -> jsonschema.protocols.Validator:
    cls = validator_for(schema, default=None)
    assert cls is not None, (
        f"unrecognised $schema {schema.get('$schema')!r} in {SCHEMA_PATH}"
    )
    # The vendored schema declares draft-07; if that ever changes, look again.
    assert schema.get("$schema") == "http://json-schema.org/draft-07/schema#"
    assert cls is jsonschema.Draft7Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _errors(validator, instance) -> list[jsonschema.ValidationError]:
    return sorted(validator.iter_errors(instance), key=lambda e: list(e.path))


def _describe(errors) -> str:
    return "\n".join(
        f"- at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in errors
    )


def _commands(manifest: dict) -> dict[str, dict]:
    return {c["command"]: c for c in manifest["features"]["slash_commands"]}


def test_manifest_matches_slack_schema(manifest, validator):
    errors = _errors(validator, manifest)
    assert not errors, (
        f"{MANIFEST_PATH.name} has {len(errors)} schema error(s):\n"
        + _describe(errors)
    )


@pytest.mark.parametrize(
    "breakage, expected_keyword",
    [
        ("command_missing_description", "required"),
        ("app_description_too_long", "maxLength"),
        ("unknown_top_level_key", "additionalProperties"),
    ],
)
def test_validator_rejects_bad_manifests(
    manifest, validator, schema, breakage, expected_keyword
):
    """Guards against the schema test passing vacuously."""
    bad = copy.deepcopy(manifest)
    if breakage == "command_missing_description":
        del bad["features"]["slash_commands"][0]["description"]
    elif breakage == "app_description_too_long":
        limit = schema["definitions"]["app-manifests.v1.display_information.schema"][
            "properties"
        ]["description"]["maxLength"]
        bad["display_information"]["description"] = "x" * (limit + 1)
    elif breakage == "unknown_top_level_key":
        bad["not_a_manifest_key"] = True
    errors = _errors(validator, bad)
    assert errors, f"validator accepted a manifest with {breakage}"
    assert expected_keyword in {e.validator for e in errors}, _describe(errors)


def test_background_color_is_hex(manifest, schema):
    # The schema spells this constraint "regex", which JSON Schema ignores,
    # so check it here.
    prop = schema["definitions"]["app-manifests.v1.display_information.schema"][
        "properties"
    ]["background_color"]
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
    # usergroups:read: CREDBOT_ADMINS groups; users:read: who is from another organisation in Slack Connect
    # channels:read, groups:read: which workspace owns an announcement or board channel (conversations.info)
    assert set(bot) == {"commands", "chat:write", "usergroups:read", "users:read", "channels:read", "groups:read"}
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
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]


def test_http_switch_instructions_are_commented(manifest_text):
    assert "request_url" in manifest_text
    assert "/slack/events" in manifest_text
    assert "socket_mode_enabled false" in manifest_text.replace(":", "")
    # Every mention of the HTTP endpoint is inside a comment.
    for line in manifest_text.splitlines():
        if "/slack/events" in line:
            assert line.lstrip().startswith("#"), line
    commented_urls = re.findall(
        r"^\s*#\s*url: https://YOUR-HOST/slack/events", manifest_text, re.M
    )
    assert len(commented_urls) == len(EXPECTED_COMMANDS)
    assert re.search(
        r"^\s*#\s*request_url: https://YOUR-HOST/slack/events",
        manifest_text,
        re.M,
    )
