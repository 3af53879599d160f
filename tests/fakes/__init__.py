"""In-process fakes for Credbot's external services (Slack, Paddle) and signed Slack requests."""

from .paddle import FakePaddle, PaddleRequest, make_key, make_legacy_key
from .signing import Reply, SlackSender, sign
from .slack import Call, FakeSlack

__all__ = [
    "Call",
    "FakePaddle",
    "FakeSlack",
    "PaddleRequest",
    "Reply",
    "SlackSender",
    "make_key",
    "make_legacy_key",
    "sign",
]
