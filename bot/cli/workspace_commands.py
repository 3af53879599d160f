"""`workspaces list|show`: each workspace the deployment knows, installed or not, and its settings in effect with
where each comes from (saved on the team, saved on its org, or the environment's default); reads only."""

from __future__ import annotations

import argparse
import sys

from bot.cli import keys_and_database
from bot.cli.failures import EXIT_RUNTIME, CommandFailed
from bot.cli.installation_commands import workspace_id
from bot.cli.printing import print_json, print_table

NAMES = ("notify_channels", "board_channel", "admins", "viewers", "reminder_days")
HEADER = ("workspace", "name", "installed", *NAMES)


def add_commands(commands: argparse._SubParsersAction) -> None:
    workspaces = commands.add_parser("workspaces", help="each workspace and its settings in effect (reads only)")
    workspaces_cmd = workspaces.add_subparsers(dest="workspaces_command", required=True)
    listing = workspaces_cmd.add_parser("list", help="every known workspace: installed or not, settings in effect")
    listing.add_argument("--json", action="store_true", help="one JSON array of workspace objects")
    listing.set_defaults(func=list_workspaces)
    show = workspaces_cmd.add_parser("show", help="one workspace's settings in effect and where each comes from")
    show.add_argument("workspace", type=workspace_id, help="team id T… (or enterprise id E… for an org-wide install)")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=show_workspace)


def _known() -> list:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, read_only=True) as opened:
        return opened.workspaces()


def list_workspaces(args: argparse.Namespace) -> None:
    known = [item.as_dict() for item in _known()]
    if args.json:
        print_json(known)
        return
    if not known:
        print("no workspace is known yet (none is installed, saved settings or holds credentials)", file=sys.stderr)
        return
    print_table(
        HEADER,
        [
            (_where(item), item["name"] or "-", _installed(item["installed"]))
            + tuple(_cell(name, item["settings"][name]) for name in NAMES)
            for item in known
        ],
    )


def show_workspace(args: argparse.Namespace) -> None:
    item = next((item.as_dict() for item in _known() if item.as_dict()["workspace_id"] == args.workspace), None)
    if item is None:
        raise CommandFailed(
            f"no workspace {args.workspace} is known (not installed, no saved settings, no credentials); "
            "`credbot workspaces list` shows them",
            EXIT_RUNTIME,
        )
    if args.json:
        print_json(item)
        return
    print(f"workspace\t{_where(item)}")
    print(f"name\t{item['name'] or '-'}")
    print(f"installed\t{_installed(item['installed'])}")
    print_table(
        ("setting", "value", "from"),
        [(name, _shown(name, item["settings"][name]["value"]), _source(item["settings"][name])) for name in NAMES],
    )


def _where(item: dict) -> str:
    where = "/".join(part for part in (item["enterprise_id"], item["team_id"]) if part)
    return where + " (org-wide)" if item["org_wide"] and not item["team_id"] else where


def _installed(installed: bool | None) -> str:
    return {True: "yes", False: "no (uninstalled)", None: "single-workspace"}[installed]


def _shown(name: str, value: object) -> str:
    if name in ("admins", "viewers") and not value:
        return "everyone"
    if isinstance(value, list):
        return ",".join(value) or "-"
    return "-" if value is None else str(value)


def _source(setting: dict) -> str:
    return f"saved on {setting['saved_on']}" if setting["source"] == "saved" else "default"


def _cell(name: str, setting: dict) -> str:
    return f"{_shown(name, setting['value'])} ({_source(setting)})"
