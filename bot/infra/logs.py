"""Logging with redaction on every handler.

Bolt and slack-sdk log whole request bodies and API calls at DEBUG, and a
view submission's body holds the API key the user typed. The redacting
formatter rewrites every formatted line (tracebacks included) before it
leaves the process, so no level and no library can leak a key or token.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import urllib.parse
from contextlib import contextmanager
from datetime import datetime, UTC
from collections.abc import Callable, Iterable, Iterator

from bot.credentials import catalog
from bot.credentials.key_shapes import ACCESS_TOKEN, SLACK_TOKEN
from bot.infra.secret import Secret

MASK = "[REDACTED]"
# Beside the catalog's key masks (catalog.key_log_patterns: every destination's keys, even truncated).
_OWN_PATTERNS = [
    SLACK_TOKEN,  # Slack tokens (beside the names and filters that may not hold one: credentials.key_shapes)
    ACCESS_TOKEN,  # Credbot's own access tokens (cbt_…), whole or cut short, wherever a log line carries one
    # Whatever was typed in the API key input, however the payload is quoted or encoded.
    re.compile(
        r"(?<=api_key_input)((?:(?!value).){0,120}?value(?:%22|\\?[\"'])[\s+]*(?::|%3A)[\s+]*(?:%22|\\?[\"']))"
        r"[^\"'%&\\\s]+"
    ),
]


KEY_INPUT = "api_key_input"  # the action id of every input a person pastes an API key into
_DECODER = json.JSONDecoder()
# The second net, for payloads that are not JSON (a Python repr): the key input's quoted value, whole, however
# it is escaped; a quoted string ends only at an unescaped quote.
_QUOTED_KEY_VALUE = re.compile(
    KEY_INPUT + r"""['"]?\s*:\s*\{[^{}]*?['"]value['"]\s*:\s*"""
    r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""",
    re.DOTALL,
)
_FORM_PAYLOAD = re.compile(r"payload=([^&\s'\"]+)")


_patterns: tuple[int, list[re.Pattern[str]]] = (-1, [])


def key_patterns() -> list[re.Pattern[str]]:
    """The catalog's key masks and our own; derived again whenever a destination is (un)registered."""
    global _patterns
    version, patterns = _patterns
    if version != catalog.DESTINATIONS.version:
        version = catalog.DESTINATIONS.version
        patterns = [*catalog.key_log_patterns(), *_OWN_PATTERNS]
        _patterns = (version, patterns)
    return patterns


def _mask_key_inputs(value: object) -> object:
    """A copy of a parsed payload with every key input's value replaced whole."""
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            if key == KEY_INPUT and isinstance(item, dict) and "value" in item:
                item = {**item, "value": MASK}
            masked[key] = _mask_key_inputs(item)
        return masked
    if isinstance(value, list):
        return [_mask_key_inputs(item) for item in value]
    if isinstance(value, str) and KEY_INPUT in value and value.lstrip().startswith("{"):
        return redact_payloads(value)  # a payload carried as a JSON string (a form's payload field, an envelope)
    return value


def _redact_json(text: str) -> str:
    out, position = [], 0
    while (start := text.find("{", position)) >= 0:
        try:
            parsed, end = _DECODER.raw_decode(text, start)
        except ValueError:
            out.append(text[position : start + 1])
            position = start + 1
            continue
        segment = text[start:end]
        out.append(text[position:start])
        out.append(json.dumps(_mask_key_inputs(parsed), ensure_ascii=False) if KEY_INPUT in segment else segment)
        position = end
    out.append(text[position:])
    return "".join(out)


def _redact_form(match: re.Match) -> str:
    decoded = urllib.parse.unquote_plus(match.group(1))
    return "payload=" + urllib.parse.quote_plus(_redact_json(decoded)) if KEY_INPUT in decoded else match.group(0)


def redact_payloads(text: str) -> str:
    """Replace the value of every API key input in the payloads a line carries (JSON, form-encoded, or a repr),
    whole, whatever characters it holds: parse first, then a quoted-string net."""
    if KEY_INPUT not in text:
        return text
    text = _FORM_PAYLOAD.sub(_redact_form, text)
    text = _redact_json(text)
    return _QUOTED_KEY_VALUE.sub(_mask_quoted, text)


