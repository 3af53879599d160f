"""Fakes of Credbot's external services on loopback: Slack's Web API, Paddle, Slack's Socket Mode endpoint."""

from .paddle import DOCUMENTED_KEYS, FakePaddle, PaddleRequest, make_key, make_legacy_key
from .slack import Call, FakeSlack
from .socket_mode import FakeSocketMode

__all__ = [
    "Call",
    "DOCUMENTED_KEYS",
    "FakePaddle",
    "FakeSlack",
    "FakeSocketMode",
    "PaddleRequest",
    "make_key",
    "make_legacy_key",
]
