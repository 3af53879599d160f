"""Text shaped like a secret: what may never become a name, a filter or anything else Credbot shows or stores.

A credential's name is shown to everyone who may view credentials, announced in channels and stored in the clear;
a list's filter is echoed in the answer and carried in its page buttons. A key typed into either would leak, so
text holding anything shaped like a key is refused. The shapes are the catalog's, read at each use (a
destination registered at run time brings its own): every destination's log masks searched anywhere in the text
(they find keys embedded in other words, even truncated), and its key patterns matched against every word; and
Slack's own tokens, which the log redactor masks too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from bot.credentials import catalog

# Slack's tokens (bot, user, app-level, configuration, refresh…): the log redactor's, and no name's. Not after a
# letter or digit, but after "_" too ("prod_xoxb-…"), which a word boundary would miss.
SLACK_TOKEN = re.compile(r"(?<![A-Za-z0-9])x(?:ox[abpoesr]|app)-[A-Za-z0-9-]{6,}")
# Credbot's own access tokens (bot.credentials.access_tokens: cbt_ and 43 URL-safe characters), from 8 on.
ACCESS_TOKEN = re.compile(r"(?<![A-Za-z0-9])cbt_[A-Za-z0-9_-]{8,}")
# Where a word ends, from the strictest cut to the loosest: whitespace; anything outside the URL-safe alphabet
# keys are made of; anything but letters and digits (a legacy key glued to a word with "_" or "-").
_CUTS = (re.compile(r"\s+"), re.compile(r"[^A-Za-z0-9_-]+"), re.compile(r"[^A-Za-z0-9]+"))


def key_shaped(text: str) -> bool:
    """Whether ``text`` holds anything shaped like an API key of a registered destination, a Slack token or one
    of Credbot's access tokens: as typed, or once its compatibility characters are folded (a key in full-width
    letters is the same key)."""
    searched = (*catalog.key_log_patterns(), SLACK_TOKEN, ACCESS_TOKEN)
    whole = [p for d in catalog.DESTINATIONS for p in _patterns(d.key_rules)]
    for form in dict.fromkeys((text, unicodedata.normalize("NFKC", text))):
        if any(pattern.search(form) for pattern in searched):
            return True
        if any(pattern.match(word) for word in _words(form) for pattern in whole):
            return True
    return False


def _patterns(rules: catalog.KeyRules) -> Iterator[re.Pattern[str]]:
    for pattern in (rules.pattern, rules.legacy_pattern, rules.family_pattern):
        if pattern is not None:
            yield pattern


def _words(text: str) -> set[str]:
    return {word for cut in _CUTS for word in cut.split(text) if word}
