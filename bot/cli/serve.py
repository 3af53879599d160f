"""`serve`: prepare the database and keys, reach Slack, then take traffic (Socket Mode if SLACK_APP_TOKEN is
set, else HTTP under gunicorn). The only command whose failures say "cannot start"."""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import signal
import threading
from pathlib import Path

from bot.cli import keys_and_database
from bot.cli.failures import EXIT_CONFIG, CommandFailed
from bot.infra.files import UnsafePath, private_dir
from bot.infra.process_guard import guard_process
from bot.infra.settings import Settings

log = logging.getLogger("bot")


def add_commands(commands: argparse._SubParsersAction) -> None:
    serve_cmd = commands.add_parser("serve", help="run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)")
    serve_cmd.set_defaults(func=serve)


def serve(_args: argparse.Namespace) -> None:
    unguarded = guard_process()  # before any secret is read: no core dumps, owner-only files (workers inherit)
    settings = keys_and_database.command_settings("serve")
    for problem in unguarded:
        log.warning("%s: a core dump of this process could hold its keys", problem)
    metrics_across_workers(settings)

    from bot.slack.server.runners import serve_http, serve_socket_mode
    from bot.slack.server.startup import SlackRefused, check_bot_token

    key_ring = keys_and_database.prepare_for_serving(settings)
    stop = stop_on_signals()
    try:
        # OAuth mode: no process token to check; each installation's token is checked by Slack at install.
        if not settings.oauth_mode and not check_bot_token(settings, stop):
            return  # SIGTERM while Slack was away: a clean stop
        if not settings.admins:
            log.warning(
                "CREDBOT_ADMINS is not set: everyone in the workspace may create credentials. Set it to "
                "Slack user ids (U…/W…) and user group ids (S…) to choose who may."
            )
        if settings.socket_mode:
            serve_socket_mode(settings, key_ring, stop)
            return
    except SlackRefused as refused:
        raise CommandFailed(str(refused), EXIT_CONFIG) from None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)  # gunicorn's master installs its own
    serve_http(settings, key_ring)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so waiting for Slack (or serving Socket Mode) ends cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def metrics_across_workers(settings: Settings) -> None:
    """With several gunicorn workers, let /metrics sum over them (before prometheus-client is imported); the
    directory goes at exit, and so does data_dir/metrics when no other instance is using it."""
    if settings.socket_mode or settings.http_workers < 2 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    parent = Path(settings.data_dir) / "metrics"
    directory = parent / str(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)
    try:
        private_dir(directory)
    except UnsafePath as unsafe:
        raise CommandFailed(str(unsafe), EXIT_CONFIG) from None
    except OSError as error:
        raise CommandFailed(
            f"the data directory {settings.data_dir} (CREDBOT_DATA_DIR) cannot be used: {error.strerror or error}",
            EXIT_CONFIG,
        ) from None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    owner = os.getpid()
    atexit.register(_remove_metrics_dir, directory, owner)


def _remove_metrics_dir(directory: Path, owner: int) -> None:
    if os.getpid() != owner:  # a forked worker exiting: the master cleans up
        return
    shutil.rmtree(directory, ignore_errors=True)
    try:
        directory.parent.rmdir()  # only if empty: another instance may share the data dir
    except OSError:
        pass
