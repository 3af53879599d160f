"""`credentials list|show|reveal|rotate|purge|look`: for operators and integration jobs. The first three only read
(reveal is audited); rotate asks the provider for a new key and stores it (audited); purge deletes a workspace's
credentials (audited); look runs the daily look at every key now."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, UTC

from bot.cli import keys_and_database
from bot.cli.failures import EXIT_CONFIG, EXIT_RUNTIME, CommandFailed
from bot.cli.installation_commands import workspace_id
from bot.cli.reminder_commands import background_pass
from bot.infra.os_actor import actor
from bot.cli.printing import one_line, print_json, print_table, utc

HEADER = (
    "id",
    "name",
    "destination",
    "entity type",
    "workspace",
    "created (UTC)",
    "key",
    "last check",
    "expires (UTC)",
    "status",
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    creds = commands.add_parser(
        "credentials", help="Integration Credentials for operators and integration jobs (read; purge)"
    )
    creds_cmd = creds.add_subparsers(dest="credentials_command", required=True)
    listing = creds_cmd.add_parser("list", help="every credential (no keys)")
    listing.add_argument("--destination", choices=keys_and_database.destination_values(), help="only this destination")
    listing.add_argument("--json", action="store_true", help="one JSON array of credential objects")
    listing.set_defaults(func=list_credentials)
    show = creds_cmd.add_parser("show", help="one credential's details (no key)")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=show_credential)
    reveal = creds_cmd.add_parser("reveal", help="write the decrypted key to standard output (audited)")
    reveal.add_argument("id")
    reveal.set_defaults(func=reveal_key)
    rotate = creds_cmd.add_parser(
        "rotate", help="ask Paddle for a new secret of the stored key and store it (rotatable keys; audited)"
    )
    rotate.add_argument("id")
    rotate.add_argument(
        "--grace-seconds",
        type=grace_seconds,
        default=300,
        help="how long the old secret keeps working after the new one is first used (0-86400, default 300)",
    )
    rotate.set_defaults(func=rotate_key)
    purge = creds_cmd.add_parser("purge", help="delete every credential and saved setting of a workspace (audited)")
    purge.add_argument("--workspace", type=workspace_id, required=True, help="team id T… or enterprise id E…")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(func=purge_credentials)
    look = creds_cmd.add_parser(
        "look", help="read every key's record with Paddle now, for the keys not looked at today (the bot does it daily)"
    )
    look.add_argument("--now", help="look as of this ISO date/time instead of now (UTC unless given)")
    look.set_defaults(func=look_at_keys)


def list_credentials(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, read_only=True) as opened:
        items = opened.credentials(args.destination)
    if args.json:
        print_json([item.as_dict() for item in items])
        return
    print_table(
        HEADER,
        (
            (
                item.id,
                one_line(item.name),
                item.destination,
                item.entity_type.value,
                "/".join(p for p in (item.enterprise_id, item.team_id) if p) or "-",
                utc(item.created_at),
                f"…{item.key_hint}",
                item.verification.label,
                utc(item.key_expires_at),
                (item.key_status or "-") + (" (exposed)" if item.key_exposed_at else ""),
            )
            for item in items
        ),
    )


def show_credential(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, read_only=True) as opened:
        item = opened.credential(args.id)
        last_read = opened.access_tokens().last_reads([args.id]).get(args.id)
    fields = item.as_dict()
    fields["last_read_at"] = last_read.isoformat() if last_read else None  # by an integration, over /v1
    fields["unused"] = item.unused(datetime.now(UTC), settings.unused_key_days)  # None: last use unknown
    if args.json:
        print_json(fields)
        return
    for field, value in fields.items():
        print(f"{field}\t{value if value is not None else '-'}")


def reveal_key(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, keys=True) as opened:
        key = opened.reveal(args.id, actor=cli_actor())
    sys.stdout.write(key + ("\n" if sys.stdout.isatty() else ""))  # stdout only: never a log line


def grace_seconds(raw: str) -> int:
    """--grace-seconds: Paddle's range, 0 to 86400 seconds (a usage error, exit 2, otherwise)."""
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 86400:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of seconds from 0 to 86400")
    return int(raw)


def rotate_key(args: argparse.Namespace) -> None:
    """One line: the key rotated (its new ending, never the key), then the scrub of the old ciphertext."""
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, keys=True) as opened:
        hint, checked = keys_and_database.rotate_with_provider(opened, args.id, cli_actor(), args.grace_seconds)
        print(
            f"rotated the key of credential {args.id} with its provider: it now ends …{hint}; the old secret works "
            f"for {args.grace_seconds} s after the new one is first used (audited). {checked}",
            flush=True,
        )
        print(opened.scrub(("credentials",), after="the key is rotated"))


def cli_actor() -> str:
    """Who the audit trail names for a command: the process's own user, and the sudo user beside it."""
    return actor("cli")


def purge_credentials(args: argparse.Namespace) -> None:
    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandFailed(
                "credentials purge deletes for good: pass --yes, or run it at a terminal to be asked", EXIT_CONFIG
            )
        answer = input(
            f"Delete every credential and saved setting of {args.workspace}? Type the workspace id to confirm: "
        )
        if answer.strip() != args.workspace:
            raise CommandFailed("not confirmed: nothing was deleted", EXIT_RUNTIME)
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings) as opened:
        count, settings_count = opened.purge_workspace(args.workspace, cli_actor())
        print(
            f"deleted {count} credential(s) of {args.workspace} and {settings_count} saved setting(s) (audited)",
            flush=True,
        )
        print(opened.scrub(("credentials",), after=f"the {count} credential(s) are deleted"))


def look_at_keys(args: argparse.Namespace) -> None:
    """The daily look's pass over every key due, with the bot's alerts (bot.slack.daily_look)."""
    from bot.slack.daily_look import run_look_pass

    looks = background_pass(args.now, "send alerts", lambda services, now: run_look_pass(services, now=now))
    for looked in looks:
        print(f"{looked.outcome}{' (alerted)' if looked.alert else ''}\t{looked.credential.id}")
    counts = {outcome: sum(1 for looked in looks if looked.outcome == outcome) for outcome in ("accepted", "refused")}
    missed = len(looks) - sum(counts.values())
    print(
        f"{len(looks)} key(s) looked at: {counts['accepted']} accepted, {counts['refused']} refused"
        + (f", {missed} not answered or unreadable (looked at again later)" if missed else ""),
        file=sys.stderr,
    )
