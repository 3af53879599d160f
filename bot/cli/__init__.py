"""Command line: serve, db upgrade, keys generate|status|rotate, credentials list|show|reveal, reminders run, audit."""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import sys
from datetime import timezone
from pathlib import Path

from bot.infra.files import UnsafePath, private_dir
from bot.infra.settings import ConfigError, Settings, load_settings

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

    from bot.infra import db
    from bot.credentials.queries import key_usage
    from bot.credentials.vault import VaultError
    from bot.keys.key_checks import confirm_key_checks
    from bot.keys.local_keys import load_key_ring

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
        confirm_key_checks(db.session_factory(engine), key_ring)
    except VaultError as error:
        raise StartupError(f"encryption keys: {error}", EXIT_CONFIG) from None
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

    from bot.slack.services import slack_client

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
    private_dir(directory)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


def cmd_serve(_args: argparse.Namespace) -> None:
    from bot.infra.logs import configure_logging

    settings = load_settings(purpose="serve")
    configure_logging(settings.log_level, settings.known_secrets(), settings.log_format)
    metrics_across_workers(settings)

    from bot.slack.server import SocketModeRefused, serve_http, serve_socket_mode

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
    from bot.infra import db
    from bot.infra.logs import configure_logging

    settings = load_settings(purpose="db")
    configure_logging(settings.log_level, settings.known_secrets(), settings.log_format)
    db.upgrade(settings.database_url)
    print("database is up to date")


def cmd_keys_generate(args: argparse.Namespace) -> None:
    from bot.credentials.vault import generate_key

    print(generate_key(args.key_id))


def cmd_keys_status(_args: argparse.Namespace) -> None:
    from bot.credentials.queries import key_usage

    settings = keys_settings()
    key_ring, engine, sessions = open_keys_and_database(settings)
    try:
        print_key_status(key_ring, key_usage(sessions))
    finally:
        engine.dispose()


def keys_settings() -> Settings:
    """Settings for the commands that touch the database and keys, with the same redacting logs as `serve`."""
    from bot.infra.logs import configure_logging

    settings = load_settings(purpose="keys")
    configure_logging(settings.log_level, settings.known_secrets(), settings.log_format)
    return settings


def open_keys_and_database(settings: Settings):
    """The key ring and a session factory on an up-to-date schema, for the key and credential commands."""
    from bot.infra import db
    from bot.credentials.vault import VaultError
    from bot.keys.local_keys import load_key_ring

    try:
        key_ring = load_key_ring(settings)
    except VaultError as error:
        raise StartupError(f"encryption keys: {error}", EXIT_CONFIG) from None
    db.upgrade(settings.database_url)
    engine = db.create_db_engine(settings.database_url)
    return key_ring, engine, db.session_factory(engine)


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    from bot.credentials.rotation import rotate_keys
    from bot.credentials.queries import key_usage

    settings = keys_settings()
    key_ring, engine, sessions = open_keys_and_database(settings)
    try:
        usage = key_usage(sessions)
        missing = {k: n for k, n in usage.items() if k not in key_ring.key_ids}
        if missing:
            detail = ", ".join(f"'{k}' ({n} credential{'s' if n != 1 else ''})" for k, n in sorted(missing.items()))
            raise StartupError(f"cannot rotate: stored credentials use keys that are not configured: {detail}. "
                               "Keep every old key in CREDBOT_ENCRYPTION_KEYS (after the new primary) until "
                               "rotation has finished.", EXIT_CONFIG)
        todo = sum(n for k, n in usage.items() if k != key_ring.primary_key_id)
        if not todo:
            print(f"nothing to rotate: every credential is under the primary key '{key_ring.primary_key_id}'")
            return
        print(f"re-encrypting {todo} credential(s) under '{key_ring.primary_key_id}', "
              f"{args.batch_size} per transaction")
        report = rotate_keys(sessions, key_ring, batch_size=args.batch_size, max_batches=args.max_batches,
                             on_batch=lambda batch, count: print(f"  batch {batch}: {count} re-encrypted", flush=True))
        print(f"done: {report.rotated} re-encrypted in {report.batches} batch(es)")
        for credential_id, key_id, reason in report.failed:
            print(f"  FAILED {credential_id} (key '{key_id}'): {reason}", file=sys.stderr)
        if report.stopped_early:
            print("stopped after --max-batches; run the command again to continue")
        print_key_status(key_ring, key_usage(sessions))
        if report.failed:
            raise StartupError(f"{len(report.failed)} credential(s) could not be re-encrypted (listed above); "
                               "the others are done")
    finally:
        engine.dispose()


def print_key_status(key_ring, usage: dict[str, int]) -> None:
    for key_id in dict.fromkeys(key_ring.key_ids + tuple(usage)):
        role = "primary" if key_id == key_ring.primary_key_id else ("configured" if key_id in key_ring.key_ids else "MISSING")
        print(f"{key_id}\t{role}\t{usage.get(key_id, 0)} credential(s)")


