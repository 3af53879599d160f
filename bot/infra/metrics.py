"""What operators can watch: Prometheus metrics, served at GET /metrics.

Requests are labelled by Slack request kind (``command:/create-credential``,
``view_submission:credential_wizard:name``, ``block_actions:list_page_next``,
…), taken from the payload after its signature was checked; anything that
fails the check or cannot be read is ``unverified``. Label values are
restricted to a short safe alphabet, so a payload cannot blow up the series
count or smuggle text into the exposition.

With several gunicorn workers, prometheus-client's multiprocess mode is used
(``PROMETHEUS_MULTIPROC_DIR``, set by ``serve`` before this module is
imported) so that every scrape sees the sum over workers.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REQUESTS = Counter(
    "credbot_slack_requests", "Slack requests answered, by request kind and HTTP status", ["kind", "status"]
)
LATENCY = Histogram(
    "credbot_slack_request_seconds",
    "Time from receiving a Slack request to answering it (the ack)",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CREDENTIALS_CREATED = Counter("credbot_credentials_created", "Credentials created", ["destination"])
VERIFICATION_FAILURES = Counter(
    "credbot_verification_failures", "Key verifications with Paddle that failed, by reason", ["reason"]
)
NOTIFICATION_FAILURES = Counter(
    "credbot_notification_failures", "Channel announcements that failed after retries, by Slack error", ["error"]
)
# Rises with every check the reminder loop finishes (failed or not): a flat line means the loop has stopped.
EXPIRY_CHECKS = Counter("credbot_expiry_checks", "Expiry checks run by the reminder loop")
# Slack answered HTTP 429: the call waited out Retry-After and was sent again (background sends, per workspace).
SLACK_RATE_LIMITED = Counter("credbot_slack_rate_limited", "Slack calls answered 429, waited out and retried")
# Background jobs (reminders, the board) skipped for a workspace with no usable bot token.
WORKSPACES_SKIPPED = Counter(
    "credbot_workspaces_skipped", "Background job runs skipped for a workspace without a usable bot token", ["job"]
)
DB_ROUND_TRIPS = Counter(
    "credbot_db_round_trips",
    "Exchanges with the database (statement, begin, commit, rollback, ping, connect), by the Slack "
    "request kind whose ack made them, or background (lazy listeners, reminders, start-up)",
    ["kind", "request"],
)
# Work that answers handed off (Paddle checks and saves, announcements, Home and board refreshes, deferred audit
# writes) and that has not finished, by pool, summed over the live workers: 0 when an instance is idle; a value that
# stays up means work is stuck (a Slack or Paddle that does not answer), and a SIGTERM waits for it.
WORK_IN_PROGRESS = Gauge(
    "credbot_work_in_progress",
    "Work handed off by answers and not yet finished, by pool",
    ["pool"],
    multiprocess_mode="livesum",
)
# Connections the HTTP server closed because their request was not in by CREDBOT_HTTP_READ_TIMEOUT_SECONDS, by the
# part not finished (idle: nothing sent; headers; body): slow clients, or a slowloris attack (SECURITY.md).
SLOW_CLIENTS = Counter(
    "credbot_http_slow_clients",
    "Connections closed because their request was not received within the read deadline, by unfinished part",
    ["stage"],
)
# Paddle's notifications to POST /paddle/notifications, by outcome: applied, duplicate, older, not_held,
# unknown_type (a type Credbot does not act on: counted, answered 200), refused (401), unreadable, too_large,
# unavailable (the database: 503, Paddle delivers it again).
PADDLE_NOTIFICATIONS = Counter("credbot_paddle_notifications", "Paddle notifications received, by outcome", ["outcome"])
# The daily look at each stored key (bot.slack.daily_look), by what one look came to: accepted, refused (the provider
# refuses the key), unavailable (not answered: nothing changed, looked at again later), unreadable (the key does not
# decrypt), none (no provider for its destination). A pass with nothing due adds nothing.
KEY_LOOKS = Counter(
    "credbot_key_looks", "Keys looked at with their provider by the daily look, by outcome", ["outcome"]
)

UNVERIFIED = "unverified"
BACKGROUND = "background"
_SAFE = re.compile(r"[^a-z0-9_:/.\-]")
_request = threading.local()


def label(text: object, limit: int = 60) -> str:
    """A bounded, safe label value."""
    return _SAFE.sub("_", str(text).lower())[:limit] or "none"


def request_kind(body: dict[str, Any]) -> str:
    """Slack's kind of request: the command, view callback, action or event it carries."""
    kind = body.get("type")
    if body.get("command"):
        return label(f"command:{body['command']}")
    if kind in ("view_submission", "view_closed"):
        return label(f"{kind}:{(body.get('view') or {}).get('callback_id', '')}")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return label(f"block_actions:{(actions[0] or {}).get('action_id', '')}")
    if kind == "event_callback":
        return label(f"event:{(body.get('event') or {}).get('type', '')}")
    return label(kind or "other")


