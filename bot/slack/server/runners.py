"""Runners: HTTP under gunicorn (threaded workers, graceful SIGTERM) and Socket Mode."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import __version__
from bot.slack.server.http_door import MAX_BODY_BYTES, OAUTH_PATHS, CredbotWSGI, _json
from bot.slack.server.read_api import PREFIX as READ_API, ReadAPI
from bot.slack.server.paddle_door import PATH as PADDLE_PATH, PaddleDoor
from bot.slack.app import build_app
from bot.slack.daily_look import start_daily_look
from bot.infra.settings import Settings
from bot.credentials.vault import KeyRing
from bot.slack.services import Services, build_services

log = logging.getLogger(__name__)


def serve_http(settings: Settings, key_ring: KeyRing) -> None:
    """Run under gunicorn: a master that forwards SIGTERM as a graceful stop to threaded workers."""
    worker_services: dict[str, Services] = {}

    def load() -> CredbotWSGI:
        # Built in each worker, after the fork: database pools and threads must not cross a fork.
        services = build_services(settings, key_ring)
        worker_services["services"] = services
        services.start_background(start_daily_look)
        return CredbotWSGI(services)

    paddle = settings.paddle_notification_secret or settings.paddle_sandbox_notification_secret
    log.info(
        "Credbot %s serving HTTP on %s:%s (POST /slack/events, %sGET /healthz, GET /metrics)",
        __version__,
        settings.host,
        settings.port,
        f"POST {PADDLE_PATH}, " if paddle else "",
    )
    run_gunicorn(settings, load, on_worker_exit=lambda: _close(worker_services))


def run_gunicorn(
    settings: Settings,
    make_app: Callable[[], Callable],
    *,
    proc_name: str = "credbot",
    on_worker_exit: Callable[[], None] = lambda: None,
) -> None:
    """gunicorn as Credbot runs it (gthread workers that read each request whole before a thread takes it, with a
    read deadline: bot/slack/server/read_first.py; graceful stop, redacted logs); ``make_app`` builds the WSGI app
    in each worker. The benchmark's bare Bolt app runs on this too, so both stand on the same server."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger as GunicornLogger

    from bot.infra import metrics
    from bot.infra.logs import configure_logging
    from bot.slack.server.read_first import read_first_worker

    class RedactedGunicornLogger(GunicornLogger):
        """gunicorn's loggers, sent through our redacting root handler instead of their own."""

        def setup(self, cfg) -> None:
            super().setup(cfg)
            for logger in (self.error_log, self.access_log):
                for handler in list(logger.handlers):
                    logger.removeHandler(handler)
                logger.propagate = True

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", [f"{settings.host}:{settings.port}"])
            self.cfg.set("workers", settings.http_workers)
            self.cfg.set("worker_class", read_first_worker(settings.http_read_timeout, MAX_BODY_BYTES))
            self.cfg.set("threads", settings.http_threads)
            self.cfg.set("graceful_timeout", 30)
            self.cfg.set("timeout", 60)
            self.cfg.set("keepalive", 5)
            self.cfg.set("accesslog", None)
            self.cfg.set("errorlog", "-")
            self.cfg.set("loglevel", settings.log_level.lower())
            self.cfg.set("proc_name", proc_name)
            self.cfg.set("logger_class", RedactedGunicornLogger)
            # Several instances may share a host: no shared control socket in $HOME.
            self.cfg.set("control_socket_disable", True)

            def post_fork(arbiter, worker) -> None:
                worker.credbot_arbiter = arbiter  # for post_worker_init, in this (the worker's) process
                configure_logging(settings.log_level, log_format=settings.log_format)

            self.cfg.set("post_fork", post_fork)
            self.cfg.set("post_worker_init", lambda worker: stop_if_told_while_booting(worker, worker.credbot_arbiter))
            self.cfg.set("worker_exit", lambda _arbiter, _worker: on_worker_exit())
            self.cfg.set("child_exit", lambda _arbiter, worker: metrics.worker_gone(worker.pid))

        def load(self):
            return make_app()

    Server().run()


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def stop_if_told_while_booting(worker: Any, arbiter: Any) -> None:
    """Stop a worker that was told to stop before it could hear it.

    From its fork until ``Worker.init_signals`` a gunicorn worker still has the master's signal handlers, which only
    queue the signal (``Arbiter.signal`` puts it on ``Arbiter.SIG_QUEUE``, in the worker's copy of the master): a
    SIGTERM the master sends a worker it has just forked (``serve`` stopped during start-up) was lost there, the
    worker served on, and the master waited out ``graceful_timeout`` (30 s) before killing it. This runs after
    ``init_signals`` (gunicorn's ``post_worker_init`` hook), finds such a signal in that copy and ends the worker as
    its own handler would have (tests/unit/test_gunicorn_boot.py pins the gunicorn behaviour it relies on)."""
    queue = getattr(arbiter, "SIG_QUEUE", None)
    while queue is not None and not queue.empty():
        if queue.get_nowait() in STOP_SIGNALS:
            log.info("worker %s was told to stop while booting: stopping", worker.pid)
            worker.alive = False


