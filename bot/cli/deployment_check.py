"""`check`: is this deployment ready, without a person in Slack? Settings, the database, the encryption keys, the
Slack token(s) and their scopes, the bot in each channel it posts to, each workspace's saved channels and user
groups (bot.cli.workspace_checks), and both Paddle base URLs.

One line per check: ``ok <check>`` (``: what was found``), or ``FAIL <check>: what is wrong; what to do``, or
``skipped <check>: why``
(a check that needs one that failed). Exit 0 when none failed, else 1; ``--json`` prints one document instead.
Reads only; no token or key is printed, and no key is sent to Paddle.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from collections.abc import Iterator

from bot.cli import keys_and_database
from bot.cli.check_results import FAILED, OK, SKIPPED, Check, SlackTarget
from bot.cli.failures import CommandFailed
from bot.runtime import CredbotUnavailable
from bot.cli.printing import print_json
from bot.infra.settings import ConfigError, Settings

TOKEN_FIX = "copy the Bot User OAuth Token (xoxb-…) again from your app's OAuth & Permissions page into SLACK_BOT_TOKEN"
INSTALL_FIX = "reinstall the app in that workspace (open /slack/install on Credbot's address)"


def render(check: Check) -> str:
    """The line a person reads: ``ok name[: detail]``, ``FAIL name: detail``, ``skipped name: detail``."""
    if check.ok:
        return f"ok {check.name}" + (f": {check.detail}" if check.detail else "")
    return f"{'FAIL' if check.status == FAILED else 'skipped'} {check.name}: {check.detail}"


def add_commands(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser("check", help="check settings, database, keys, Slack and Paddle; exit 1 if one fails")
    check.add_argument("--json", action="store_true", help='one JSON document: {"ok", "checks": [{name, ok, ...}]}')
    check.set_defaults(func=check_deployment)


def check_deployment(args: argparse.Namespace) -> None:
    checks = run_checks()
    if args.json:
        print_json({"ok": not failures(checks), "checks": [check.document() for check in checks]})
    else:
        for check in checks:
            print(render(check), flush=True)
    if failures(checks):
        names = ", ".join(check.name for check in failures(checks))
        raise CommandFailed(f"{len(failures(checks))} of {len(checks)} checks failed: {names}")


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == FAILED]


def run_checks() -> list[Check]:
    try:
        settings = keys_and_database.command_settings("keys")
    except ConfigError as error:
        why = "the settings do not load"
        return [Check("settings", FAILED, "; ".join(error.problems) + " (environment or .env)")] + [
            Check(name, SKIPPED, why)
            for name in ("database", "encryption keys", "slack token", *(c[0] for c in paddle_checks(None)))
        ]
    checks = [Check("settings", OK)]
    with opened_database(settings, checks) as opened:
        keys_ok = check_keys(opened, checks)
        targets = slack_targets(settings, opened if keys_ok else None, checks)
        check_slack(settings, targets, checks)
        if opened is not None:
            check_saved_settings(settings, opened, targets, checks)
    check_paddle(settings, checks)
    return checks


@contextmanager
def opened_database(settings: Settings, checks: list[Check]) -> Iterator[keys_and_database.Opened | None]:
    """The database as it is (reachable and migrated), or None with the failure noted."""
    try:
        opened = keys_and_database.open_existing(settings)
    except CredbotUnavailable as failed:  # CommandFailed too
        checks.append(Check("database", FAILED, str(failed)))
        yield None
        return
    checks.append(Check("database", OK))
    try:
        yield opened
    finally:
        opened.close()


def check_keys(opened: keys_and_database.Opened | None, checks: list[Check]) -> bool:
    """The key ring opens (with KMS: the data keys unwrap), has every stored key id, and each id's material is
    the one first used."""
    if opened is None:
        checks.append(Check("encryption keys", SKIPPED, "the database check failed"))
        return False
    try:
        opened.key_ring = keys_and_database.key_ring_of(opened.settings, create=False, sessions=opened.sessions)
        problems = opened.key_problems()
    except CredbotUnavailable as failed:  # CommandFailed too
        problems = [str(failed)]
    if problems:
        checks.append(Check("encryption keys", FAILED, "; ".join(problems)))
        return False
    ids = opened.ring.key_ids
    checks.append(Check("encryption keys", OK, f"{len(ids)} key id{'s' if len(ids) != 1 else ''}"))
    return True


def slack_targets(settings: Settings, opened, checks: list[Check]) -> list[SlackTarget]:
    """The bot tokens to check: SLACK_BOT_TOKEN, or in OAuth mode each installation's (which need the keys)."""
    from bot.slack.slack_checks import check_client

    if not settings.oauth_mode:
        if settings.slack_bot_token is None:
            checks.append(
                Check(
                    "slack token",
                    FAILED,
                    "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token "
                    "(xoxb-…) from your app's OAuth & Permissions page",
                )
            )
            return []
        return [SlackTarget("", check_client(settings.slack_bot_token.reveal(), settings.slack_api_url), TOKEN_FIX)]
    if opened is None:
        checks.append(Check("slack installations", SKIPPED, "their tokens need the database and the encryption keys"))
        return []
    installed = opened.installation_tokens()
    if not installed:
        checks.append(
            Check(
                "slack installations",
                FAILED,
                "no workspace has installed the app yet: open /slack/install on Credbot's address to install it",
            )
        )
    targets = []
    for facts, token, why in installed:
        label = f"{facts['team_name'] or '-'} ({facts['team_id'] or facts['enterprise_id']})"
        if token is None and facts["token"] != "stored":  # uninstalled or revoked: nothing to check there
            checks.append(Check(f"slack token of {label}", SKIPPED, why))
        elif token is None:
            checks.append(Check(f"slack token of {label}", FAILED, f"{why}; {INSTALL_FIX}"))
        else:
            client = check_client(token.reveal(), settings.slack_api_url)
            scope = facts["enterprise_id"] if facts["org_wide"] else facts["team_id"]
            targets.append(SlackTarget(label, client, INSTALL_FIX, workspace_id=scope or facts["enterprise_id"]))
    return targets


