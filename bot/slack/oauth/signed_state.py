"""OAuth states that /slack/install signs instead of storing, each good once at the callback.

Bolt's flow issues a state, sets it as the browser's cookie and sends it to Slack; the callback checks that the
browser presents the same state (Bolt's cookie check: CSRF) and asks the state store to consume it. A stored
state made every anonymous GET /slack/install a database row (1,131 rows in 5 s). Here a state is
``<expires>.<nonce>.<mac>``: its expiry (Unix seconds), 16 random bytes, and an HMAC-SHA256 over both under a
key derived from the app's client secret (which every instance holds and no database writer does). Issuing
stores nothing. Consuming checks the shape, the MAC and the expiry, then claims the nonce in
``slack_oauth_states`` (its primary key): the first claim wins, a second is a reuse, on any instance. So only a
callback that presents a state the bot signed, from the browser that got it, writes a row; each row goes once
its state has expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime, UTC

from slack_sdk.oauth.state_store import OAuthStateStore
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import OAuthState

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # a state is good for ten minutes, once
_SHAPE = re.compile(r"([0-9]{10,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")
_KEY_LABEL = b"credbot/slack-oauth-state/v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class StateSigner:
    """Signs and checks states under a key derived from the client secret (never the secret itself)."""

    def __init__(self, client_secret: str, seconds: int = STATE_SECONDS) -> None:
        self._key = hmac.new(client_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self.seconds = seconds

    def _mac(self, expires: str, nonce: str) -> str:
        return _b64(hmac.new(self._key, f"{expires}.{nonce}".encode(), hashlib.sha256).digest())

    def issue(self, now: float) -> str:
        expires, nonce = str(int(now) + self.seconds), _b64(secrets.token_bytes(16))
        return f"{expires}.{nonce}.{self._mac(expires, nonce)}"

    def nonce_of(self, state: str, now: float) -> tuple[str, int] | None:
        """The state's nonce and expiry when the bot signed it and it has not expired; else None."""
        shape = _SHAPE.fullmatch(state or "")
        if shape is None:
            return None
        expires, nonce, mac = shape.groups()
        if not hmac.compare_digest(mac, self._mac(expires, nonce)) or int(expires) < now:
            return None
        return nonce, int(expires)


class SignedStateStore(OAuthStateStore):
    """Bolt's state store: ``issue`` stores nothing; ``consume`` is true once per signed, unexpired state."""

    def __init__(
        self, sessions: sessionmaker[Session], signer: StateSigner, clock: Callable[[], float] = time.time
    ) -> None:
        self.sessions = sessions
        self.signer = signer
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: object, **kwargs: object) -> str:
        return self.signer.issue(self.clock())

    def consume(self, state: str) -> bool:
        now = self.clock()
        found = self.signer.nonce_of(state, now)
        if found is None:
            return False
        nonce, expires = found
        moment = datetime.fromtimestamp(now, UTC)
        try:
            with self.sessions.begin() as session:
                session.execute(delete(OAuthState).where(OAuthState.expires_at < moment))  # the expired claims
                if session.scalars(select(OAuthState.state).where(OAuthState.state == nonce)).first():
                    return False  # used before (checked first, so a reuse makes no failed insert on PostgreSQL)
                session.add(OAuthState(state=nonce, expires_at=datetime.fromtimestamp(expires, UTC)))
        except IntegrityError:  # claimed by another callback at the same moment
            return False
        return True
