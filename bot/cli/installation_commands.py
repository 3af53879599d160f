"""`installations list|remove`: OAuth mode's installed workspaces (`credentials purge` is in credential_commands)."""

from __future__ import annotations

import argparse
import re

from bot.cli import keys_and_database
from bot.cli.failures import EXIT_RUNTIME, CommandFailed
from bot.cli.printing import print_json, print_table, utc

WORKSPACE_ID = re.compile(r"^[TE][A-Z0-9]{2,31}$")


def add_commands(commands: argparse._SubParsersAction) -> None:
    installs = commands.add_parser("installations", help="workspaces Credbot is installed in (OAuth mode)")
    installs_cmd = installs.add_subparsers(dest="installations_command", required=True)
    listing = installs_cmd.add_parser("list", help="workspace, installed by, when, scopes, token expiry (no token)")
    listing.add_argument("--json", action="store_true", help="one JSON array of installations")
    listing.set_defaults(func=list_installations)
    remove = installs_cmd.add_parser("remove", help="forget a workspace's installation and its tokens")
    remove.add_argument("workspace", type=workspace_id, help="team id T… (or enterprise id E… for an org)")
    remove.set_defaults(func=remove_installation)


def workspace_id(text: str) -> str:
    if not WORKSPACE_ID.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a workspace id (T…) or an enterprise id (E…)")
    return text


def list_installations(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, read_only=True) as opened:
        facts = opened.installations()
    if args.json:
        print_json(
            [
                {
                    **row,
                    "installed_at": utc(row["installed_at"], True),
                    "token_expires_at": utc(row["token_expires_at"], True),
                }
                for row in facts
            ]
        )
        return
    print_table(
        ("workspace", "name", "installed by", "installed (UTC)", "scopes", "token", "token expires (UTC)"),
        [
            (
                _where(row),
                row["team_name"] or "-",
                row["installed_by"] or "-",
                utc(row["installed_at"]),
                ",".join(row["scopes"]) or "-",
                row["token"],
                utc(row["token_expires_at"]),
            )
            for row in facts
        ],
    )


def _where(row: dict) -> str:
    where = "/".join(part for part in (row["enterprise_id"], row["team_id"]) if part)
    return where + " (org-wide)" if row["org_wide"] else where


def remove_installation(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings) as opened:
        removed = opened.remove_installation(args.workspace)
        if not removed:
            raise CommandFailed(f"no installation for {args.workspace}; `installations list` shows them", EXIT_RUNTIME)
        print(
            f"removed the installation of {args.workspace} and its tokens; its credentials stay "
            f"(`credentials purge --workspace {args.workspace}` deletes them)",
            flush=True,
        )
        print(opened.scrub(("slack_installations",), after="the installation is removed"))