def _mask_quoted(match: re.Match) -> str:
    quoted = match.group(1)
    if quoted[1:-1] == MASK:
        return match.group(0)
    return match.group(0)[: match.start(1) - match.start(0)] + quoted[0] + MASK + quoted[0]


class Redactor:
    """Knows the secrets of this process and the ones in flight."""

    def __init__(self) -> None:
        self._fixed: set[str] = set()
        self._in_flight: dict[int, str] = {}
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            self._fixed.update(v for v in values if v and len(v) >= 6)

    @contextmanager
    def holding(self, secret: Secret) -> Iterator[None]:
        """Redact ``secret``'s exact value while it is in scope."""
        token = id(secret)
        with self._lock:
            self._in_flight[token] = secret.reveal()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.pop(token, None)

    def redact(self, text: str) -> str:
        text = redact_payloads(text)
        with self._lock:  # a value too short to be a secret would mask half the line (and "" every gap)
            values = sorted({v for v in self._in_flight.values() if len(v) >= 6} | self._fixed, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        for pattern in key_patterns():
            if pattern.groups:
                text = pattern.sub(lambda m: m.group(1) + MASK, text)
            else:
                text = pattern.sub(MASK, text)
        return text


REDACTOR = Redactor()


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str | None = None, redactor: Redactor = REDACTOR) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


class RedactingJSONFormatter(logging.Formatter):
    """One JSON object per line for log collectors; every text field is redacted before it is encoded."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redactor.redact(record.getMessage()),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.redactor.redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.redactor.redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


LIBRARY_LOGGERS = ("slack_bolt", "slack_sdk")
SLACK_CLIENT_LOGGER = "slack_sdk.web.base_client"  # the logger of every WebClient we and Bolt make
LIBRARY_LINE_ABOVE_DEBUG = 240  # enough for any of their warnings' words, too short for a request body
LIBRARY_LINE_AT_DEBUG = 2_000


class LibraryLineLimit(logging.Filter):
    """Bolt and slack-sdk put whole request bodies into some lines (an unhandled request's warning, a refused
    signature at INFO). Above DEBUG their lines are cut before any ``{`` or ``body``; at DEBUG, to 2,000
    characters. Redaction still runs on what remains."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(LIBRARY_LOGGERS):
            return True
        message = record.getMessage()
        if record.levelno > logging.DEBUG:
            cut = min(i for i in (message.find("{"), message.find("body"), LIBRARY_LINE_ABOVE_DEBUG) if i >= 0)
            limited = message[:cut] + (" [body not logged]" if cut < len(message) else "")
        else:
            limited = message[:LIBRARY_LINE_AT_DEBUG] + (" [truncated]" if len(message) > LIBRARY_LINE_AT_DEBUG else "")
        record.msg, record.args = limited, None
        return True


def configure_logging(level: str = "INFO", secrets: Iterable[str] = (), log_format: str = "text") -> None:
    """One redacting handler on the root logger; every other logger propagates to it."""
    REDACTOR.add(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingJSONFormatter() if log_format == "json" else RedactingFormatter())
    handler.addFilter(LibraryLineLimit())
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO on every start; keep its migration lines only.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # slack-sdk decides whether to build a Web API call's debug line from its logger's own level, not the
    # effective one: left unset (0), it formatted every request's JSON body into a string that INFO then dropped.
    logging.getLogger(SLACK_CLIENT_LOGGER).setLevel(level)


class EveryFewSeconds:
    """One log line per ``every`` seconds at most, for what an attacker can make happen at will (refused
    requests, slow clients): ``due()`` is how many were held back since the last line when a line is due now,
    else None (and this one is counted as held back)."""

    def __init__(self, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self._lock = threading.Lock()
        self._last = -every
        self._held = 0

    def due(self) -> int | None:
        with self._lock:
            now = self.clock()
            if now - self._last < self.every:
                self._held += 1
                return None
            held, self._held, self._last = self._held, 0, now
            return held