def _close(worker_services: dict[str, Services]) -> None:
    services = worker_services.pop("services", None)
    if services is not None:
        services.close()  # waits for verifications and announcements already under way


def serve_socket_mode(settings: Settings, key_ring: KeyRing, stop: threading.Event) -> None:
    """Run over Socket Mode until ``stop`` is set (by SIGTERM or SIGINT). Slack being away at start is waited
    out (see bot.slack.startup); a refusal raises SlackRefused."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.server.startup import connect_socket_mode

    if settings.slack_app_token is None:  # settings.socket_mode: it is set
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    services = build_services(settings, key_ring)
    app = build_app(services)
    handler = SocketModeHandler(
        app, settings.slack_app_token.reveal(), logger=logging.getLogger("slack_bolt.socket_mode")
    )
    # /metrics is up before Slack is reached: a bot waiting out a Slack outage is visible, and the first
    # envelope handled is already counted where a scrape can see it.
    try:
        if settings.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(settings.metrics_port, addr=settings.host)
            log.info("serving GET /metrics on %s:%s", settings.host, settings.metrics_port)
        connected = connect_socket_mode(handler, stop)
    except BaseException:
        services.close()
        raise
    if not connected:  # stopped before Slack could be reached
        handler.close()
        services.close()
        return
    log.info("Credbot %s connected to Slack in Socket Mode", __version__)
    stop_port_routes = serve_port_routes(settings, app, services)
    services.start_background(start_daily_look)
    stop.wait()
    log.info("stopping: finishing requests under way")
    stop_port_routes()
    handler.close()
    services.close()


class PortRoutes:
    """Socket Mode: what is served over HTTP on PORT. Slack's events come over the socket, so nothing here takes
    a request signed by Slack: the read API (/v1), Paddle's notifications (when a notification secret is set),
    and with OAuth the install flow's two GET routes (as in bolt-python's socket_mode_oauth example)."""

    def __init__(self, app: App, services: Services) -> None:
        self.slack = SlackRequestHandler(app)
        self.oauth = services.installations is not None
        self.read_api = ReadAPI(services)
        paddle = PaddleDoor(services)
        self.paddle = paddle if paddle.configured else None

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == PADDLE_PATH and self.paddle is not None:
            return self.paddle(environ, start_response)
        if self.oauth and path in OAUTH_PATHS and environ.get("REQUEST_METHOD") == "GET":
            return self.slack(environ, start_response)
        if path.startswith(READ_API):
            return self.read_api(environ, start_response)
        return _json(start_response, 404, {"error": "not found"})


def serve_port_routes(settings: Settings, app: App, services: Services) -> Callable[[], None]:
    """Serve :class:`PortRoutes` on HOST:PORT in a thread; returns the function that stops it."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class ThreadedServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    routes = PortRoutes(app, services)
    server = make_server(settings.host, settings.port, routes, server_class=ThreadedServer, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="port-routes", daemon=True).start()
    served = ["/v1/ (the read API)"] + ([f"POST {PADDLE_PATH}"] if routes.paddle is not None else [])
    served += ["GET /slack/install and /slack/oauth_redirect"] if routes.oauth else []
    log.info("serving %s on %s:%s", ", ".join(served), settings.host, settings.port)
    return server.shutdown