def name_request(body: dict[str, Any]) -> str:
    """Name the request this thread is answering (for the metrics and the database round trips it makes)."""
    kind = _request.kind = request_kind(body)
    return kind


def begin_request() -> None:
    _request.kind = UNVERIFIED


def end_request() -> None:
    """This thread's database work from now on is no request's (until the next one begins)."""
    _request.kind = BACKGROUND


def name_work(kind: str) -> None:
    """Name this thread's own work (a background loop of its own) for the database round trips it makes."""
    _request.kind = label(kind)


def current_kind() -> str:
    return getattr(_request, "kind", UNVERIFIED)


def observe(kind: str, status: int | str, seconds: float) -> None:
    _child(REQUESTS, kind, str(status)).inc()
    _child(LATENCY, kind).observe(seconds)


def work_handed_off(pool: str, change: int) -> None:
    """One piece of work handed to ``pool`` (+1), or finished or cancelled there (-1)."""
    _child(WORK_IN_PROGRESS, pool).inc(change)


def slow_client(stage: str) -> None:
    """One connection closed at the read deadline with ``stage`` (idle, headers or body) unfinished."""
    _child(SLOW_CLIENTS, label(stage)).inc()


def worker_gone(pid: int) -> None:
    """A gunicorn worker has exited: its live gauges stop counting (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def db_round_trip(kind: str) -> None:
    """Count one exchange with the database for the request this thread is answering (if any)."""
    _child(DB_ROUND_TRIPS, kind, getattr(_request, "kind", BACKGROUND)).inc()


_children: dict[tuple, Any] = {}


def _child(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, remembered: labels() takes a lock and checks its values on every call, and a
    wizard counts about 30 samples (one per database exchange). The same children prometheus-client keeps."""
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def exposition() -> tuple[bytes, str]:
    """The text a Prometheus scrape gets, summed over workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        collector = multiprocess.MultiProcessCollector(registry)
        registry.register(_Unrecorded(collector))
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class _Unrecorded:
    """Our metric families that no worker has recorded yet, without samples: the multiprocess collector only
    knows what is in the workers' files, and a scrape before the first request should still list every family."""

    OURS = (
        REQUESTS,
        LATENCY,
        CREDENTIALS_CREATED,
        VERIFICATION_FAILURES,
        NOTIFICATION_FAILURES,
        DB_ROUND_TRIPS,
        WORK_IN_PROGRESS,
        SLOW_CLIENTS,
        PADDLE_NOTIFICATIONS,
    )

    def __init__(self, recorded) -> None:
        self.recorded = recorded

    def collect(self):
        from prometheus_client.metrics_core import Metric

        seen = {family.name for family in self.recorded.collect()}
        for metric in self.OURS:
            for family in metric.describe():
                if family.name not in seen:
                    yield Metric(family.name, family.documentation, family.type)
