"""Asking the provider about a key, for the service: one check, counted and audited when it fails, and the rule
that a key is stored only once the provider accepted it (or checks are off)."""

from __future__ import annotations

from bot.credentials import catalog
from bot.credentials.audit import AuditLog
from bot.credentials.errors import KeyRejected, ProviderUnavailable
from bot.credentials.ports import Clock, KeyVerifier, Observer
from bot.credentials.types import KeyCheck, KeyRecord, Outcome, Verification, Workspace
from bot.infra.secret import Secret


class KeyVerification:
    def __init__(
        self, verifier: KeyVerifier, audit: AuditLog, observer: Observer, clock: Clock, *, verify_keys: bool
    ) -> None:
        self.verifier, self.audit, self.observer, self.clock = verifier, audit, observer, clock
        self.verify_keys = verify_keys

    def check(
        self, workspace: Workspace, actor: str, dest: catalog.Destination, api_key: Secret, credential_id: str | None
    ) -> KeyCheck:
        """One provider check; a failure is counted and audited."""
        check = self.verifier.check(dest.value, api_key, catalog.key_record_id(dest, api_key.reveal()))
        if not check.accepted:
            self.observer.key_check_failed(check.reason)
            detail = f"{dest.value}: {check.reason}"
            self.audit.record(workspace, actor, "credential.verify", check.outcome.value, credential_id, detail)
        return check

    def verified(
        self,
        workspace: Workspace,
        actor: str,
        dest: catalog.Destination,
        api_key: Secret,
        credential_id: str | None = None,
    ) -> tuple[Verification, KeyRecord | None]:
        """Verification before a key is stored: raises unless the provider accepted it (or checks are off)."""
        if not self.verify_keys:
            return Verification(), None
        check = self.check(workspace, actor, dest, api_key, credential_id)
        if check.outcome is Outcome.REJECTED:
            raise KeyRejected(check.message, check.reason)
        if check.outcome is Outcome.UNAVAILABLE:
            raise ProviderUnavailable(check.message, check.reason)
        return Verification(self.clock(), check.outcome, check.reason), check.record