def check_slack(settings: Settings, targets: list[SlackTarget], checks: list[Check]) -> None:
    from bot.slack.slack_checks import SlackCheckFailed, missing_scopes, token_facts

    for target in targets:
        of = f" of {target.label}" if target.label else ""
        try:
            facts = token_facts(target.client)
        except SlackCheckFailed as failed:
            fix = target.fix if failed.refused else "check SLACK_API_URL and this host's way out, or try again later"
            checks.append(Check(f"slack token{of}", FAILED, f"{failed}: {fix}"))
            checks.append(Check(f"slack scopes{of}", SKIPPED, "the token check failed"))
            continue
        target.working, target.bot_name = True, facts.user or target.bot_name
        checks.append(Check(f"slack token{of}", OK, f"bot {facts.user} in {facts.team}, {facts.team_id}"))
        if facts.scopes is None:
            checks.append(
                Check(
                    f"slack scopes{of}",
                    FAILED,
                    "Slack's answer did not name the token's scopes (X-OAuth-Scopes header): is a proxy dropping it?",
                )
            )
            continue
        lacking = missing_scopes(facts.scopes, settings.slack_scopes)
        checks.append(
            Check(f"slack scopes{of}", OK)
            if not lacking
            else Check(
                f"slack scopes{of}",
                FAILED,
                f"the token lacks {', '.join(lacking)}: add them to the app's Bot Token "
                f"Scopes (OAuth & Permissions, or paste manifest.yml again), then reinstall the app to the workspace"
                + ("" if target.label else " and copy the new token into SLACK_BOT_TOKEN"),
            )
        )
    channels = [(f"notification channel {c}", c, "CREDBOT_NOTIFY_CHANNELS") for c in settings.notify_channels]
    if settings.board_channel:
        channels.append((f"board channel {settings.board_channel}", settings.board_channel, "CREDBOT_BOARD_CHANNEL"))
    working = [target for target in targets if target.working]
    for name, channel, setting in channels:
        if not working:
            checks.append(Check(name, SKIPPED, "no Slack token works"))
            continue
        checks.append(channel_check(name, channel, setting, working))


def channel_check(name: str, channel: str, setting: str, targets: list[SlackTarget]) -> Check:
    """The bot is a member of ``channel`` in the first workspace whose token can see it."""
    from bot.slack.slack_checks import SlackCheckFailed, bot_is_member

    for target in targets:
        where = f" in {target.label}" if target.label else ""
        try:
            member = bot_is_member(target.client, channel)
        except SlackCheckFailed as failed:
            if failed.code == "channel_not_found":
                continue
            return Check(
                name,
                FAILED,
                f"{failed}{where}: check {setting}, and that the app has the channels:read and groups:read scopes",
            )
        if member:
            return Check(name, OK, where.strip())
        return Check(name, FAILED, f"the bot is not a member{where}: type `/invite @{target.bot_name}` in that channel")
    return Check(
        name,
        FAILED,
        f"Slack finds no channel {channel}: check the id in {setting} (channel details, at "
        f"the bottom of About); for a private channel, type `/invite @{targets[0].bot_name}` "
        "in it first",
    )


def check_saved_settings(settings: Settings, opened, targets: list[SlackTarget], checks: list[Check]) -> None:
    """Each workspace's saved channels and user groups (bot.cli.workspace_checks)."""
    from bot.cli.workspace_checks import check_workspaces

    try:
        known = opened.workspaces()
    except CredbotUnavailable as failed:
        checks.append(Check("workspace settings", FAILED, str(failed)))
        return
    check_workspaces(known, targets, settings.oauth_mode, checks)


def paddle_checks(settings: Settings | None) -> list[tuple[str, str, str]]:
    """(check name, base URL, setting) for each of the catalog's Paddle destinations: "paddle live"…"""
    return [
        (f"paddle {d.environment}", (settings.base_url(d.value) if settings else None) or "", d.base_url_setting)
        for d in keys_and_database.destinations()
        if d.provider == "paddle"
    ]


def check_paddle(settings: Settings, checks: list[Check]) -> None:
    """Each base URL answers a request without a key as Paddle's API does (no key is sent)."""
    from bot.providers.paddle_reachability import paddle_problem

    for name, url, setting in paddle_checks(settings):
        problem = paddle_problem(url, settings.paddle_timeout)
        checks.append(
            Check(name, OK, url)
            if problem is None
            else Check(
                name,
                FAILED,
                f"{url} ({setting}) {problem}: check {setting}, and that this host may reach Paddle "
                "(firewall, proxy), or try again later",
            )
        )
