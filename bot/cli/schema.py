"""`db upgrade`: create or migrate the database (the only command besides `serve` that prepares one)."""

from __future__ import annotations

import argparse

from bot.cli import keys_and_database


def add_commands(commands: argparse._SubParsersAction) -> None:
    database = commands.add_parser("db", help="database tasks").add_subparsers(dest="db_command", required=True)
    database.add_parser("upgrade", help="create the database or apply new migrations").set_defaults(func=upgrade)


def upgrade(_args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("db")
    created = keys_and_database.upgrade_database(settings)
    if created is not None:
        print(f"created the database at {created}")
    print("database is up to date")
