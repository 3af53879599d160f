"""OAuth mode's settings: what it needs, what it no longer needs, and its scopes equal to the manifest's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.infra.settings import DEFAULT_SLACK_SCOPES, ConfigError, load_settings

OAUTH = {
    "SLACK_CLIENT_ID": "1111111111.2222222222",
    "SLACK_CLIENT_SECRET": "oauth-secret-for-tests",
    "SLACK_SIGNING_SECRET": "signing-secret-for-tests-1234567",
}


def test_oauth_mode_needs_no_bot_token(tmp_path):
    settings = load_settings(OAUTH | {"CREDBOT_DATA_DIR": str(tmp_path)})
    assert settings.oauth_mode and settings.slack_bot_token is None
    assert settings.slack_scopes == DEFAULT_SLACK_SCOPES and settings.slack_redirect_uri is None
    assert "oauth-secret-for-tests" in settings.known_secrets()


def test_single_workspace_mode_still_needs_its_token(tmp_path):
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not set"):
        load_settings(
            {
                "SLACK_SIGNING_SECRET": "x" * 32,
                "SLACK_CLIENT_ID": "1111111111.2222222222",
                "CREDBOT_DATA_DIR": str(tmp_path),
            }
        )


def test_scopes_are_parsed_and_checked(tmp_path):
    env = OAUTH | {"CREDBOT_DATA_DIR": str(tmp_path)}
    assert load_settings(env | {"SLACK_SCOPES": "commands, chat:write"}).slack_scopes == ("commands", "chat:write")
    with pytest.raises(ConfigError, match="SLACK_SCOPES"):
        load_settings(env | {"SLACK_SCOPES": "commands;chat write"})


def test_default_scopes_are_the_manifests_bot_scopes():
    manifest = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == DEFAULT_SLACK_SCOPES
