"""The shapes of Slack's ids, as plain patterns: the settings' checks (bot.infra.setting_checks) and the
workspace settings (bot.credentials.workspace_settings) hold ids to the same rules."""

from __future__ import annotations

import re

CHANNEL_ID_PATTERN = re.compile(r"^[CGD][A-Z0-9]{2,}$")
PRINCIPAL_PATTERN = re.compile(r"^[UWS][A-Z0-9]{2,}$")  # users (U…, W… on Enterprise Grid) and user groups (S…)
WORKSPACE_ID_PATTERN = re.compile(r"^[TE][A-Z0-9]{2,31}$")  # a team (T…) or an Enterprise org (E…)
