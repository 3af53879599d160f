"""Settings typos do not pass in silence (issue 19, item 4), through the real CLI and bot.api: a name in .env
that is not a setting, or an unknown CREDBOT_* name in the environment, refuses every command (exit 2) naming
the nearest setting; a near miss elsewhere in the environment is one warning line on stderr."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.test_cli_contract import credbot, everything_under
from tests.kit import REPO, run_python, test_key

TYPOS = "CREDBOT_NOTIFY_CHANNEL=C0ANNOUNCE\nCREDBOT_ADMIN=U0ADMIN\nDATABSE_URL=sqlite:////tmp/elsewhere.db\n"
SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
COMMANDS = (
    ["serve"],
    ["db", "upgrade"],
    ["keys", "status"],
    ["keys", "rotate"],
    ["credentials", "list", "--json"],
    ["credentials", "reveal", "00000000-0000-0000-0000-000000000000"],
    ["audit", "--json"],
    ["installations", "list"],
    ["reminders", "run"],
)
SUGGESTIONS = {
    "CREDBOT_NOTIFY_CHANNEL": "CREDBOT_NOTIFY_CHANNELS",
    "CREDBOT_ADMIN": "CREDBOT_ADMINS",
    "DATABSE_URL": "DATABASE_URL",
}


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_names_in_dot_env_that_are_not_settings_refuse_every_command(args, tmp_path):
    (tmp_path / ".env").write_text(TYPOS)
    result = credbot(args, tmp_path, **SLACK)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for typo, meant in SUGGESTIONS.items():
        assert f"{typo} (in .env) is not a setting; did you mean {meant}?" in result.stderr, result.stderr
    assert everything_under(tmp_path) == [tmp_path / ".env"]  # no data dir, database or key on the typo'd path


def test_a_name_like_no_setting_points_to_the_example(tmp_path):
    (tmp_path / ".env").write_text("WEBHOOK_SECRET_PATH=x\n")
    result = credbot(["credentials", "list"], tmp_path)
    assert result.returncode == 2
    assert "WEBHOOK_SECRET_PATH (in .env) is not a setting; .env.example lists every setting" in result.stderr


def test_an_unknown_credbot_name_in_the_environment_refuses(tmp_path):
    result = credbot(["audit", "--json"], tmp_path, CREDBOT_ADMIN="U0ADMIN", CREDBOT_NOTIFY_CHANNEL="C0ANNOUNCE")
    assert result.returncode == 2 and result.stdout == ""
    assert "CREDBOT_ADMIN (in the environment) is not a setting; did you mean CREDBOT_ADMINS?" in result.stderr
    assert "did you mean CREDBOT_NOTIFY_CHANNELS?" in result.stderr


def test_a_near_miss_in_the_environment_is_one_warning_line_and_json_stays_clean(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/credbot.db", "CREDBOT_ENCRYPTION_KEYS": test_key("k1")}
    assert credbot(["db", "upgrade"], tmp_path, **env).returncode == 0
    typos = {
        "DATABSE_URL": "sqlite:////tmp/elsewhere.db",
        "SLACK_BOT_TOKN": "xoxb-1",
        "HOSTNAME": "box",
        "PADDLE_API_KEY": "unrelated",
    }
    for args in (["credentials", "list", "--json"], ["audit", "--json"], ["keys", "status", "--json"]):
        result = credbot(args, tmp_path, **env, **typos)
        assert result.returncode == 0, result.stderr
        json.loads(result.stdout)  # one document: the warnings went to stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 2, result.stderr  # HOSTNAME and PADDLE_API_KEY are not near misses
        assert "DATABSE_URL in the environment is not a setting and is ignored; did you mean DATABASE_URL?" in lines[0]
        assert "SLACK_BOT_TOKN" in lines[1] and "did you mean SLACK_BOT_TOKEN?" in lines[1]


def test_bot_api_refuses_a_typo_in_dot_env_with_its_one_error_type(tmp_path):
    (tmp_path / ".env").write_text(TYPOS)
    program = (
        "from bot.api import CredbotUnavailable, list_credentials\n"
        "try:\n    list_credentials()\nexcept CredbotUnavailable as error:\n    print(error)\n"
    )
    result = run_python(["-c", program], {"PYTHONPATH": str(REPO), "HOME": str(tmp_path)}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    assert "CREDBOT_ADMIN (in .env) is not a setting; did you mean CREDBOT_ADMINS?" in result.stdout


def test_dot_env_example_itself_passes_with_every_line_uncommented(tmp_path):
    example = (REPO / ".env.example").read_text()
    (tmp_path / ".env").write_text(re.sub(r"(?m)^# ([A-Z][A-Z0-9_]+=)", r"\1", example))
    result = credbot(["db", "upgrade"], tmp_path)
    assert result.returncode == 0 and "not a setting" not in result.stderr, result.stderr
