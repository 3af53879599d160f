"""Data put in place and read back through Credbot's own core (no Slack round trips)."""

from __future__ import annotations

from typing import Any

from tests.kit.bots import BotBase
from tests.kit.fakes import make_key


def core_service(bot: BotBase, *, verify_keys: bool = False):
    """The bot's own core, on its database and keys, for seeding data and reading it back.

    The engine is kept per bot (and disposed with ``bot.close_database()``); the service is new on each call,
    so a test may patch the one it gets without touching the next test's.
    """
    from bot import wiring
    from bot.infra.db import session_factory

    settings, engine, key_ring = _core_parts(bot)
    settings = settings.model_copy(update={"verify_keys": verify_keys})
    return wiring.credential_service(settings, session_factory(engine), key_ring)


def _core_parts(bot: BotBase) -> tuple[Any, Any, Any]:
    from bot.infra.db import create_db_engine
    from bot.infra.settings import load_settings
    from bot.keys.local_keys import load_key_ring

    key = (bot.database_url, bot.env.get("CREDBOT_ENCRYPTION_KEYS", ""))
    cached = getattr(bot, "_core_cache", None)
    if cached is None or cached[0] != key:
        if cached is not None:
            cached[1][1].dispose()
        settings = load_settings(bot.env, purpose="keys")
        cached = (key, (settings, create_db_engine(settings.database_url), load_key_ring(settings)))
        bot._core_cache = cached
        bot.on_close_database(cached[1][1].dispose)
    return cached[1]


def seed(service, workspace, name: str, destination: str = "paddle", key: str | None = None):
    """Store a credential directly through the core (no Slack round trips)."""
    from bot.credentials.types import Workspace as Scope
    from bot.infra.secret import Secret

    key = key or make_key("sdbx" if destination == "paddle_sandbox" else "live")
    return service.create(
        Scope(workspace.enterprise_id or "", workspace.team_id),
        workspace.user_id,
        name=name,
        entity_type="bill",
        destination=destination,
        api_key=Secret(key),
    )


def scope(workspace):
    """The core's Workspace (enterprise, team) of a tests.kit Workspace."""
    from bot.credentials.types import Workspace as Scope

    return Scope(workspace.enterprise_id or "", workspace.team_id)
