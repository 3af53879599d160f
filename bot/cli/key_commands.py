"""`keys generate|status|rotate|retire|rewrap`: make a key to configure, see which keys the stored credentials
need, re-encrypt everything under the primary key (with KMS: a new data key) and retire the keys left with
nothing, retire one key id by hand, and re-wrap data keys under a new KMS key."""

from __future__ import annotations

import argparse
import sys

from bot.cli import keys_and_database
from bot.cli.failures import EXIT_CONFIG, EXIT_RUNTIME, CommandFailed
from bot.cli.printing import print_json
from bot.infra.os_actor import actor as os_actor


def add_commands(commands: argparse._SubParsersAction, positive) -> None:
    keys = commands.add_parser("keys", help="encryption keys").add_subparsers(dest="keys_command", required=True)
    generate = keys.add_parser("generate", help="print a new key for CREDBOT_ENCRYPTION_KEYS (stores nothing)")
    generate.add_argument("--key-id", default=None, help="id for the key (default: random)")
    generate.set_defaults(func=generate_key)
    status = keys.add_parser("status", help="count credentials per encryption key id; exit 1 if one is missing")
    status.add_argument("--json", action="store_true", help="one JSON array of {key_id, role, credentials}")
    status.set_defaults(func=key_status)
    rotate = keys.add_parser("rotate", help="re-encrypt every credential under the primary (first) key")
    rotate.add_argument("--batch-size", type=positive, default=200, help="credentials per transaction (default 200)")
    rotate.add_argument(
        "--max-batches", type=positive, default=None, help="stop after this many batches (run again to continue)"
    )
    rotate.add_argument(
        "--to-local",
        action="store_true",
        help="with CREDBOT_KMS_KEY_ID: move every credential to the first CREDBOT_ENCRYPTION_KEYS "
        "key (moving off KMS) instead of to a new data key",
    )
    rotate.set_defaults(func=rotate_keys)
    retire = keys.add_parser(
        "retire", help="record that a key id nothing is stored under is gone, so instances without it may start"
    )
    retire.add_argument("key_id", help="the key id the database records (`credbot check` names it)")
    retire.set_defaults(func=retire_key)
    rewrap = keys.add_parser(
        "rewrap", help="re-wrap every data key under CREDBOT_KMS_KEY_ID (KMS ReEncrypt); credentials are not touched"
    )
    rewrap.set_defaults(func=rewrap_data_keys)


def generate_key(args: argparse.Namespace) -> None:
    print(keys_and_database.new_key(args.key_id))


def key_rows(key_ring, usage: dict[str, int]) -> list[dict]:
    """Every configured key and every key a stored credential uses: primary, configured or MISSING."""
    rows = []
    for key_id in dict.fromkeys(key_ring.key_ids + tuple(usage)):
        role = (
            "primary"
            if key_id == key_ring.primary_key_id
            else ("configured" if key_id in key_ring.key_ids else "MISSING")
        )
        rows.append({"key_id": key_id, "role": role, "credentials": usage.get(key_id, 0)})
    return rows


def print_key_rows(rows: list[dict]) -> None:
    for row in rows:
        print(f"{row['key_id']}\t{row['role']}\t{row['credentials']} credential(s)")


def key_status(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, keys=True) as opened:
        usage = opened.key_usage()
        rows = key_rows(opened.ring, usage)
        missing = keys_and_database.missing_keys(opened.ring, usage)
    print_json(rows) if args.json else print_key_rows(rows)
    if missing:
        raise CommandFailed(
            f"stored credentials use encryption keys that are not configured: {missing}; "
            f"{keys_and_database.restore_advice(settings)}",
            EXIT_RUNTIME,
        )


