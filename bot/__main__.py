"""Command line: serve, db upgrade, keys generate|status."""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


class StartupError(Exception):
    """Start-up cannot go on for a reason outside the settings' syntax (database, keys, token)."""

    def __init__(self, message: str, exit_code: int = EXIT_RUNTIME) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def prepare(settings: Settings):
    """Everything `serve` checks before taking traffic: schema, keys, the bot token."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot import db
    from bot.credentials.service import key_usage
    from bot.credentials.vault import VaultError, load_key_ring

    try:
        db.upgrade(settings.database_url)
    except SQLAlchemyError as error:
        raise StartupError(f"the database at DATABASE_URL could not be prepared: {type(error).__name__}: "
                           f"{str(error).splitlines()[0]}") from None
    try:
        key_ring = load_key_ring(settings)
    except VaultError as error:
        raise StartupError(f"encryption keys: {error}", EXIT_CONFIG) from None
    engine = db.create_db_engine(settings.database_url)
    try:
        usage = key_usage(db.session_factory(engine))
    finally:
        engine.dispose()
    missing = {key_id: count for key_id, count in usage.items() if key_id not in key_ring.key_ids}
    if missing:
        detail = ", ".join(f"'{k}' ({n} credential{'s' if n != 1 else ''})" for k, n in sorted(missing.items()))
        raise StartupError(f"stored credentials use encryption keys that are not configured: {detail}. "
                           "Add those keys back to CREDBOT_ENCRYPTION_KEYS (after the primary key).", EXIT_CONFIG)
    return key_ring


def check_slack_token(settings: Settings) -> None:
    from slack_sdk.errors import SlackApiError

    from bot.services import slack_client

    try:
        identity = slack_client(settings).auth_test()
        log.info("Slack token belongs to bot %s in team %s", identity.get("user_id"), identity.get("team_id"))
    except SlackApiError as error:
        raise StartupError(f"SLACK_BOT_TOKEN was refused by Slack ({error.response.get('error')}); "
                           "copy the Bot User OAuth Token again from your app's OAuth & Permissions page",
                           EXIT_CONFIG) from None
    except OSError as error:  # Slack unreachable now: serve anyway, requests will say more
        log.warning("could not reach Slack to check the token (%s); starting anyway", type(error).__name__)


def metrics_across_workers(settings: Settings) -> None:
    """With several gunicorn workers, let /metrics sum over them (before prometheus-client is imported)."""
    if settings.socket_mode or settings.http_workers < 2 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = Path(settings.data_dir) / "metrics" / str(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700, parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


def cmd_serve(_args: argparse.Namespace) -> None:
    from bot.logs import configure_logging

    settings = load_settings(purpose="serve")
    configure_logging(settings.log_level, settings.known_secrets(), settings.log_format)
    metrics_across_workers(settings)

    from bot.server import SocketModeRefused, serve_http, serve_socket_mode

    key_ring = prepare(settings)
    check_slack_token(settings)
    if not settings.admins:
        log.warning("CREDBOT_ADMINS is not set: everyone in the workspace may create credentials. Set it to Slack "
                    "user ids (U…/W…) and user group ids (S…) to choose who may.")
    if settings.socket_mode:
        try:
            serve_socket_mode(settings, key_ring)
        except SocketModeRefused as refused:
            raise StartupError(f"Slack refused a Socket Mode connection ({refused}); check SLACK_APP_TOKEN is an "
                               "app-level token with connections:write and that Socket Mode is on for the app",
                               EXIT_CONFIG) from None
    else:
        serve_http(settings, key_ring)


def cmd_db_upgrade(_args: argparse.Namespace) -> None:
    from bot import db
    from bot.logs import configure_logging

    settings = load_settings(purpose="db")
    configure_logging(settings.log_level, settings.known_secrets(), settings.log_format)
    db.upgrade(settings.database_url)
    print("database is up to date")


def cmd_keys_generate(args: argparse.Namespace) -> None:
    from bot.credentials.vault import generate_key

    print(generate_key(args.key_id))


def cmd_keys_status(_args: argparse.Namespace) -> None:
    from bot import db
    from bot.credentials.service import key_usage
    from bot.credentials.vault import VaultError, load_key_ring

    settings = load_settings(purpose="keys")
    try:
        key_ring = load_key_ring(settings)
    except VaultError as error:
        raise StartupError(f"encryption keys: {error}", EXIT_CONFIG) from None
    db.upgrade(settings.database_url)
    engine = db.create_db_engine(settings.database_url)
    try:
        usage = key_usage(db.session_factory(engine))
    finally:
        engine.dispose()
    for key_id in dict.fromkeys(key_ring.key_ids + tuple(usage)):
        role = "primary" if key_id == key_ring.primary_key_id else ("configured" if key_id in key_ring.key_ids else "MISSING")
        print(f"{key_id}\t{role}\t{usage.get(key_id, 0)} credential(s)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="credbot", description="Create and keep Paddle integration credentials from Slack.")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)").set_defaults(func=cmd_serve)
    db_cmd = commands.add_parser("db", help="database tasks").add_subparsers(dest="db_command", required=True)
    db_cmd.add_parser("upgrade", help="apply the migrations").set_defaults(func=cmd_db_upgrade)
    keys = commands.add_parser("keys", help="encryption keys").add_subparsers(dest="keys_command", required=True)
    generate = keys.add_parser("generate", help="print a new key for CREDBOT_ENCRYPTION_KEYS")
    generate.add_argument("--key-id", default=None, help="id for the key (default: random)")
    generate.set_defaults(func=cmd_keys_generate)
    keys.add_parser("status", help="count credentials per encryption key id").set_defaults(func=cmd_keys_status)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as error:
        print(f"Credbot cannot start: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
