"""POST /paddle/notifications: Paddle's notifications about API keys, on the HTTP server and (Socket Mode) on PORT.

Size first, then the ``Paddle-Signature`` against both destinations' secrets (bot.providers.paddle_notifications),
then the parse; the notification is recorded and applied in one short transaction and answered, and what people
are told (alerts, reminders, the board) runs afterwards in the listener pool: Paddle retries a delivery that is
slow or not answered 2xx, so the answer never waits for Slack (docs/decisions/paddle-notifications.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from wsgiref.types import StartResponse

from sqlalchemy.exc import SQLAlchemyError

from bot.credentials.key_events import Applied, KeyEvents
from bot.infra import metrics
from bot.infra.logs import EveryFewSeconds
from bot.providers import paddle_notifications as paddle
from bot.slack.broadcast.key_alerts import tell
from bot.slack.services import Services

log = logging.getLogger(__name__)

PATH = "/paddle/notifications"
MAX_NOTIFICATION_BYTES = 64 * 1024  # an api_key notification is under 2 KB; Paddle's largest entities ~20 KB


class PaddleDoor:
    """The endpoint; answers 404 while neither notification secret is set."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.time) -> None:
        settings = services.settings
        self.services, self.clock = services, clock
        self.secrets = [
            (environment, secret.reveal())
            for environment, secret in (
                ("live", settings.paddle_notification_secret),
                ("sandbox", settings.paddle_sandbox_notification_secret),
            )
            if secret is not None
        ]
        self.tolerance = settings.paddle_notification_tolerance
        self.events = KeyEvents(services.credentials.sessions, services.credentials.audit)
        self.refusals = EveryFewSeconds(10.0, time.monotonic)

    @property
    def configured(self) -> bool:
        return bool(self.secrets)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if not self.secrets:
            return _answer(start_response, 404, {"error": "not found"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 405, {"error": "use POST"}, [("Allow", "POST")])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_NOTIFICATION_BYTES:
            return self._refuse(start_response, 413, "too_large", "request body too large")
        body = environ["wsgi.input"].read(length) if length else b""
        header = environ.get("HTTP_PADDLE_SIGNATURE", "")
        environment = paddle.verified_environment(header, body, self.secrets, self.clock(), self.tolerance)
        if environment is None:
            self._log_refusal("no signature" if not header else "bad, stale or unshaped signature", len(body))
            return self._refuse(start_response, 401, "refused", "invalid signature")
        try:
            event = paddle.parse(body)
        except paddle.Unreadable as problem:
            log.warning("a signed Paddle notification could not be read: %s", problem)
            return self._refuse(start_response, 400, "unreadable", str(problem))
        try:
            applied = self.events.apply(event, sandbox=environment == "sandbox")
        except SQLAlchemyError as error:
            log.error("a Paddle notification could not be recorded: %s", type(error).__name__)
            return self._refuse(start_response, 503, "unavailable", "could not be recorded; deliver it again")
        metrics.PADDLE_NOTIFICATIONS.labels(applied.outcome).inc()
        log.info(
            "Paddle notification %s (%s, %s): %s",
            event.notification_id,
            metrics.label(event.event_type),
            environment,
            applied.outcome,
        )
        if applied.touched:
            self._after_answer(applied)
        return _answer(start_response, 200, {"ok": True, "outcome": applied.outcome})

    def _after_answer(self, applied: Applied) -> None:
        self.services.executor.submit(tell, self.services, applied)

    def _refuse(self, start_response: StartResponse, status: int, outcome: str, message: str) -> list[bytes]:
        metrics.PADDLE_NOTIFICATIONS.labels(outcome).inc()
        return _answer(start_response, status, {"error": message})

    def _log_refusal(self, reason: str, size: int) -> None:
        others = self.refusals.due()
        if others is None:
            return
        log.warning(
            "refused a request to %s not signed by a Paddle notification secret (%s; %d bytes)%s",
            PATH,
            reason,
            size,
            f"; {others} more refused since the last line" if others else "",
        )


def _answer(start_response: StartResponse, status: int, body: dict, extra: list | None = None) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))] + (extra or []),
    )
    return [payload]
