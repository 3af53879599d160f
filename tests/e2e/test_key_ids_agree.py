"""Instances on one database must have the same keys (security issue 21, finding 9), through the real server
and CLI on SQLite and PostgreSQL: a recorded key id that is not configured here, and not retired, stops
start-up by name, so two instances with different keys cannot both serve; the documented rotation (and
retiring a key by hand) keeps working."""

from __future__ import annotations

import time

from tests.kit import BotProcess, Workspace, run_cli, test_key, view_text
from tests.kit.bots import serve_outcome


def refusal(bot: BotProcess) -> str:
    """The one line serve ended with (exit 2, no traceback)."""
    assert bot.process.returncode == 2, bot.log()
    log = bot.log()
    assert "Traceback" not in log
    (line,) = [line for line in log.splitlines() if line.startswith("Credbot cannot start")]
    return line


def create(bot: BotProcess, slack, live_key: str, name: str) -> None:
    workspace = Workspace(bot, slack)
    view, _ = workspace.run_wizard(name, "paddle", live_key)
    assert "Credential created" in view_text(workspace.outcome(view["id"])), bot.log()


def keys(bot: BotProcess, *args: str, encryption_keys: str):
    env = {k: v for k, v in bot.env.items() if k in ("DATABASE_URL", "CREDBOT_DATA_DIR")}
    return run_cli(["keys", *args], env | {"CREDBOT_ENCRYPTION_KEYS": encryption_keys}, bot.workdir)


def test_a_second_instance_with_other_keys_does_not_serve(database, tmp_path, slack, paddle_live, paddle_sandbox):
    shared = database.shared("split")
    first = BotProcess(tmp_path / "a", slack, paddle_live, paddle_sandbox, **shared).start()
    other_key = test_key("other")
    second = BotProcess(
        tmp_path / "b", slack, paddle_live, paddle_sandbox, **(shared | {"CREDBOT_ENCRYPTION_KEYS": other_key})
    )
    try:
        status = serve_outcome(second)
        assert status is not None, "a second instance with other keys serves beside the first: the data splits"
        line = refusal(second)
        first_id = shared["CREDBOT_ENCRYPTION_KEYS"].split(":", 1)[0]
        assert f"key id '{first_id}'" in line and "not configured here" in line, line
        assert other_key.split(":", 1)[1] not in second.log()
        # The refusal took back what it wrote: the first instance restarts as before, and the key checks are its own.
        assert first.stop() == 0
        first.start()
        assert first.sql("SELECT key_id FROM key_checks") == [(first_id,)]
    finally:
        first.stop()
        second.stop()
        first.close_database()


def test_two_instances_with_different_keys_started_at_once_never_both_serve(
    database, tmp_path, slack, paddle_live, paddle_sandbox
):
    shared = database.shared("race")
    bots = [
        BotProcess(
            tmp_path / name,
            slack,
            paddle_live,
            paddle_sandbox,
            **(shared | {"CREDBOT_ENCRYPTION_KEYS": test_key(name)}),
        )
        for name in ("left", "right")
    ]
    try:
        for bot in bots:
            bot.launch()
        outcomes = [serve_outcome_of_launched(bot) for bot in bots]
        assert outcomes.count(None) <= 1, "both served, each under its own key"
        for bot, outcome in zip(bots, outcomes, strict=True):
            if outcome is not None:
                assert "not configured here" in refusal(bot)
        for bot in bots:
            bot.stop()
        winners = [name for name, outcome in zip(("left", "right"), outcomes, strict=True) if outcome is None]
        # A start that refused took back what it wrote: only the winner's key is recorded (none if both lost),
        # so the winner, or either after both lost, starts again.
        assert sorted(key for (key,) in bots[0].sql("SELECT key_id FROM key_checks")) == winners
        again = bots[("left", "right").index(winners[0])] if winners else bots[0]
        again.start()
    finally:
        for bot in bots:
            bot.stop()
        bots[0].close_database()


def serve_outcome_of_launched(bot: BotProcess, timeout: float = 40) -> int | None:
    """A launched serve: None once /healthz answers, else its exit status."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            return bot.process.returncode
        try:
            with urllib.request.urlopen(bot.url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return None
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"serve neither served nor stopped:\n{bot.log()}")


def test_the_documented_rotation_and_retiring_a_key_by_hand_keep_working(
    database, tmp_path, slack, paddle_live, paddle_sandbox, live_key
):
    old, new, spare = test_key("old"), test_key("new"), test_key("spare")
    shared = database.shared("rotate") | {"CREDBOT_ENCRYPTION_KEYS": old}
    bot = BotProcess(tmp_path / "a", slack, paddle_live, paddle_sandbox, **shared).start()
    try:
        create(bot, slack, live_key, "Rotated along")
        assert bot.stop() == 0
        both = f"{new},{old}"
        bot.env["CREDBOT_ENCRYPTION_KEYS"] = both  # step 2: the new key first, the old one after it
        bot.start()
        assert bot.stop() == 0
        rotated = keys(bot, "rotate", encryption_keys=both)  # step 3
        assert rotated.returncode == 0 and "retired key id(s) 'old'" in rotated.stdout, rotated.stderr
        bot.env["CREDBOT_ENCRYPTION_KEYS"] = new  # step 4: the old key removed
        bot.start()
        assert bot.stop() == 0

        # A key configured for a while and then dropped without a rotation: named, until retired by hand.
        bot.env["CREDBOT_ENCRYPTION_KEYS"] = f"{new},{spare}"
        bot.start()
        assert bot.stop() == 0
        bot.env["CREDBOT_ENCRYPTION_KEYS"] = new
        assert serve_outcome(bot) == 2
        assert "key id 'spare'" in refusal(bot)
        check = run_cli(["check"], {k: v for k, v in bot.env.items() if k != "PATH"}, bot.workdir, timeout=60)
        assert "key id 'spare'" in check.stdout + check.stderr
        primary = keys(bot, "retire", "new", encryption_keys=new)
        assert primary.returncode == 2 and "primary key" in primary.stderr, primary.stderr
        retired = keys(bot, "retire", "spare", encryption_keys=new)
        assert retired.returncode == 0, retired.stderr
        bot.start()
        create(bot, slack, live_key, "After the spare went")
        assert {key for (key,) in bot.sql("SELECT DISTINCT encryption_key_id FROM credentials")} == {"new"}
    finally:
        bot.stop()
        bot.close_database()


def test_a_key_still_holding_credentials_cannot_be_retired(
    database, tmp_path, slack, paddle_live, paddle_sandbox, live_key
):
    old, new = test_key("held"), test_key("fresh")
    shared = database.shared("held") | {"CREDBOT_ENCRYPTION_KEYS": old}
    bot = BotProcess(tmp_path / "a", slack, paddle_live, paddle_sandbox, **shared).start()
    try:
        create(bot, slack, live_key, "Still under the old key")
        assert bot.stop() == 0
        refused = keys(bot, "retire", "held", encryption_keys=f"{new},{old}")
        assert refused.returncode == 1 and "1 credential(s)" in refused.stderr and "keys rotate" in refused.stderr
        assert refused.stderr.count("\n") == 1
    finally:
        bot.stop()
        bot.close_database()
