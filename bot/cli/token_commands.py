"""`tokens issue|list|revoke`: the access tokens integrations read credentials with over the read API (/v1).
A token is printed once, by `issue`, on standard output; only its hash is stored. Issue and revoke are audited."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

from bot.cli import keys_and_database
from bot.cli.credential_commands import cli_actor
from bot.cli.printing import one_line, print_json, print_table, utc

HEADER = ("id", "name", "workspace", "credentials", "status", "expires (UTC)", "last used (UTC)", "from", "created by")
LIFETIME = re.compile(r"([1-9][0-9]{0,8})([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def lifetime(text: str) -> timedelta:
    """``--expires-in``: a number and a unit, ``s``, ``m`` (minutes), ``h`` or ``d``: 90d, 12h."""
    found = LIFETIME.fullmatch(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError("a number and a unit: s, m (minutes), h or d, such as 90d or 12h")
    return timedelta(**{UNITS[found.group(2)]: int(found.group(1))})


def add_commands(commands: argparse._SubParsersAction) -> None:
    tokens = commands.add_parser("tokens", help="access tokens integrations read credentials with (the /v1 API)")
    tokens_cmd = tokens.add_subparsers(dest="tokens_command", required=True)
    issue = tokens_cmd.add_parser("issue", help="a new token for one or more credentials, printed once (audited)")
    issue.add_argument("--name", required=True, help="the integration that will use it")
    issue.add_argument(
        "--credential", action="append", required=True, metavar="ID", help="a credential it may read (repeat)"
    )
    issue.add_argument(
        "--expires-in", type=lifetime, default=timedelta(days=90), metavar="N[smhd]", help="default 90d, at most 365d"
    )
    issue.add_argument("--allow-from", nargs="+", default=[], metavar="CIDR", help="only from these client addresses")
    issue.set_defaults(func=issue_token)
    listing = tokens_cmd.add_parser("list", help="every token: scope, status, expiry, last use (never the token)")
    listing.add_argument("--json", action="store_true", help="one JSON array of token objects")
    listing.set_defaults(func=list_tokens)
    revoke = tokens_cmd.add_parser("revoke", help="revoke a token at once, on every instance (audited)")
    revoke.add_argument("token_id", metavar="TOKEN_ID", help="tok_… (from `tokens list`)")
    revoke.set_defaults(func=revoke_token)


def issue_token(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings) as opened, opened.token_errors():
        token, info = opened.access_tokens().issue(
            args.name, args.credential, cli_actor(), lifetime=args.expires_in, allow_from=args.allow_from
        )
    sys.stdout.write(token.reveal() + "\n")  # stdout only, once: never a log line
    sys.stdout.flush()
    print(
        f"issued {info.id} {info.name!r} for {len(info.credential_ids)} credential(s), expires "
        f"{utc(info.expires_at)} UTC; it is shown only now (audited)",
        file=sys.stderr,
    )


def list_tokens(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, read_only=True) as opened, opened.token_errors():
        tokens = opened.access_tokens().all()
    now = datetime.now(UTC)
    if args.json:
        print_json([token.as_dict(now) for token in tokens])
        return
    if not tokens:
        print("no access tokens: `credbot tokens issue` makes one", file=sys.stderr)
        return
    print_table(
        HEADER,
        (
            (
                token.id,
                one_line(token.name),
                "/".join(p for p in (token.workspace.enterprise_id, token.workspace.team_id) if p) or "-",
                ",".join(token.credential_ids),
                token.status(now),
                utc(token.expires_at),
                utc(token.last_used_at),
                token.last_used_from or "-",
                token.created_by,
            )
            for token in tokens
        ),
    )


def revoke_token(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings) as opened, opened.token_errors():
        info, changed = opened.access_tokens().revoke(args.token_id, cli_actor())
    if changed:
        print(f"revoked {info.id} {info.name!r}: refused from now on, on every instance (audited)")
    else:
        print(f"{info.id} {info.name!r} was already revoked at {utc(info.revoked_at)} UTC; nothing changed")
