"""`reminders run`: send the due key-expiry reminders now (the bot does it daily on its own); in OAuth mode for each
installed workspace with its own token, sharing the work with any instance running the check at the same time."""

from __future__ import annotations

import argparse
import sys

from bot.cli import keys_and_database
from bot.cli.failures import EXIT_CONFIG, CommandFailed


def add_commands(commands: argparse._SubParsersAction) -> None:
    reminders = commands.add_parser("reminders", help="key expiry reminders").add_subparsers(
        dest="reminders_command", required=True
    )
    run = reminders.add_parser("run", help="send the due expiry reminders now (the bot does it daily)")
    run.add_argument("--now", help="check as of this ISO date/time instead of now (UTC unless given)")
    run.set_defaults(func=send_reminders)


def send_reminders(args: argparse.Namespace) -> None:
    from bot.slack.reminders import run_expiry_pass
    from bot.slack.services import build_services

    settings = keys_and_database.command_settings("keys")
    if settings.slack_bot_token is None and not settings.oauth_mode:
        raise CommandFailed(
            "SLACK_BOT_TOKEN (or, in OAuth mode, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is needed to send reminders",
            EXIT_CONFIG,
        )
    now = keys_and_database.parse_moment(args.now, "--now")
    with keys_and_database.open_existing(settings, keys=True) as opened:
        key_ring = opened.key_ring
    services = build_services(settings, key_ring)
    try:
        with keys_and_database.database_errors(settings):
            sent = run_expiry_pass(services, now)  # OAuth mode: each installed workspace with its own token
    finally:
        services.close()
    for credential_id, kind in sent:
        print(f"{kind}\t{credential_id}")
    print(f"{len(sent)} reminder(s) sent", file=sys.stderr)
