"""Rotation of a credential's key through its provider: a new secret for the same key, stored under the same id.

One rotation per credential at a time, across instances: a compare-and-set claim in ``workspace_jobs``
(bot.credentials.job_claims), job ``credential.rotate``, leased for longer than the two provider calls can take,
so a second click (or the CLI, or another instance) while one runs is refused instead of starting another. Under
the claim: the row is read again, its key decrypted just in time, the provider asked (authenticated with that
key); only a new key the provider issued for the same record is stored, encrypted under the same credential id,
with its audit event in one transaction (CredentialService._change, as Replace stores), and the old ciphertext
left to the Residue port to scrub from the database's files. The new key is then verified once, which is its first
use: Paddle activates it then, and the old secret works for the grace period after that. Whatever the provider
refuses, or when it does not answer, the stored key is unchanged (Paddle keeps the old secret working while a
rotation's new secret has never been used). Decisions: docs/decisions/paddle-rotation.md.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.credentials import catalog
from bot.credentials.errors import (
    CredentialError,
    CredentialGone,
    InvalidInput,
    KeyRejected,
    ProviderUnavailable,
    RotationUnderWay,
)
from bot.credentials.job_claims import JobClaims
from bot.credentials.key_records import RECORD_COLUMNS
from bot.credentials.models import Credential
from bot.credentials.queries import in_workspace
from bot.credentials.service import CredentialService, _verification_values, check_message, row_binding
from bot.credentials.types import CredentialSummary, KeyCheck, Outcome, Verification, Workspace
from bot.credentials.validation import validate_destination
from bot.infra.secret import Secret

DEFAULT_GRACE_SECONDS = 300  # what AWS Secrets Manager's Paddle rotation uses too
GRACE_MOST = 86400  # Paddle's range: 0–86400
JOB = "credential.rotate"
# Longer than a rotation can take: the provider's call and the verification, each bounded by its timeout.
ROTATION_LEASE = timedelta(minutes=2)
ACTION = "credential.rotate"


def grace_seconds(raw: object) -> int:
    """The grace period a person or a command gave, in Paddle's range (InvalidInput "grace_period" otherwise)."""
    text = str(raw).strip() if raw is not None and not isinstance(raw, int) else ""
    digits = text.isascii() and text.isdigit() and len(text) <= 7  # never int() of a huge string
    if isinstance(raw, bool) or not (isinstance(raw, int) or digits):
        raise InvalidInput("grace_period", f"The grace period is a whole number of seconds from 0 to {GRACE_MOST}.")
    value = int(text) if not isinstance(raw, int) else raw
    if not 0 <= value <= GRACE_MOST:
        raise InvalidInput("grace_period", f"The grace period is a whole number of seconds from 0 to {GRACE_MOST}.")
    return value


def claim_scope(credential_id: str) -> str:
    """The claim's scope id (32 characters at most): the credential's UUID without its dashes."""
    return credential_id.replace("-", "")[:32]


def rotate_key(
    service: CredentialService,
    workspace: Workspace | None,
    actor: str,
    raw_id: object,
    grace: object = DEFAULT_GRACE_SECONDS,
) -> tuple[CredentialSummary, str]:
    """Rotate the key of the credential (of ``workspace``; any workspace when None: the CLI) with its provider and
    store the new one; returns the credential as it is now and what the verification of the new key said.
    Raises KeyRejected / ProviderUnavailable (the provider's refusal, its message saying what to do),
    RotationUnderWay, InvalidInput (the grace period), CredentialGone; in each case the stored key is unchanged."""
    seconds = grace_seconds(grace)
    row = service.queries.row(raw_id, workspace)
    here = Workspace(row.enterprise_id, row.team_id)
    dest = validate_destination(row.destination)
    if not row.key_record_id:
        service.audit.record(here, actor, ACTION, "refused", row.id, "the key shows no record id")
        raise KeyRejected(
            "This key is of an older kind without an id, so it cannot be rotated: use Replace API key.", "no_key_id"
        )
    claims = JobClaims(service.sessions, service.clock, ROTATION_LEASE)
    holder = claims.claim(JOB, claim_scope(row.id))
    if holder is None:
        service.audit.record(here, actor, ACTION, "refused", row.id, "a rotation is under way")
        raise RotationUnderWay()
    try:
        return _rotate_claimed(service, here, actor, row.id, dest, seconds)
    finally:
        claims.release(JOB, claim_scope(row.id), holder)


