"""The wizard's checks between stages: each stage's answer, and the final submission offline (before the ack)."""

from __future__ import annotations

from bot.credentials.errors import NameTaken
from bot.credentials.queries import CredentialQueries
from bot.credentials.types import Workspace
from bot.credentials.validation import check_api_key, validate_destination, validate_name
from bot.credentials.wizard_state import STAGES, WizardState, stage_of
from bot.infra.secret import Secret


class WizardChecks:
    def __init__(self, queries: CredentialQueries, *, verify_keys: bool = True) -> None:
        self.queries, self.verify_keys = queries, verify_keys

    def name_available(self, workspace: Workspace, raw_name: str | None) -> str:
        """Validate a name and check no credential in the workspace has it; returns the trimmed name."""
        name = validate_name(raw_name)
        holder = self.queries.name_holder(workspace, name)
        if holder is not None:
            raise NameTaken(name, holder)
        return name

    def answer(self, workspace: Workspace, field: str, value: str | None) -> str:
        """Check one carried stage's answer; returns the value to carry forward. Menus are checked against the
        catalog only; a name is also checked against the workspace's names."""
        checked = stage_of(field).checked(value)
        return self.name_available(workspace, checked) if field == "name" else checked

    @staticmethod
    def carried_answers(state: WizardState) -> None:
        """Every carried stage again, without the database: raises InvalidInput for the first bad one."""
        for stage in STAGES:
            if stage.carried:
                stage.checked(state.answer(stage.field))

    def key(self, destination: str, value: str | None, *, destination_fixed: bool = False) -> Secret:
        """The offline key check of the final stage (shape and environment)."""
        return check_api_key(
            value,
            validate_destination(destination),
            live_verification=self.verify_keys,
            destination_fixed=destination_fixed,
        )
