"""What a command raises for a failure a person can act on: one line for stderr, and the exit status.

A command's own failures (a bad argument, an unknown id, Slack away) are ``CommandFailed``; the opener's
(bot.runtime: database or keys unusable) are its base class ``CredbotUnavailable``. Both carry the one line and
the exit status, and the command line answers every one of them in the same place (bot.cli.main)."""

from __future__ import annotations

from bot.runtime import EXIT_CONFIG, EXIT_RUNTIME, CredbotUnavailable

__all__ = ["EXIT_CONFIG", "EXIT_RUNTIME", "CommandFailed"]


class CommandFailed(CredbotUnavailable):
    """An expected failure of a command: ``str()`` says what is wrong and what to do, in one line."""