def cmd_audit(args: argparse.Namespace) -> None:
    import json

    from bot.credentials.audit import parse_since, read_events

    settings = keys_settings()
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as error:
        raise StartupError(str(error), EXIT_CONFIG) from None
    _key_ring, engine, sessions = open_keys_and_database(settings)
    try:
        events = read_events(sessions, since=since, credential_id=args.credential, limit=args.limit)
    finally:
        engine.dispose()
    if args.json:
        for event in events:
            print(json.dumps(event.as_dict(), ensure_ascii=False))
        return
    if not events:
        print("no audit events match", file=sys.stderr)
        return
    print("time (UTC)\taction\toutcome\tactor\tworkspace\tcredential\tdetail")
    for event in events:
        workspace = "/".join(part for part in (event.enterprise_id, event.team_id) if part) or "-"
        print("\t".join((event.at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"), event.action, event.outcome,
                         event.actor or "-", workspace, event.credential_id or "-", _one_line(event.detail))))


def cmd_credentials(args: argparse.Namespace) -> None:
    import json

    from bot.api import CredentialStore
    from bot.credentials.errors import CredentialGone

    settings = keys_settings()
    try:
        store = CredentialStore(settings, actor=f"cli:{_user()}")
    except Exception as error:  # VaultError, database errors: say what, not a traceback
        raise StartupError(f"cannot open the credentials: {type(error).__name__}: {error}") from None
    with store:
        try:
            if args.credentials_command == "reveal":
                key = store.get_api_key(args.id)
                sys.stdout.write(key + ("\n" if sys.stdout.isatty() else ""))  # stdout only: never a log line
                return
            items = [store.get(args.id)] if args.credentials_command == "show" else store.list(args.destination)
        except CredentialGone:
            raise StartupError(f"no credential with id {args.id!r}") from None
    if args.json:
        for item in items:
            print(json.dumps(_as_dict(item), ensure_ascii=False))
        return
    if args.credentials_command == "show":
        for field, value in _as_dict(items[0]).items():
            print(f"{field}\t{value if value is not None else '-'}")
        return
    print("id\tname\tdestination\tentity type\tworkspace\tcreated (UTC)\tkey\tlast check\texpires (UTC)")
    for item in items:
        print("\t".join((item.id, _one_line(item.name), item.destination, item.entity_type.value,
                         "/".join(p for p in (item.enterprise_id, item.team_id) if p) or "-",
                         _utc(item.created_at), f"…{item.key_hint}", item.verification.label,
                         _utc(item.key_expires_at))))


def _as_dict(item) -> dict:
    return item.as_dict()


def _utc(moment) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()[:24]
    except Exception:
        return "unknown"


def cmd_reminders_run(args: argparse.Namespace) -> None:
    from bot.credentials.audit import parse_since
    from bot.slack.reminders import run_expiry_check
    from bot.slack.services import build_services

    settings = keys_settings()
    if settings.slack_bot_token is None:
        raise StartupError("SLACK_BOT_TOKEN is needed to send reminders", EXIT_CONFIG)
    try:
        now = parse_since(args.now) if args.now else None
    except ValueError as error:
        raise StartupError(str(error).replace("--since", "--now"), EXIT_CONFIG) from None
    key_ring, engine, _ = open_keys_and_database(settings)
    engine.dispose()
    services = build_services(settings, key_ring)
    try:
        sent = run_expiry_check(services, services.slack, now)
    finally:
        services.close()
    for credential_id, kind in sent:
        print(f"{kind}\t{credential_id}")
    print(f"{len(sent)} reminder(s) sent", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "-"


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


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
    rotate = keys.add_parser("rotate", help="re-encrypt every credential under the primary (first) key")
    rotate.add_argument("--batch-size", type=positive, default=200, help="credentials per transaction (default 200)")
    rotate.add_argument("--max-batches", type=positive, default=None,
                        help="stop after this many batches (run again to continue)")
    rotate.set_defaults(func=cmd_keys_rotate)
    creds = commands.add_parser("credentials", help="credentials for operators and integration jobs")
    creds_cmd = creds.add_subparsers(dest="credentials_command", required=True)
    listing = creds_cmd.add_parser("list", help="every credential (no keys)")
    listing.add_argument("--destination", choices=("paddle", "paddle_sandbox"), help="only this destination")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_credentials, id=None)
    show = creds_cmd.add_parser("show", help="one credential's details (no key)")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_credentials, destination=None)
    reveal = creds_cmd.add_parser("reveal", help="write the decrypted key to standard output (audited)")
    reveal.add_argument("id")
    reveal.set_defaults(func=cmd_credentials, destination=None, json=False)
    reminders = commands.add_parser("reminders", help="key expiry reminders").add_subparsers(
        dest="reminders_command", required=True)
    run = reminders.add_parser("run", help="send the due expiry reminders now (the bot does it daily)")
    run.add_argument("--now", help="check as of this ISO date/time instead of now (UTC unless given)")
    run.set_defaults(func=cmd_reminders_run)
    audit = commands.add_parser("audit", help="print the audit trail (oldest first)")
    audit.add_argument("--since", help="only events since: an ISO date/time (UTC), or 30m, 24h, 7d, 2w")
    audit.add_argument("--credential", metavar="ID", help="only events about this credential id")
    audit.add_argument("--limit", type=positive, help="only the latest N matching events")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(func=cmd_audit)
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
    except UnsafePath as error:
        print(f"Credbot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return 0


