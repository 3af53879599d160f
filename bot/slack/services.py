"""What the listeners need, built once per process from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from functools import cached_property

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine

from bot import wiring
from bot.credentials.access_tokens import AccessTokens
from bot.credentials.queries import CredentialQueries
from bot.credentials.service import CredentialService, fill_key_record_ids
from bot.credentials.types import Workspace
from bot.credentials.vault import KeyRing
from bot.credentials.workspace_settings import WorkspaceSettings
from bot.keys.kms import key_ring_for
from bot.credentials.wizard_checks import WizardChecks
from bot.infra import http_pool, metrics
from bot.infra.residue import Scrubber
from bot.infra.db import count_round_trips, create_db_engine, read_session_factory, session_factory
from bot.infra.settings import Settings
from bot.slack.server.answer_first import AnswerFirstExecutor
from bot.slack.broadcast.channel_owners import ChannelOwners
from bot.slack.fair_use import FairUse
from bot.slack.web_client import client_class
from bot.slack.access import AccessPolicy, Rules
from bot.slack.settings_book import SettingsBook
from bot.slack.settings_rights import SettingsRights
from bot.slack.oauth.installation_store import SealedInstallationStore
from bot.slack.workspace_jobs import WorkspaceClients

log = logging.getLogger(__name__)


@dataclass
class Services:
    """One per process; the middleware hands it to every listener through the request's context."""

    settings: Settings
    engine: Engine
    credentials: CredentialService  # the core's writes (and audited reads)
    wizard: WizardChecks  # the wizard's checks between stages
    slack: WebClient
    access: AccessPolicy
    executor: AnswerFirstExecutor  # runs listeners after ack (Paddle check, views.update, announcements)
    fair_use: FairUse  # provider checks (Test, Replace, the wizard's last stage): their own pool and limits
    owners: ChannelOwners | None = None  # which workspace owns each announcement/board channel
    background: list = field(default_factory=list)  # loops started by start_background()
    installations: SealedInstallationStore | None = None  # OAuth mode: one sealed bot token per workspace
    scrubbing: AnswerFirstExecutor | None = None  # the residue scrubs after replaces and deletes (bot.infra.residue)
    book: SettingsBook | None = None  # each workspace's settings in effect (saved, else the environment's)
    rights: SettingsRights | None = None  # who may change a workspace's settings (set by build_services)
    workspace_clients: WorkspaceClients | None = None  # OAuth mode: each installation's client for background work

    @cached_property
    def tokens(self) -> AccessTokens:
        """Integrations' access tokens (the Credentials tab's integration access, the read API), over the core's
        sessions, audit trail and one decrypt path."""
        credentials = self.credentials
        return AccessTokens(credentials.sessions, credentials.audit, credentials.decrypt_for_reader)

    def settings_for(self, workspace: Workspace) -> WorkspaceSettings:
        """``workspace``'s settings in effect: its notification and board channels, admins, viewers, reminder
        lead, read now (raises bot.slack.settings_book.SettingsUnavailable when they cannot be read)."""
        if self.book is None:
            raise RuntimeError("no settings book: build the services with build_services")
        return self.book.of(workspace)

    @property
    def queries(self) -> CredentialQueries:
        return self.credentials.queries

    def __deepcopy__(self, memo: dict) -> Services:
        # Bolt deep-copies a request's context for its lazy listeners; this is shared process state, not data.
        return self

    def start_background(self, *more: Callable[[Services], Any]) -> None:
        """The daily expiry check (in every instance; reminders are claimed in the database; in OAuth mode once per
        installed workspace, each claimed by one instance, with its own token), and ``more`` loops, each started
        with these services and stopped by ``close``: those whose modules name Services, which this module may not
        import back (the daily look at every key: bot.slack.daily_look.start_daily_look, handed in by the
        runners)."""
        from bot.slack.reminders import ReminderLoop

        self.background.append(ReminderLoop(self, self.settings.reminder_interval).start())
        for start in more:
            self.background.append(start(self))
        self.executor.submit(self._fill_key_record_ids)

    def _fill_key_record_ids(self) -> None:
        """Keys stored before migration 0016: their record ids, which Paddle's notifications name."""
        try:
            filled = fill_key_record_ids(self.credentials)
        except Exception:  # the next start tries again; notifications for those keys are ignored meanwhile
            log.exception("filling in the keys' record ids failed")
            return
        if filled:
            log.info("filled in the record id of %d stored key(s)", filled)

    def close(self) -> None:
        for loop in self.background:
            loop.stop()
        self.fair_use.close()
        self.executor.shutdown(wait=True)
        if self.scrubbing is not None:  # after the listeners: a scrub they asked for still runs
            self.scrubbing.shutdown(wait=True)
        self.engine.dispose()


