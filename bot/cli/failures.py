"""What a command raises for a failure a person can act on: one line for stderr, and the exit status."""

from __future__ import annotations

EXIT_RUNTIME = 1  # the environment let us down: database unreachable or not migrated, unknown id, Slack away
EXIT_CONFIG = 2  # a setting or an argument must change


class CommandFailed(Exception):
    """An expected failure: ``str()`` says what is wrong and what to do, in one line."""

    def __init__(self, message: str, exit_code: int = EXIT_RUNTIME) -> None:
        super().__init__(message)
        self.exit_code = exit_code
