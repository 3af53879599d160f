"""Files and directories that hold secrets: owner-only, whatever the umask, and refused when others may write them.

The data directory holds the SQLite database and the generated key file. It is created 0700 and its files 0600
with explicit modes (a umask can only take bits away, and ``mkdir(parents=True)`` gives parents the default
mode, so each is set after creation). An existing directory or key file that another user could write, or that
the running user does not own, is refused: whoever can replace the key file can read every key encrypted after.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class UnsafePath(Exception):
    """A path others could write, or not ours: says which and the command that fixes it."""


def private_dir(path: Path) -> Path:
    """``path`` as an owner-only directory, created (with its missing parents) if need be; refused if unsafe."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # another process created it in between
            continue
        os.chmod(directory, PRIVATE_DIR_MODE)
    refuse_if_unsafe(path, directory=True)
    return path


def create_private_file(path: Path) -> int | None:
    """Open a new owner-only file for writing; None when it exists already (another process made it first)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return None
    os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def touch_private(path: Path) -> None:
    """Make sure ``path`` exists as an owner-only file (before SQLite creates it with the umask's mode)."""
    fd = create_private_file(path)
    if fd is not None:
        os.close(fd)


def refuse_if_unsafe(path: Path, *, directory: bool = False, warn_readable: bool = False) -> None:
    """Raise :class:`UnsafePath` when others may write ``path`` or it is not the running user's."""
    info = path.stat()
    what = "directory" if directory else "file"
    fix = f"chmod {'700' if directory else '600'} {path}"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise UnsafePath(
            f"the {what} {path} belongs to another user (uid {info.st_uid}); "
            f"run Credbot as its owner, or `chown {os.getuid()} {path}`"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePath(f"the {what} {path} may be written by other users; run `{fix}`")
    if warn_readable and info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("the %s %s may be read by other users; run `%s`", what, path, fix)
