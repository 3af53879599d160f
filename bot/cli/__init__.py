"""Command line: serve, db upgrade, keys generate|status|rotate, credentials list|show|reveal|rotate|look,
workspaces list|show, reminders run, audit, check.

One module per command group; ``keys_and_database`` is the one that opens settings, keys and the database.
``main`` is the one error handler: an expected failure is one line on stderr and exit 2 (configuration, usage)
or 1 (anything else); a traceback only with ``--debug`` or LOG_LEVEL=DEBUG. The README's "Command line
contract" lists every command's exit statuses and what it may create.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from typing import NoReturn

from bot.cli import (
    audit_trail,
    credential_commands,
    deployment_check,
    installation_commands,
    key_commands,
    reminder_commands,
    schema,
    serve,
    token_commands,
    workspace_commands,
)
from bot.cli.failures import EXIT_CONFIG, EXIT_RUNTIME, CommandFailed
from bot.infra.files import UnsafePath
from bot.infra.settings import ConfigError
from bot.runtime import CredbotUnavailable

__all__ = ["main", "parser", "CommandFailed", "EXIT_CONFIG", "EXIT_RUNTIME"]


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (and exit 2) instead of the usage text and the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def parser() -> argparse.ArgumentParser:
    root = Parser(prog="credbot", description="Create and keep Paddle Integration Credentials from Slack.")
    root.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    commands = root.add_subparsers(dest="command", required=True, parser_class=Parser)
    serve.add_commands(commands)
    schema.add_commands(commands)
    key_commands.add_commands(commands, positive)
    credential_commands.add_commands(commands)
    installation_commands.add_commands(commands)
    workspace_commands.add_commands(commands)
    reminder_commands.add_commands(commands)
    audit_trail.add_commands(commands, positive)
    deployment_check.add_commands(commands)
    token_commands.add_commands(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        return report(error, args)
    return 0


def report(error: Exception, args: argparse.Namespace) -> int:
    """The one place a failure reaches the terminal: what went wrong and what to do, then the exit status."""
    command = " ".join(part for part in (args.command, getattr(args, f"{args.command}_command", None)) if part)
    prefix = "Credbot cannot start" if args.command == "serve" else f"credbot {command}"
    if isinstance(error, ConfigError):
        lines = [f"{prefix}; fix these settings (environment or .env):"] + [f"  - {p}" for p in error.problems]
        message, status = "\n".join(lines), EXIT_CONFIG
    elif isinstance(error, CredbotUnavailable):  # CommandFailed too
        message, status = f"{prefix}: {error}", error.exit_code
    elif isinstance(error, UnsafePath):  # a data dir or key file others may write: fix its mode or owner
        message, status = f"{prefix}: {error}", EXIT_CONFIG
    else:  # a bug, or a failure nobody foresaw: still one line, the traceback on request
        message = (
            f"{prefix}: unexpected {type(error).__name__}: {' '.join(str(error).split())[:300]} "
            "(run with --debug for the traceback)"
        )
        status = EXIT_RUNTIME
    if args.debug or logging.getLogger().isEnabledFor(logging.DEBUG):
        traceback.print_exception(error, file=sys.stderr)
    print(message, file=sys.stderr)
    return status
