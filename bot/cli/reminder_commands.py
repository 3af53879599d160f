"""`reminders run`: send the due key-expiry reminders now (the bot does it daily on its own); in OAuth mode for each
installed workspace with its own token, sharing the work with any instance running the check at the same time."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from bot.cli import keys_and_database
from bot.cli.failures import EXIT_CONFIG, CommandFailed

if TYPE_CHECKING:
    from bot.slack.services import Services

T = TypeVar("T")


def add_commands(commands: argparse._SubParsersAction) -> None:
    reminders = commands.add_parser("reminders", help="key expiry reminders").add_subparsers(
        dest="reminders_command", required=True
    )
    run = reminders.add_parser("run", help="send the due expiry reminders now (the bot does it daily)")
    run.add_argument("--now", help="check as of this ISO date/time instead of now (UTC unless given)")
    run.set_defaults(func=send_reminders)


def background_pass(now_arg: str | None, sends: str, work: Callable[[Services, datetime | None], T]) -> T:
    """One pass of the bot's background work now (``reminders run``, ``credentials look``): the bot's services
    with Slack (``sends``: what the pass sends there, for the one line when no Slack credentials are set), as of
    ``--now``; database failures are one line."""
    from bot.slack.services import build_services

    settings = keys_and_database.command_settings("keys")
    if settings.slack_bot_token is None and not settings.oauth_mode:
        raise CommandFailed(
            f"SLACK_BOT_TOKEN (or, in OAuth mode, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is needed to {sends}",
            EXIT_CONFIG,
        )
    now = keys_and_database.parse_moment(now_arg, "--now")
    with keys_and_database.open_existing(settings, keys=True) as opened:
        key_ring = opened.key_ring
    services = build_services(settings, key_ring)
    try:
        with keys_and_database.database_errors(settings):
            return work(services, now)
    finally:
        services.close()


def send_reminders(args: argparse.Namespace) -> None:
    from bot.slack.reminders import run_expiry_pass

    sent = background_pass(args.now, "send reminders", run_expiry_pass)  # OAuth: each workspace with its own token
    for credential_id, kind in sent:
        print(f"{kind}\t{credential_id}")
    print(f"{len(sent)} reminder(s) sent", file=sys.stderr)
