"""Each workspace's settings in effect as the requests read them, without a database query per decision.

An access check runs in every ack (each wizard stage, every list), so it must not add a round trip; yet a saved
change must govern the next request on every instance. The book holds every saved setting (one query:
bot.credentials.workspace_settings.all_saved) and a thread reloads it every ``REFRESH_SECONDS``: a change saved
on any instance applies on every other within that bound, and at once on the saving instance (``reload`` after
a save). A book not refreshed for ``STALE_SECONDS`` (the database unreachable) reloads on use and, failing
that, raises: access is then refused (fail closed) and announcements are skipped, never sent to the defaults.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.types import Workspace
from bot.credentials.workspace_settings import SettingDefaults, WorkspaceSettings, all_saved, compose
from bot.infra import metrics

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
STALE_SECONDS = 30.0


class SettingsUnavailable(RuntimeError):
    """The saved settings could not be read recently: nothing may be decided on them."""


class SettingsBook:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        defaults: SettingDefaults,
        *,
        refresh: float = REFRESH_SECONDS,
        stale: float = STALE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions, self.defaults, self.refresh, self.stale, self.clock = sessions, defaults, refresh, stale, clock
        self.loads = 0  # successful loads, for a test waiting for the next one
        self._saved: Mapping[str, Mapping[str, tuple[str | None, int]]] = {}
        self._loaded_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def of(self, workspace: Workspace) -> WorkspaceSettings:
        """The settings in effect for ``workspace``; SettingsUnavailable when they could not be read lately."""
        loaded_at = self._loaded_at
        if loaded_at is None or self.clock() - loaded_at > self.stale:
            try:
                self.reload()
            except Exception as error:
                raise SettingsUnavailable(f"workspace settings could not be read ({type(error).__name__})") from error
        return compose(workspace, self._saved, self.defaults)

    def reload(self) -> None:
        """Read every saved setting again (after a save: it applies here at once)."""
        saved, _ = all_saved(self.sessions)
        self._saved, self._loaded_at = saved, self.clock()
        self.loads += 1

    def start(self) -> SettingsBook:
        """Load now, then keep reloading in a daemon thread (its round trips are counted as ``settings``)."""
        try:
            self.reload()
        except Exception:  # the first use loads again, and refuses if it cannot
            log.warning("workspace settings could not be read at start; retrying", exc_info=True)
        self._thread = threading.Thread(target=self._run, name="workspace-settings", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        metrics.name_work("settings")
        failing = False
        while not self._stop.wait(self.refresh):
            try:
                self.reload()
                failing = False
            except Exception as error:
                if not failing:  # once per outage, not every couple of seconds
                    log.warning("workspace settings could not be reloaded: %s", type(error).__name__)
                failing = True
