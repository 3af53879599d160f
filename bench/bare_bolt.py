"""A bare Bolt app on Credbot's HTTP stack: the floor the benchmark compares Credbot against.

Same server as ``python -m bot serve`` in HTTP mode: bot/slack/server/runners.py's ``run_gunicorn`` (gunicorn's
``gthread`` worker reading each request whole first, CREDBOT_HTTP_WORKERS × CREDBOT_HTTP_THREADS, the app built
after the fork), with Bolt's WSGI
SlackRequestHandler behind the same /slack/events + /healthz routing and 1 MiB body check. No metrics, no
database, no audit: the least a Bolt app must do to answer these requests.

Handlers do the minimum those Slack requests need, the way Credbot does it:

- ``/create-credential``: ack() at once, then ``views.open`` with a static modal in a *lazy listener* on the
  listener executor (Credbot: ``app.command(...)(ack=acknowledge, lazy=[open_wizard])``);
- any ``view_submission``: ``ack(response_action="update", view=<static view>)``;
- ``/list-credentials``: ack with static blocks (a page of 20 rows, the size of Credbot's page).

    SLACK_SIGNING_SECRET=... SLACK_BOT_TOKEN=xoxb-... SLACK_API_URL=http://127.0.0.1:PORT/api/ \\
        HOST=127.0.0.1 PORT=3001 python -m bench.bare_bolt
"""

from __future__ import annotations

import argparse
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable

MAX_BODY_BYTES = 1024 * 1024

STATIC_MODAL = {
    "type": "modal",
    "callback_id": "bare_stage",
    "title": {"type": "plain_text", "text": "Create credential"},
    "submit": {"type": "plain_text", "text": "Next"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "private_metadata": json.dumps({"v": 1, "s": "name", "a": {}}),
    "blocks": [
        {"type": "section", "block_id": "stepper", "text": {"type": "mrkdwn", "text": ":arrow_right: *Stage 1  Name*"}},
        {
            "type": "context",
            "block_id": "stepper_later",
            "elements": [
                {"type": "mrkdwn", "text": "Stage 2  Entity type  ·  Stage 3  Destination  ·  Stage 4  Authenticate"}
            ],
        },
        {"type": "divider"},
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "name_input", "max_length": 100},
        },
    ],
}

STATIC_LIST_BLOCKS = [
    {
        "type": "section",
        "block_id": "summary",
        "text": {"type": "mrkdwn", "text": "*Integration credentials* — 1–20 of 20, newest first"},
    }
] + [
    {
        "type": "section",
        "block_id": f"credential_{i}",
        "text": {
            "type": "mrkdwn",
            "text": (
                f"*Credential {i}*  ·  Bill → Paddle\n"
                f"Created by <@U0BARE> <!date^1700000000^{{date_short}}|2023-11-14>\n"
                f"ID `00000000-0000-0000-0000-{i:012d}`  ·  key ending `…abcd`"
            ),
        },
    }
    for i in range(20)
]


def build_app():
    from slack_bolt import App
    from slack_sdk import WebClient

    threads = int(os.environ.get("CREDBOT_HTTP_THREADS", "16"))
    app = App(
        client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], timeout=10),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token_verification_enabled=False,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=max(8, threads), thread_name_prefix="listener"),
    )

    def acknowledge(ack) -> None:
        ack()

    def open_modal(command: dict, client) -> None:
        client.views_open(trigger_id=command.get("trigger_id"), view=STATIC_MODAL)

    app.command("/create-credential")(ack=acknowledge, lazy=[open_modal])

    @app.view(re.compile(".*"))
    def submission(ack) -> None:
        ack(response_action="update", view=STATIC_MODAL)

    @app.command("/list-credentials")
    def list_credentials(ack) -> None:
        ack(response_type="ephemeral", text="20 integration credential(s)", blocks=STATIC_LIST_BLOCKS)

    return app


class BareWSGI:
    """The same routing as bot/server.py's CredbotWSGI, health without a database."""

    def __init__(self) -> None:
        from slack_bolt.adapter.wsgi import SlackRequestHandler

        self.slack = SlackRequestHandler(build_app())

    def __call__(self, environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _json(start_response, "200 OK", {"status": "ok"})
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                return _json(start_response, "413 Payload Too Large", {"error": "request body too large"})
            return self.slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})


def _json(start_response, status: str, body: dict) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def serve() -> None:
    """On bot/server.py's run_gunicorn: the very server Credbot runs on, with the same settings."""
    from bot.infra.settings import load_settings
    from bot.infra.logs import configure_logging
    from bot.slack.server.runners import run_gunicorn

    settings = load_settings(purpose="serve")
    configure_logging(settings.log_level)
    run_gunicorn(settings, BareWSGI, proc_name="bare-bolt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()  # settings come from the environment, as for `python -m bot serve` (HOST, PORT, ...)
    serve()


if __name__ == "__main__":
    main()
