"""Where settings meet the core: the provider client, the observer and the core's services, built once.

The core (bot.credentials) never reads settings; this module reads them and hands plain values and adapters in.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.audit import AuditLog
from bot.credentials.ports import Residue
from bot.credentials.service import CredentialService
from bot.credentials.vault import KeyRing
from bot.credentials.wizard_checks import WizardChecks
from bot.credentials.workspace_settings import SettingDefaults
from bot.infra import metrics
from bot.infra.logs import REDACTOR
from bot.infra.secret import Secret
from bot.infra.settings import Settings
from bot.providers.registry import ByProvider


class EdgeObserver:
    """The core's Observer port, implemented with Prometheus counters and the log redactor."""

    def credential_created(self, destination: str) -> None:
        metrics.CREDENTIALS_CREATED.labels(destination).inc()

    def key_check_failed(self, reason: str) -> None:
        metrics.VERIFICATION_FAILURES.labels(metrics.label(reason)).inc()

    def holding(self, secret: Secret) -> AbstractContextManager[object]:
        return REDACTOR.holding(secret)


def key_verifier(settings: Settings) -> ByProvider:
    """One verifier per provider of the catalog's destinations (bot.providers.registry), each destination on the
    base URL its catalog-named setting gives."""
    return ByProvider(settings.base_url, timeout=settings.paddle_timeout)


def credential_service(
    settings: Settings,
    sessions: sessionmaker[Session],
    key_ring: KeyRing,
    *,
    defer: Callable[..., object] | None = None,
    reads: sessionmaker[Session] | None = None,
    residue: Residue | None = None,
) -> CredentialService:
    """The core's service on these sessions and keys; ``defer`` lets audit writes follow an answer; ``reads``
    are sessions for its queries (on PostgreSQL without a transaction: bot.infra.db.read_session_factory);
    ``residue`` scrubs what a replace or delete leaves in the database's files (bot.infra.residue.Scrubber)."""
    provider = key_verifier(settings)  # verifies and rotates keys (bot.providers.registry)
    return CredentialService(
        sessions,
        key_ring,
        provider,
        verify_keys=settings.verify_keys,
        observer=EdgeObserver(),
        audit=AuditLog(sessions, defer=defer, single=reads),
        reads=reads,
        residue=residue,
        rotator=provider,
    )


def wizard_checks(settings: Settings, service: CredentialService) -> WizardChecks:
    return WizardChecks(service.queries, verify_keys=settings.verify_keys)


def setting_defaults(settings: Settings) -> SettingDefaults:
    """The environment's settings as every workspace's defaults (bot.credentials.workspace_settings): a workspace
    that saved nothing behaves as the whole deployment did before workspaces had settings."""
    return SettingDefaults(
        notify_channels=settings.notify_channels,
        board_channel=settings.board_channel,
        admins=settings.admins,
        viewers=settings.viewers,
    )