def process_token(settings: Settings) -> str | None:
    """The one workspace's bot token; none in OAuth mode, where each request brings its installation's and each
    background job takes each installation's (bot.slack.workspace_jobs)."""
    if settings.oauth_mode or settings.slack_bot_token is None:
        return None
    return settings.slack_bot_token.reveal()


def slack_client(settings: Settings) -> WebClient:
    """A Web API client that retries what is worth retrying: rate limits, 5xx, dropped connections."""
    return client_class(settings.library_shortcuts)(
        token=process_token(settings),
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def access_client(settings: Settings) -> WebClient:
    """For membership checks made while Slack waits for an ack: short timeout, one retry on a dropped connection."""
    return client_class(settings.library_shortcuts)(
        token=process_token(settings),
        base_url=settings.slack_api_url,
        timeout=2,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def build_services(settings: Settings, key_ring: KeyRing | None = None) -> Services:
    http_pool.SHARED.choose(settings.library_shortcuts)  # this process's Slack and Paddle connections
    engine = create_db_engine(
        settings.database_url, pool_size=settings.http_threads, connect_timeout=settings.database_connect_timeout
    )
    count_round_trips(engine, metrics.db_round_trip)
    sessions = session_factory(engine)
    key_ring = key_ring or key_ring_for(settings, sessions, create=True)
    executor = AnswerFirstExecutor(max_workers=max(8, settings.http_threads), thread_name_prefix="listener")
    scrubbing = AnswerFirstExecutor(max_workers=1, thread_name_prefix="residue")  # one scrub at a time, after answers
    credentials = wiring.credential_service(
        settings,
        sessions,
        key_ring,
        defer=executor.submit,
        reads=read_session_factory(engine),
        residue=Scrubber(engine, scrubbing.submit),
    )
    book = SettingsBook(read_session_factory(engine), wiring.setting_defaults(settings))
    access = AccessPolicy(settings.admins, settings.viewers, access_client(settings), rules=rules_in(book))
    client = slack_client(settings)
    installations, workspace_clients = None, None
    if settings.oauth_mode:
        from bot.slack.oauth.install_flow import installation_store

        installations = installation_store(settings, sessions, key_ring, client)
        workspace_clients = WorkspaceClients(
            installations, shortcuts=settings.library_shortcuts, base_url=settings.slack_api_url
        )
    services = Services(
        settings,
        engine,
        credentials,
        wiring.wizard_checks(settings, credentials),
        client,
        access,
        executor,
        FairUse.on(engine, settings.provider_checks_per_minute),
        owners=ChannelOwners(client, org_wide=settings.org_wide_channels),
        installations=installations,
        scrubbing=scrubbing,
        book=book,
        workspace_clients=workspace_clients,
    )
    services.rights = SettingsRights(settings.admins, access, installations)
    return services


def rules_in(book: SettingsBook) -> Callable[[Workspace], Rules]:
    """Who may manage and view in a workspace, as its settings in effect say."""

    def rules(workspace: Workspace) -> Rules:
        found = book.of(workspace)
        return found.admins, found.viewers

    return rules