def rotate_keys(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, keys=True) as opened:
        if settings.kms_key_id and args.to_local:
            opened.encrypt_with_local_keys()
        elif settings.kms_key_id:
            fresh_data_key_when_done(opened)
        key_ring, usage = opened.ring, opened.key_usage()
        missing = keys_and_database.missing_keys(key_ring, usage)
        if missing:
            advice = (
                keys_and_database.restore_advice(settings)
                if keys_and_database.key_file(settings)
                else "keep every old key in CREDBOT_ENCRYPTION_KEYS (after the new primary) until rotation has finished"
            )
            raise CommandFailed(
                f"cannot rotate: stored credentials use keys that are not configured: {missing}; {advice}", EXIT_CONFIG
            )
        report = _rotate(opened, args)
        if report is None or (not report.failed and not report.stopped_early):
            print_retired(opened.retire_unused_keys())
        # Every run, even one with nothing left to move: what an earlier run could not scrub is scrubbed now.
        print(opened.scrub(("credentials", "slack_installations"), after="the rotation is done"))
    if report is not None and report.failed:
        raise CommandFailed(
            f"{len(report.failed)} credential(s) could not be re-encrypted (listed above); the others are done"
        )


def _rotate(opened, args: argparse.Namespace):
    """The Slack tokens, then the credentials, onto the primary key; the credentials' report (None: none to do)."""
    key_ring, usage = opened.ring, opened.key_usage()
    tokens = opened.rewrap_installations()
    if tokens:
        print(f"re-encrypted the Slack tokens of {tokens} installation(s) under '{key_ring.primary_key_id}'")
    todo = sum(n for k, n in usage.items() if k != key_ring.primary_key_id)
    if not todo:
        print(f"nothing to rotate: every credential is under the primary key '{key_ring.primary_key_id}'")
        return None
    print(f"re-encrypting {todo} credential(s) under '{key_ring.primary_key_id}', {args.batch_size} per transaction")
    report = opened.rotate(
        args.batch_size,
        args.max_batches,
        lambda batch, count: print(f"  batch {batch}: {count} re-encrypted", flush=True),
        os_actor("cli"),
    )
    print(f"done: {report.rotated} re-encrypted in {report.batches} batch(es)")
    for credential_id, key_id, reason in report.failed:
        print(f"  FAILED {credential_id} (key '{key_id}'): {reason}", file=sys.stderr)
    if report.stopped_early:
        print("stopped after --max-batches; run the command again to continue")
    print_key_rows(key_rows(key_ring, opened.key_usage()))
    return report


def print_retired(key_ids: list[str]) -> None:
    if key_ids:
        names = ", ".join(f"'{key_id}'" for key_id in key_ids)
        print(f"retired key id(s) {names}: nothing is stored under them; remove them from the settings when you like")


def retire_key(args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    with keys_and_database.open_existing(settings, keys=True) as opened:
        opened.retire_key(args.key_id)
    print(f"retired key id '{args.key_id}': instances without it may start")


def fresh_data_key_when_done(opened) -> None:
    """With KMS, rotation moves rows to a new data key; but while rows are still under other keys (an interrupted
    run, or moving in from local keys) it goes on with the current one, so running it again resumes."""
    primary, usage = opened.ring.primary_key_id, opened.key_usage()
    if opened.is_data_key(primary) and any(k != primary and n for k, n in usage.items()):
        return
    print(f"new data key '{opened.new_data_key()}' wrapped by AWS KMS key '{opened.settings.kms_key_id}'")


def rewrap_data_keys(_args: argparse.Namespace) -> None:
    settings = keys_and_database.command_settings("keys")
    if not settings.kms_key_id:
        raise CommandFailed(
            "keys rewrap needs CREDBOT_KMS_KEY_ID: set it to the KMS key the data keys should be wrapped by",
            EXIT_CONFIG,
        )
    with keys_and_database.open_existing(settings) as opened:
        changed = opened.rewrap_data_keys()
        for key_id, old, new in changed:
            print(f"{key_id}\t{old} -> {new}")
        print(f"done: {len(changed)} data key(s) wrapped by '{settings.kms_key_id}'; no credential was touched")
        print(opened.scrub(("data_keys",), after="the data keys are re-wrapped"))
