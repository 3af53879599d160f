"""The /create-credential modal: one view per stage, a stepper on each."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.credentials import catalog
from bot.credentials.validation import NAME_MAX
from bot.credentials.wizard_state import STAGES, WizardState
from bot.slack.ui.text import escape, literal, truncate

TITLE = "Create credential"
CALLBACK_PREFIX = "credential_wizard:"
VERIFYING_CALLBACK = "credential_wizard_verifying"
DONE_CALLBACK = "credential_wizard_done"
BACK_ACTION = "wizard_back"


def input_action(field: str) -> str:
    return f"{field}_input"


def _answer_label(state: WizardState, field: str) -> str:
    value = state.answer(field)
    if field == "entity_type":
        found = catalog.entity_type(value)
        return found.label if found else value
    if field == "destination":
        return catalog.destination_label(value)
    return value


def stepper(state: WizardState, *, current: int | None = None) -> list[Block]:
    """Stages done (checked, with their answers), the current one in focus, later ones greyed."""
    current = state.index if current is None else current
    lines = []
    for position, (field, title) in enumerate(STAGES[: current + 1]):
        if position < current:
            answer = literal(truncate(_answer_label(state, field), 60))
            lines.append(f":white_check_mark: Stage {position + 1}  {title}: {answer}")
        else:
            lines.append(f":arrow_right: *Stage {position + 1}  {title}*")
    blocks: list[Block] = [SectionBlock(block_id="stepper", text=MarkdownTextObject(text="\n".join(lines)))]
    later = [f"Stage {i + 1}  {title}" for i, (_, title) in enumerate(STAGES) if i > current]
    if later:
        blocks.append(ContextBlock(block_id="stepper_later", elements=[MarkdownTextObject(text="  ·  ".join(later))]))
    blocks.append(DividerBlock())
    return blocks


def _back_button() -> ActionsBlock:
    return ActionsBlock(block_id="wizard_nav", elements=[ButtonElement(text="Back", action_id=BACK_ACTION, value="back")])


def _options(pairs: list[tuple[str, str]]) -> list[Option]:
    return [Option(value=value, label=label) for value, label in pairs]


def _stage_blocks(state: WizardState, problem: str | None) -> list[Block]:
    field = state.stage
    blocks: list[Block] = []
    if problem:
        # Plain text: a problem may quote what was typed, and nothing in it should render as formatting.
        blocks.append(SectionBlock(block_id="problem", text=PlainTextObject(text=f"⚠️ {problem}")))
    if field == "name":
        blocks.append(InputBlock(
            block_id="name",
            label="Credential name",
            element=PlainTextInputElement(
                action_id=input_action("name"),
                initial_value=state.name or None,
                max_length=NAME_MAX,
                placeholder="e.g. Acme billing (sandbox)",
            ),
            hint="Unique in this workspace, up to 100 characters. Integrations refer to the credential by its ID.",
        ))
    elif field == "entity_type":
        options = _options([(e.value, e.label) for e in catalog.ENTITY_TYPES])
        chosen = next((o for o in options if o.value == (state.entity_type or catalog.ENTITY_TYPES[0].value)), None)
        blocks.append(InputBlock(
            block_id="entity_type",
            label="Entity type",
            element=StaticSelectElement(action_id=input_action("entity_type"), placeholder="Select an entity type",
                                        options=options, initial_option=chosen),
            hint="Only Bill is available for now.",
        ))
    elif field == "destination":
        options = _options([(d.value, d.label) for d in catalog.DESTINATIONS])
        chosen = next((o for o in options if o.value == state.destination), None)
        blocks.append(InputBlock(
            block_id="destination",
            label="Destination",
            element=StaticSelectElement(action_id=input_action("destination"), placeholder="Select a destination",
                                        options=options, initial_option=chosen),
            hint=" ".join(d.environment_help for d in catalog.DESTINATIONS),
        ))
    else:
        dest = catalog.destination(state.destination)
        where = dest.key_rules.where_to_get if dest else "the provider's dashboard"
        blocks.append(SectionBlock(block_id="panel", text=MarkdownTextObject(
            text=f"*{escape(catalog.destination_label(state.destination))} Connection*\n"
                 f"Paste an API key generated in {escape(where)}.")))
        blocks.append(InputBlock(
            block_id="api_key",
            label="API key",
            element=PlainTextInputElement(action_id=input_action("api_key"), placeholder="pdl_…", max_length=200),
            hint=f"Generate a key in {where}. Slack cannot hide what you type here: the key is encrypted as soon "
                 "as you submit and is never shown again.",
        ))
    if state.index > 0:
        blocks.append(_back_button())
    return blocks


def stage_view(state: WizardState, *, problem: str | None = None) -> View:
    """The modal for ``state.stage``, answers so far pre-filled; ``problem`` is shown above the input."""
    final = state.stage == STAGES[-1][0]
    return View(
        type="modal",
        callback_id=CALLBACK_PREFIX + state.stage,
        title=TITLE,
        submit="Create Credential" if final else "Next",
        close="Cancel",
        private_metadata=state.to_metadata(),
        blocks=stepper(state) + _stage_blocks(state, problem),
    )


def verifying_view(state: WizardState) -> View:
    return View(
        type="modal",
        callback_id=VERIFYING_CALLBACK,
        title=TITLE,
        close="Close",
        private_metadata=state.to_metadata(),
        blocks=stepper(state) + [SectionBlock(text=MarkdownTextObject(
            text=":hourglass_flowing_sand: *Verifying with Paddle…*\nChecking the key and saving the credential. "
                 "This takes a few seconds."))],
    )


def message_view(title: str, text: str) -> View:
    """A closing view for outcomes that are not tied to a stage (an apology, an expired form)."""
    return View(type="modal", callback_id=DONE_CALLBACK, title=truncate(title, 24), close="Close",
                blocks=[SectionBlock(text=MarkdownTextObject(text=text))])

