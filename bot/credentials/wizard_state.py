"""The wizard's stages and the state carried between them.

The state travels in the modal's ``private_metadata``, which comes back
through the user's client: it is parsed as untrusted input and never holds
the API key. Nothing a later step needs lives in this process's memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from bot.credentials import catalog
from bot.credentials.errors import WizardStateInvalid
from bot.credentials.errors import InvalidInput
from bot.credentials.key_shapes import key_shaped
from bot.credentials.validation import KEY_MAX, NAME_MAX, validate_name


class Choice(Protocol):
    """A catalog entry a menu offers: entity types and destinations."""

    @property
    def value(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def description(self) -> str: ...


@dataclass(frozen=True)
class Stage:
    """One stage of the wizard: the one table the state, the modal, the checks and the submission read.

    ``field`` is the answer's name everywhere: the state's attribute, the input's block id, the callback id's
    tail and the service's argument. A stage with ``choices`` is a menu of catalog entries (read at each use);
    one without is typed text. The key stage is not ``carried``: the key never travels in the metadata."""

    field: str
    title: str  # in the stepper
    label: str  # the input's label
    placeholder: str
    hint: str = ""  # under a text input (a menu's hint describes its choices)
    choices: Callable[[], Sequence[Choice]] | None = None
    check: Callable[[str | None], str] | None = None  # a text answer's offline check: the value to carry
    preselect_first: bool = False  # a menu that starts on its first choice
    max_length: int = NAME_MAX
    carried: bool = True

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices() if c.value == value), None) if self.choices else None

    def checked(self, value: str | None) -> str:
        """This stage's answer checked offline (a menu's against the catalog): the value to carry forward."""
        if self.choices is not None:
            chosen = self.choice(value or "")
            if chosen is None:
                raise InvalidInput(self.field, f"{self.placeholder}.")
            return chosen.value
        if self.check is None:
            raise InvalidInput(self.field, "The key is checked with the final submission, not as a stage answer.")
        return self.check(value)


STAGES: tuple[Stage, ...] = (
    Stage(
        "name",
        "Name the credential",
        "Credential name",
        "e.g. Acme billing",
        "Unique in this workspace, up to 100 characters. Integrations refer to the credential by its ID.",
        check=validate_name,
    ),
    Stage(
        "entity_type",
        "Select entity type",
        "Entity type",
        "Select an entity type",
        choices=lambda: catalog.ENTITY_TYPES,
        preselect_first=True,
    ),
    Stage(
        "destination", "Select destination", "Destination", "Select a destination", choices=lambda: catalog.DESTINATIONS
    ),
    Stage("api_key", "Authenticate", "API key", "", max_length=KEY_MAX, carried=False),
)
STAGE_FIELDS = tuple(stage.field for stage in STAGES)
CARRIED = tuple(stage.field for stage in STAGES if stage.carried)  # what private_metadata holds, in order
KEY_STAGE = next(stage.field for stage in STAGES if not stage.carried)  # the final submission's input
METADATA_VERSION = 1
METADATA_MAX = 3000  # Slack's private_metadata limit


@dataclass(frozen=True)
class WizardState:
    stage: str = "name"
    name: str = ""
    entity_type: str = ""
    destination: str = ""

    @property
    def index(self) -> int:
        return STAGE_FIELDS.index(self.stage)

    def answer(self, field: str) -> str:
        return getattr(self, field, "") if field in CARRIED else ""

    def answers(self) -> dict[str, str]:
        """Every carried answer by field: the service's arguments for a new credential."""
        return {field: getattr(self, field) for field in CARRIED}

    def with_answer(self, field: str, value: str) -> WizardState:
        return replace(self, **{field: value}) if field in CARRIED else self

    def at(self, stage: str) -> WizardState:
        return replace(self, stage=stage)

    def next_stage(self) -> str:
        return STAGE_FIELDS[min(self.index + 1, len(STAGE_FIELDS) - 1)]

    def previous_stage(self) -> str:
        return STAGE_FIELDS[max(self.index - 1, 0)]

    def to_metadata(self) -> str:
        return json.dumps({"v": METADATA_VERSION, **asdict(self)}, separators=(",", ":"), ensure_ascii=False)

    def validated(self) -> WizardState:
        """Self, if every field is one the wizard could have produced; else :class:`WizardStateInvalid`. A name
        shaped like a key is never one (stage 1 refuses it): such a state is not drawn again, nor carried on."""
        if (
            self.stage not in STAGE_FIELDS
            or len(self.name) > NAME_MAX * 4
            or key_shaped(self.name)
            or any(
                stage.choices and self.answer(stage.field) and stage.choice(self.answer(stage.field)) is None
                for stage in STAGES
            )
        ):
            raise _start_again("This form's saved progress is damaged.")
        return self

    @classmethod
    def from_metadata(cls, raw: str | None) -> WizardState:
        """Parse carried state; raises :class:`WizardStateInvalid` on anything unexpected."""
        if not raw or len(raw) > METADATA_MAX:
            raise _start_again("This form's saved progress is missing.")
        try:
            data = json.loads(raw)
        except ValueError:
            raise _start_again("This form's saved progress is damaged.") from None
        if not isinstance(data, dict) or data.get("v") != METADATA_VERSION:
            raise _start_again("This form is from another version of the bot.")
        fields = {k: data.get(k, "") for k in ("stage", *CARRIED)}
        if not all(isinstance(v, str) for v in fields.values()):
            raise _start_again("This form's saved progress is damaged.")
        return cls(**fields).validated()


def _start_again(problem: str) -> WizardStateInvalid:
    return WizardStateInvalid(f"{problem} Close it and start again with /create-credential.")


def stage_named(stage: str) -> str:
    """A stage name that came back through the client (a callback id), checked."""
    if stage not in STAGE_FIELDS:
        raise _start_again("This form is no longer valid.")
    return stage


def stage_of(field: str) -> Stage:
    """The stage of a field name that came back through the client, checked."""
    return STAGES[STAGE_FIELDS.index(stage_named(field))]
