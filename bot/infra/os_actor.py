"""Who runs a command, for the audit trail: the operating system's account of this process, never the
environment's word (``LOGNAME`` and ``USER`` are whatever the caller set; ``getpass.getuser()`` reads them first).

``SUDO_USER`` is recorded beside the account when present: sudo sets it to the user who ran sudo, so
``cli:root (sudo: alice)`` names both. It is an environment variable too, so it never replaces the account's name,
only stands beside it, cut to the characters a user name has.
"""

from __future__ import annotations

import os
import pwd
import re

_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._@$-]")
NAME_LIMIT = 32  # Linux user names are at most 32 characters


def account() -> str:
    """The user name of this process's real user id (``uid 1234`` when the system has no entry for it)."""
    uid = os.getuid()
    try:
        return _clean(pwd.getpwuid(uid).pw_name) or f"uid {uid}"
    except KeyError:  # a container's uid with no passwd entry
        return f"uid {uid}"


def actor(prefix: str) -> str:
    """``<prefix>:<account>``, with `` (sudo: <user>)`` when run through sudo."""
    sudo = _clean(os.environ.get("SUDO_USER", ""))
    return f"{prefix}:{account()}" + (f" (sudo: {sudo})" if sudo else "")


def _clean(name: str) -> str:
    return _NAME_CHARACTERS.sub("?", name)[:NAME_LIMIT]