def _rotate_claimed(
    service: CredentialService, here: Workspace, actor: str, credential_id: str, dest: catalog.Destination, grace: int
) -> tuple[CredentialSummary, str]:
    row = service.queries.row(credential_id, here)  # as it is now that we hold the claim
    old = service._open(row, actor, ACTION)
    with service.observer.holding(old):
        rotation = service.rotator.rotate(dest.value, old, row.key_record_id or "", grace)
    if not rotation.accepted or rotation.new_key is None:
        service.observer.key_check_failed(rotation.reason)
        outcome = rotation.outcome.value if rotation.outcome is not Outcome.ACCEPTED else Outcome.UNAVAILABLE.value
        service.audit.record(here, actor, ACTION, outcome, row.id, f"{dest.value}: {rotation.reason}")
        error = KeyRejected if rotation.outcome is Outcome.REJECTED else ProviderUnavailable
        raise error(rotation.message, rotation.reason)
    new_key = rotation.new_key
    with service.observer.holding(new_key):
        _store(service, here, actor, row, new_key, grace)
        service.residue.left("credentials")  # the old ciphertext, in the row's previous version
        message = _verify_once(service, here, actor, row.id, dest, new_key)
    return service.queries.get(here, row.id), message


def _store(
    service: CredentialService, here: Workspace, actor: str, row: Credential, new_key: Secret, grace: int
) -> None:
    """The new key under the same id, only over the ciphertext this rotation started from (a Replace that landed
    meanwhile is kept: the rotated key is then not stored, and Paddle keeps its unused secret pending)."""
    sealed = service.key_ring.encrypt(new_key, row_binding(row))
    try:
        service._change(
            here,
            actor,
            row.id,
            (ACTION, "rotated", f"key ending {new_key.hint()}, grace period {grace} s"),
            update(Credential)
            .where(Credential.encrypted_key == row.encrypted_key)
            .values(
                encrypted_key=sealed.blob,
                encryption_key_id=sealed.key_id,
                key_hint=new_key.hint(),
                key_replaced_at=service.clock(),
                key_status_at=None,  # the new secret has had no notification yet
                key_exposed_at=None,  # an exposure was of the old secret
            ),
        )
    except CredentialGone:
        service.queries.row(row.id, here)  # CredentialGone again when it was deleted meanwhile
        service.audit.record(here, actor, ACTION, "failed", row.id, "the key was changed meanwhile")
        raise CredentialError(
            "The key was changed while Paddle rotated it. The change made meanwhile is kept and the rotated key was "
            "not stored; rotate again if you still want to."
        ) from None


def _verify_once(
    service: CredentialService,
    here: Workspace,
    actor: str,
    credential_id: str,
    dest: catalog.Destination,
    new_key: Secret,
) -> str:
    """The new key's first use (which activates it at Paddle), stored as its verification; the key is stored
    whatever the answer."""
    if not service.verify_keys:
        return "Key checks are off here, so the new key was not verified."
    check: KeyCheck = service.verification.check(here, actor, dest, new_key, credential_id)
    verification = Verification(service.clock(), check.outcome, check.reason)
    values = _verification_values(verification, check.record)
    if check.record is None:  # keep what we knew of the key's record when the provider did not say
        values = {k: v for k, v in values.items() if k not in RECORD_COLUMNS}
    with service.sessions.begin() as session:
        session.execute(update(Credential).where(*in_workspace(here), Credential.id == credential_id).values(values))
        service.audit.append(session, here, actor, "credential.test", verification.label, credential_id)
    return check_message(check, dest.provider_label)
