"""Key expiry reminders: 7 days before a Paddle key expires, and again when it has.

A check runs in every instance once a day (``CREDBOT_REMINDER_INTERVAL_SECONDS``). Before sending, a reminder
is *claimed* by inserting its row: (credential, kind, expiry) is unique, so when several instances check at
the same moment exactly one wins each reminder and sends it; the others skip it. A replaced key has a new
expiry, so it gets reminders of its own. ``python -m bot reminders run [--now …]`` runs one check by hand.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta, timezone

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.credentials.models import Credential, Reminder
from bot.credentials.service import _SHOWN, _summary, CredentialSummary
from bot.notify import notify_channels

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(days=7)
EXPIRES_SOON, EXPIRED = "expires_soon", "expired"
CLAIMER = f"{socket.gethostname()}:{os.getpid()}"[:64]


def due(sessions, now: datetime) -> list[tuple[CredentialSummary, str]]:
    """Credentials whose key expires within 7 days (or has expired) and whose reminder nobody has claimed."""
    rows = []
    with sessions() as session:
        for kind, condition in ((EXPIRED, Credential.key_expires_at <= now),
                                (EXPIRES_SOON, and_(Credential.key_expires_at > now,
                                                    Credential.key_expires_at <= now + REMIND_BEFORE))):
            claimed = select(Reminder.id).where(Reminder.credential_id == Credential.id, Reminder.kind == kind,
                                                Reminder.expires_at == Credential.key_expires_at)
            live = or_(Credential.key_status.is_(None), Credential.key_status != "revoked")  # revoked: moot
            query = (select(*_SHOWN).where(Credential.key_expires_at.is_not(None), condition, live, ~claimed.exists())
                     .order_by(Credential.key_expires_at))
            rows += [(_summary(row), kind) for row in session.execute(query).all()]
    return rows


def claim(sessions, item: CredentialSummary, kind: str, now: datetime) -> bool:
    """True for exactly one caller per (credential, kind, expiry), whatever the number of instances."""
    try:
        with sessions.begin() as session:
            session.add(Reminder(credential_id=item.id, kind=kind, expires_at=item.key_expires_at, claimed_at=now,
                                 claimed_by=CLAIMER, outcome="claimed"))
        return True
    except IntegrityError:  # another instance claimed it, or the credential was deleted meanwhile
        return False


def run_expiry_check(services, client: WebClient, now: datetime | None = None) -> list[tuple[str, str]]:
    """Send every due reminder this instance can claim; returns (credential id, kind) of those sent."""
    now = now or datetime.now(timezone.utc)
    credentials = services.credentials
    sent = []
    for item, kind in due(credentials.sessions, now):
        if not claim(credentials.sessions, item, kind, now):
            continue
        from bot.ui.home import reminder_message

        text, blocks = reminder_message(item, kind, now)
        channels = list(services.settings.notify_channels)
        if channels:
            results = notify_channels(client, channels, text, blocks)
            outcome = ", ".join(f"{r.channel}:{'ok' if r.ok else r.error}" for r in results)
        else:  # nowhere to announce: tell the person who created it
            try:
                client.chat_postMessage(channel=item.created_by, text=text, blocks=blocks)
                outcome = f"dm {item.created_by}: ok"
            except SlackApiError as error:
                outcome = f"dm {item.created_by}: {error.response.get('error')}"
        with credentials.sessions.begin() as session:
            session.execute(update(Reminder).where(Reminder.credential_id == item.id, Reminder.kind == kind,
                                                   Reminder.expires_at == item.key_expires_at)
                            .values(outcome=outcome[:200]))
        credentials.record(item.workspace, "credbot", "credential.reminder", kind, item.id, outcome)
        sent.append((item.id, kind))
    return sent


class ReminderLoop:
    """Runs the expiry check every ``interval`` seconds in a daemon thread, until stopped."""

    def __init__(self, services, client: WebClient, interval: float) -> None:
        self.services, self.client, self.interval = services, client, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="expiry-reminders", daemon=True)

    def start(self) -> "ReminderLoop":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        # The first check soon after start (not a whole interval later), then every interval.
        while not self._stop.wait(min(self.interval, 30)):
            try:
                sent = run_expiry_check(self.services, self.client)
                if sent:
                    log.info("sent %d expiry reminder(s)", len(sent))
            except Exception:  # a failed check must not end the loop; the next one tries again
                log.exception("the expiry check failed")
            if self._stop.wait(max(0, self.interval - min(self.interval, 30))):
                return
