"""`audit`: the audit trail, oldest first, as a table or one JSON array."""

from __future__ import annotations

import argparse
import sys

from bot.cli import keys_and_database
from bot.cli.printing import one_line, print_json, print_table, utc

HEADER = ("time (UTC)", "action", "outcome", "actor", "workspace", "credential", "detail")


def add_commands(commands: argparse._SubParsersAction, positive) -> None:
    audit = commands.add_parser("audit", help="print the audit trail (oldest first); reads only")
    audit.add_argument("--since", help="only events since: an ISO date/time (UTC), or 30m, 24h, 7d, 2w")
    audit.add_argument("--credential", metavar="ID", help="only events about this credential id")
    audit.add_argument("--limit", type=positive, help="only the latest N matching events")
    audit.add_argument("--json", action="store_true", help="one JSON array of event objects")
    audit.set_defaults(func=show_trail)


def show_trail(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    since = keys_and_database.parse_moment(args.since, "--since")
    with keys_and_database.open_existing(settings, read_only=True) as opened:
        events = opened.audit_events(since, args.credential, args.limit)
    if args.json:
        print_json([event.as_dict() for event in events])
        return
    if not events:
        print("no audit events match", file=sys.stderr)
        return
    print_table(
        HEADER,
        (
            (
                utc(e.at, seconds=True),
                e.action,
                e.outcome,
                e.actor or "-",
                "/".join(p for p in (e.enterprise_id, e.team_id) if p) or "-",
                e.credential_id or "-",
                one_line(e.detail),
            )
            for e in events
        ),
    )
