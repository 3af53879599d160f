"""`db upgrade`: create or migrate the database (the only command besides `serve` that prepares one); `db scrub`:
no old ciphertext left readable in its files (bot.infra.residue; `keys rotate`, `credentials purge` and the bot's
replaces and deletes do it themselves)."""

from __future__ import annotations

import argparse

from bot.cli import keys_and_database


def add_commands(commands: argparse._SubParsersAction) -> None:
    database = commands.add_parser("db", help="database tasks").add_subparsers(dest="db_command", required=True)
    database.add_parser("upgrade", help="create the database or apply new migrations").set_defaults(func=upgrade)
    database.add_parser(
        "scrub",
        help="make replaced and deleted ciphertexts unreadable in the database's files (PostgreSQL: VACUUM FULL "
        "of the tables that hold ciphertexts; SQLite: a checkpoint that empties the write-ahead log)",
    ).set_defaults(func=scrub)


def upgrade(_args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("db")
    created = keys_and_database.upgrade_database(settings)
    if created is not None:
        print(f"created the database at {created}")
    print("database is up to date")


def scrub(_args: argparse.Namespace) -> None:
    from bot.infra.residue import CIPHERTEXT_TABLES

    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings) as opened:
        print(opened.scrub(CIPHERTEXT_TABLES, after="nothing was changed"))
