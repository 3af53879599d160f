"""Which names are settings, and the nearest one to a name that is not (a typo must not pass in silence).

Pure: given the names found in ``.env`` and in the process environment, say what to refuse and what to warn
about. Every name in ``.env`` is meant for Credbot, so an unknown one is refused; the process environment holds
many unrelated names, so there only an unknown ``CREDBOT_*`` name is refused and a near miss of another
setting (``DATABSE_URL``) is warned about.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Read from the process environment by this repository's scripts and test kit, not by Credbot: never refused.
TOOLING_NAMES = frozenset(
    {
        "CREDBOT_LOCK",
        "CREDBOT_LOCK_RUNTIME_EXTRAS",
        "CREDBOT_LOCK_TEST_EXTRAS",
        "CREDBOT_TEST_FORK",
        "CREDBOT_TEST_FORK_SERVER",
    }
)
OWN_PREFIX = "CREDBOT_"
# How alike two names must be (difflib's ratio): a suggestion for a refused name may be a loose match; a
# warning about a name in the process environment only for a near miss (DATABSE_URL, SLACK_BOT_TOKN), so that
# HOSTNAME, SLACK_TOKEN or PADDLE_API_KEY are left alone.
SUGGEST_CUTOFF = 0.6
WARN_CUTOFF = 0.85


def nearest(name: str, known: Iterable[str], cutoff: float = SUGGEST_CUTOFF) -> str | None:
    """The known name most like ``name`` (case ignored), or None when none is alike enough."""
    by_upper = {candidate.upper(): candidate for candidate in known}
    found = difflib.get_close_matches(name.upper(), by_upper, n=1, cutoff=cutoff)
    return by_upper[found[0]] if found else None


def not_a_setting(name: str, where: str, known: Iterable[str]) -> str:
    """The problem for a name that is not a setting, naming the nearest one when there is one."""
    suggestion = nearest(name, known)
    if suggestion:
        return f"{name} ({where}) is not a setting; did you mean {suggestion}?"
    return f"{name} ({where}) is not a setting; .env.example lists every setting"


def check_names(
    dotenv: Iterable[str], environment: Iterable[str], known: frozenset[str]
) -> tuple[list[str], list[str]]:
    """(problems that refuse start-up, one-line warnings) for the names found in each place."""
    problems = [not_a_setting(name, "in .env", known) for name in sorted(set(dotenv)) if name not in known]
    warnings: list[str] = []
    for name in sorted(set(environment)):
        if name in known or name in TOOLING_NAMES:
            continue
        if name.upper().startswith(OWN_PREFIX):
            problems.append(not_a_setting(name, "in the environment", known))
            continue
        suggestion = nearest(name, known, WARN_CUTOFF)
        if suggestion:
            warnings.append(f"{name} in the environment is not a setting and is ignored; did you mean {suggestion}?")
    return problems, warnings
