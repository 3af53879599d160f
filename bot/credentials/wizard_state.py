"""The wizard's stages and the state carried between them.

The state travels in the modal's ``private_metadata``, which comes back
through the user's client: it is parsed as untrusted input and never holds
the API key. Nothing a later step needs lives in this process's memory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from bot.credentials import catalog
from bot.credentials.errors import WizardStateInvalid
from bot.credentials.validation import NAME_MAX

STAGES: tuple[tuple[str, str], ...] = (
    ("name", "Name the credential"),
    ("entity_type", "Select entity type"),
    ("destination", "Select destination"),
    ("api_key", "Authenticate"),
)
STAGE_FIELDS = tuple(field for field, _ in STAGES)
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
        return getattr(self, field, "") if field != "api_key" else ""

    def with_answer(self, field: str, value: str) -> WizardState:
        return replace(self, **{field: value}) if field != "api_key" else self

    def at(self, stage: str) -> WizardState:
        return replace(self, stage=stage)

    def next_stage(self) -> str:
        return STAGE_FIELDS[min(self.index + 1, len(STAGE_FIELDS) - 1)]

    def previous_stage(self) -> str:
        return STAGE_FIELDS[max(self.index - 1, 0)]

    def to_metadata(self) -> str:
        return json.dumps({"v": METADATA_VERSION, **asdict(self)}, separators=(",", ":"), ensure_ascii=False)

    def validated(self) -> WizardState:
        """Self, if every field is one the wizard could have produced; else :class:`WizardStateInvalid`."""
        if (
            self.stage not in STAGE_FIELDS
            or len(self.name) > NAME_MAX * 4
            or (self.entity_type and catalog.entity_type(self.entity_type) is None)
            or (self.destination and catalog.destination(self.destination) is None)
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
        fields = {k: data.get(k, "") for k in ("stage", "name", "entity_type", "destination")}
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
