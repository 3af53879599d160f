"""The wizard's checks between stages: each stage's answer, and the final submission offline (before the ack)."""

from __future__ import annotations

from bot.credentials.errors import InvalidInput, NameTaken
from bot.credentials.queries import CredentialQueries
from bot.credentials.types import Workspace
from bot.credentials.validation import check_api_key, validate_destination, validate_entity_type, validate_name
from bot.credentials.wizard_state import WizardState, stage_named
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
        """Check one stage's answer (stages 1-3); returns the value to carry forward. Stages 2 and 3 are
        checked against the catalog only: no database."""
        if field == "name":
            return self.name_available(workspace, value)
        if field == "entity_type":
            return validate_entity_type(value).value
        if field == "destination":
            return validate_destination(value).value
        raise InvalidInput(stage_named(field), "The key is checked with the final submission, not as a stage answer.")

    @staticmethod
    def carried_answers(state: WizardState) -> None:
        """Stages 1-3 again, without the database: raises InvalidInput for the first bad one."""
        validate_name(state.name)
        validate_entity_type(state.entity_type)
        validate_destination(state.destination)

    def key(self, destination: str, value: str | None, *, destination_fixed: bool = False) -> Secret:
        """The offline key check of the final stage (shape and environment)."""
        return check_api_key(
            value,
            validate_destination(destination),
            live_verification=self.verify_keys,
            destination_fixed=destination_fixed,
        )
