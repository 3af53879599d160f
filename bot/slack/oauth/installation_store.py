"""Slack installations on our schema, their tokens sealed by the key ring.

slack-sdk's own stores keep bot and refresh tokens in plaintext (SQLAlchemy) or in files under $HOME; this one
writes a token only as a ciphertext bound (associated data) to its installation row, the workspace that row is
for, its purpose and its key id (bot.slack.oauth.token_binding): a row relabelled to another workspace does not
decrypt, is reported and audited, and its requests get no token.
It keeps one bot installation per workspace (or per org for an org-wide install), which is all Credbot asks of
Slack: the app uses no user tokens.

Token rotation happens here, in ``find_bot``, rather than in Bolt's authorize: a refresh is claimed in the
database first (the row's version is bumped where it still is the one read), so when several instances see the
same token near its expiry exactly one calls ``oauth.v2.access`` and the others wait for its newest tokens.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, UTC
from collections.abc import Callable
from typing import Any, cast

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.credentials.models import SlackInstallation
from bot.credentials.vault import KeyRing, Sealed, VaultError
from bot.infra.secret import Secret
from bot.slack.oauth.token_binding import (
    LEGACY,
    WORKSPACE_BOUND,
    report_undecryptable,
    reseal,
    reseal_legacy,
    token_aad,
)

log = logging.getLogger(__name__)

REFRESH_CLAIM_LEASE = timedelta(seconds=30)  # a claim older than this was left by an instance that died
REFRESH_WAIT_SECONDS = 10.0  # how long an instance waits for another's refresh before answering without a bot


class SealedInstallationStore(InstallationStore):
    """Bolt's InstallationStore (bot-only) over ``slack_installations``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        key_ring: KeyRing,
        *,
        client_id: str,
        rotator: TokenRotator | None = None,
        refresh_minutes: int = 120,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        report: bool = True,
    ) -> None:
        """``report``: a token that does not decrypt is logged, audited and answered with no bot; False (the
        command line's reads) raises the :class:`VaultError` instead."""
        self.sessions = sessions
        self.report = report
        self.key_ring = key_ring
        self.client_id = client_id
        self.rotator = rotator
        self.refresh_window = timedelta(minutes=refresh_minutes)
        self.clock = clock
        self._reported: set[tuple[str, int]] = set()  # rows (and versions) whose tokens did not decrypt: said once

    @property
    def logger(self) -> logging.Logger:
        return log

    # -- saving ---------------------------------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        bot = installation.to_bot()
        bot.custom_values = {**(bot.custom_values or {}), "installer_user_id": installation.user_id or ""}
        self.save_bot(bot)

    def save_bot(self, bot: Bot) -> None:
        """Store (or replace) the workspace's bot and its tokens, sealed; a reinstall keeps the row's id."""
        enterprise, team = _scope(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        with self.sessions.begin() as session:
            row = session.scalars(
                select(SlackInstallation).filter_by(enterprise_id=enterprise, team_id=team).with_for_update()
            ).first()
            if row is None:
                row = SlackInstallation(enterprise_id=enterprise, team_id=team, version=0)
                session.add(row)
                session.flush()
            self._fill(row, bot)

    def _fill(self, row: SlackInstallation, bot: Bot) -> None:
        row.is_enterprise_install = bool(bot.is_enterprise_install)
        row.team_name = (bot.team_name or bot.enterprise_name or "")[:200]
        row.app_id, row.bot_id, row.bot_user_id = bot.app_id or "", bot.bot_id or "", bot.bot_user_id or ""
        row.bot_scopes = ",".join(bot.bot_scopes or [])
        installer = (bot.custom_values or {}).get("installer_user_id")
        row.installer_user_id = installer or row.installer_user_id or ""
        row.installed_at = _moment(bot.installed_at) or self.clock()
        row.token_binding = WORKSPACE_BOUND
        bot_token = self.key_ring.encrypt(Secret(bot.bot_token), token_aad(row, "bot"))
        row.encrypted_bot_token, row.bot_token_key_id = bot_token.blob, bot_token.key_id
        if bot.bot_refresh_token:
            refresh = self.key_ring.encrypt(Secret(bot.bot_refresh_token), token_aad(row, "refresh"))
            row.encrypted_refresh_token, row.refresh_token_key_id = refresh.blob, refresh.key_id
        else:
            row.encrypted_refresh_token = row.refresh_token_key_id = None
        row.bot_token_expires_at = _moment(bot.bot_token_expires_at)
        row.version = (row.version or 0) + 1
        row.refresh_claimed_at = None

    # -- finding --------------------------------------------------------------------------------------

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return None  # bot-only: Bolt asks find_bot

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        """The workspace's bot with its tokens unsealed, refreshed first when it is within its refresh window; None
        when its tokens do not decrypt as this workspace's (reported and audited once per row version)."""
        row = self._row(enterprise_id, team_id, is_enterprise_install)
        if row is None or row.encrypted_bot_token is None or (row.id, row.version) in self._reported:
            return None  # a reinstall bumps the version: its new tokens are tried again
        try:
            return self._unsealed_bot(row)
        except VaultError as error:
            if not self.report:
                raise
            self._reported.add((row.id, row.version))
            report_undecryptable(self.sessions, row, error)
            return None

    def _unsealed_bot(self, found: SlackInstallation) -> Bot | None:
        row: SlackInstallation | None = found
        if found.token_binding == LEGACY:  # written by an instance of the previous version: re-sealed now, once
            reseal_legacy(self.sessions, self.key_ring, found.id)
            row = self._row(found.enterprise_id, found.team_id, found.is_enterprise_install)
        if row is None or row.encrypted_bot_token is None:
            return None
        if self._expiring(row) and self.rotator is not None and row.encrypted_refresh_token is not None:
            row = self._refreshed(row)
            if row is None:
                return None
        return self._bot(row)

    def _row(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> SlackInstallation | None:
        enterprise, team = _scope(enterprise_id, team_id, is_enterprise_install)
        with self.sessions() as session:
            row = session.scalars(select(SlackInstallation).filter_by(enterprise_id=enterprise, team_id=team)).first()
            if row is None and enterprise and team:  # a workspace of an org installed org-wide
                row = session.scalars(
                    select(SlackInstallation).filter_by(
                        enterprise_id=enterprise, team_id="", is_enterprise_install=True
                    )
                ).first()
            return row

    def _bot(self, row: SlackInstallation) -> Bot:
        refresh = None
        if row.encrypted_refresh_token is not None:
            refresh = self._unseal(row, "refresh", row.encrypted_refresh_token, row.refresh_token_key_id)
        return Bot(
            app_id=row.app_id or None,
            enterprise_id=row.enterprise_id or None,
            team_id=row.team_id or None,
            team_name=row.team_name or None,
            bot_token=self._unseal(row, "bot", row.encrypted_bot_token, row.bot_token_key_id),
            bot_id=row.bot_id,
            bot_user_id=row.bot_user_id,
            bot_scopes=row.bot_scopes,
            bot_refresh_token=refresh,
            bot_token_expires_at=row.bot_token_expires_at,
            is_enterprise_install=row.is_enterprise_install,
            installed_at=row.installed_at,
            custom_values={"installer_user_id": row.installer_user_id},
        )

    def _unseal(self, row: SlackInstallation, purpose: str, blob: bytes | None, key_id: str | None) -> str:
        return self.key_ring.decrypt(Sealed(key_id or "", blob or b""), token_aad(row, purpose)).reveal()

    # -- refreshing -----------------------------------------------------------------------------------

    def _expiring(self, row: SlackInstallation) -> bool:
        expires = _aware(row.bot_token_expires_at)
        return expires is not None and expires - self.clock() <= self.refresh_window

    def _refreshed(self, row: SlackInstallation) -> SlackInstallation | None:
        """Refresh under a claim: the instance that sets the row's claim calls Slack; the others wait for its save.

        The claim is a timestamp, not a version bump: an instance that reads the row after another's claim but
        before its save sees the claim and waits, instead of claiming again and spending the same refresh
        token a second time (Slack's refresh tokens are single-use). A claim older than the lease is free again
        (its holder died)."""
        now = self.clock()
        with self.sessions.begin() as session:
            claimed = (
                cast(  # an UPDATE's result is a CursorResult (Session.execute is typed as the general Result)
                    CursorResult[Any],
                    session.execute(
                        update(SlackInstallation)
                        .where(
                            SlackInstallation.id == row.id,
                            SlackInstallation.version == row.version,
                            or_(
                                SlackInstallation.refresh_claimed_at.is_(None),
                                SlackInstallation.refresh_claimed_at < now - REFRESH_CLAIM_LEASE,
                            ),
                        )
                        .values(refresh_claimed_at=now)
                    ),
                ).rowcount
                == 1
            )
        if not claimed:
            return self._newer_than(row)
        try:
            bot = self._bot(row)
            assert self.rotator is not None
            refreshed = self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=int(self.refresh_window.total_seconds() // 60)
            )
            if refreshed is not None:
                self.save_bot(refreshed)  # clears the claim
                log.info("refreshed the bot token of %s", row.team_id or row.enterprise_id)
        finally:
            with self.sessions.begin() as session:  # after a failure, the next request may try again
                session.execute(
                    update(SlackInstallation)
                    .where(SlackInstallation.id == row.id, SlackInstallation.refresh_claimed_at == now)
                    .values(refresh_claimed_at=None)
                )
        return self._row(row.enterprise_id, row.team_id, row.is_enterprise_install)

    def _newer_than(self, row: SlackInstallation) -> SlackInstallation | None:
        log.info("waiting for another instance's refresh of the bot token of %s", row.team_id or row.enterprise_id)
        deadline = time.monotonic() + REFRESH_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            latest = self._row(row.enterprise_id, row.team_id, row.is_enterprise_install)
            if latest is None or latest.encrypted_bot_token is None:
                return None
            if not self._expiring(latest) or latest.version > row.version:
                return latest
        return None

    # -- deleting -------------------------------------------------------------------------------------

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's tokens at once (uninstall, revocation); the row's facts stay for the list."""
        with self.sessions.begin() as session:
            session.execute(
                update(SlackInstallation)
                .where(*_matching(enterprise_id, team_id))
                .values(
                    encrypted_bot_token=None,
                    bot_token_key_id=None,
                    encrypted_refresh_token=None,
                    refresh_token_key_id=None,
                    bot_token_expires_at=None,
                    version=SlackInstallation.version + 1,
                )
            )

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def remove(self, *, enterprise_id: str, team_id: str) -> int:
        """Delete installation rows themselves (`installations remove`): an org's, or one team's whatever its
        org; how many there were."""
        conditions = _matching(enterprise_id, team_id) if enterprise_id else [SlackInstallation.team_id == team_id]
        with self.sessions.begin() as session:
            deleted = session.execute(delete(SlackInstallation).where(*conditions))
            return cast(CursorResult[Any], deleted).rowcount  # a DELETE's result is a CursorResult


def _scope(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> tuple[str, str]:
    """The row key: an org-wide install is the org's, whatever workspace the request came from."""
    enterprise = enterprise_id or ""
    return (enterprise, "") if is_enterprise_install and enterprise else (enterprise, team_id or "")


def _matching(enterprise_id: str | None, team_id: str | None) -> list:
    if not enterprise_id and not team_id:
        return [SlackInstallation.id.is_(None)]  # nothing named: nothing matches (never every workspace)
    conditions = [SlackInstallation.enterprise_id == (enterprise_id or "")]
    if team_id:
        conditions.append(SlackInstallation.team_id == team_id)
    return conditions


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _moment(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, int | float | str):  # seconds since the epoch, as Slack and slack-sdk give them
        return datetime.fromtimestamp(float(value), UTC)
    raise TypeError(f"not a moment: {type(value).__name__}")


def installation_facts(sessions: sessionmaker[Session]) -> list[dict]:
    """Every installation for `installations list`: who, when, scopes, token expiry; never a token."""
    with sessions() as session:
        rows = session.scalars(
            select(SlackInstallation).order_by(SlackInstallation.enterprise_id, SlackInstallation.team_id)
        ).all()
    return [
        {
            "enterprise_id": row.enterprise_id,
            "team_id": row.team_id,
            "team_name": row.team_name,
            "org_wide": row.is_enterprise_install,
            "installed_by": row.installer_user_id,
            "installed_at": _aware(row.installed_at),
            "scopes": row.bot_scopes.split(",") if row.bot_scopes else [],
            "token": "stored" if row.encrypted_bot_token is not None else "removed (uninstalled or revoked)",
            "token_expires_at": _aware(row.bot_token_expires_at),
        }
        for row in rows
    ]


def rewrap_installations(sessions: sessionmaker[Session], key_ring: KeyRing) -> int:
    """Re-seal every installation token under the primary key, bound to its workspace (`keys rotate`); how many
    rows changed. A row that does not decrypt stops it (:class:`VaultError`), before anything is written."""
    changed = 0
    with sessions.begin() as session:
        for row in session.scalars(select(SlackInstallation).with_for_update()).all():
            changed += reseal(row, key_ring, to_primary=True)
    return changed


__all__ = ["SealedInstallationStore", "installation_facts", "reseal_legacy", "rewrap_installations", "token_aad"]


def installation_key_usage(sessions: sessionmaker[Session]) -> dict[str, int]:
    """How many installation tokens each encryption key id protects."""
    usage: dict[str, int] = {}
    with sessions() as session:
        for bot_key, refresh_key in session.execute(
            select(SlackInstallation.bot_token_key_id, SlackInstallation.refresh_token_key_id)
        ).all():
            for key_id in (bot_key, refresh_key):
                if key_id:
                    usage[key_id] = usage.get(key_id, 0) + 1
    return usage
