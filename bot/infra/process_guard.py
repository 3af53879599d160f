"""What ``serve`` does to its own process before it reads any secret: no core dumps, and owner-only files.

A core dump of a process that has decrypted keys holds them (the key ring, Slack's tokens, the Paddle keys being
checked), in a file written by the kernel wherever ``core_pattern`` says; a process that is not dumpable cannot
be attached to with ptrace by a process of the same user either. Both settings are inherited by gunicorn's
workers, which are forked.

The umask: prometheus-client's multiprocess files (``data_dir/metrics``) are opened with the umask's mode, so
under umask 000 they were 0666. Credbot's own files already set their modes explicitly (bot.infra.files); with a
umask of 077 whatever a library creates is owner-only too.
"""

from __future__ import annotations

import os
import sys

PR_SET_DUMPABLE = 4  # <linux/prctl.h>
OWNER_ONLY_UMASK = 0o077


def guard_process() -> list[str]:
    """Disable core dumps and make every new file owner-only; what could not be done (for a warning once logging
    is configured: this runs before, so it logs nothing itself)."""
    os.umask(OWNER_ONLY_UMASK)
    return [problem for problem in (_no_core_limit(), _not_dumpable()) if problem]


def _no_core_limit() -> str | None:
    try:
        import resource
    except ImportError:  # not a Unix: no core limit to set
        return None
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError) as error:
        return f"could not set RLIMIT_CORE to 0 ({error})"
    return None


def _not_dumpable() -> str | None:
    if not sys.platform.startswith("linux"):
        return None  # elsewhere RLIMIT_CORE 0 is what there is
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            return f"prctl(PR_SET_DUMPABLE, 0) failed ({os.strerror(ctypes.get_errno())})"
    except (OSError, AttributeError) as error:  # no libc, or one without prctl
        return f"prctl(PR_SET_DUMPABLE, 0) is not available ({error})"
    return None
