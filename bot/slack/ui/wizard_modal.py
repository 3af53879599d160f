"""The /create-credential modal: one view per stage, a stepper on each."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.credentials import catalog, vocabulary
from bot.credentials.wizard_state import STAGES, Stage, WizardState
from bot.slack.ui.blocks import button, context, mrkdwn, plain, problem_blocks, section
from bot.slack.ui.text import escape, literal, truncate

TITLE = vocabulary.CREATE
APOLOGY_TITLE = "Something went wrong"  # an unexpected error's view
CALLBACK_PREFIX = "credential_wizard:"
VERIFYING_CALLBACK = "credential_wizard_verifying"
DONE_CALLBACK = "credential_wizard_done"
BACK_ACTION = "wizard_back"


def input_action(field: str) -> str:
    return f"{field}_input"


def _answer_label(state: WizardState, stage: Stage) -> str:
    value = state.answer(stage.field)
    found = stage.choice(value)
    return found.label if found else value


# The stage and "Verifying" views are built as plain Block Kit dicts, not slack_sdk.models: they are an ack's
# answer on four of the wizard's steps, and the models' validation (to_dict() checks every object against
# Slack's limits on each call) was about a sixth of those acks' time. Everything in them is bounded by
# construction (fixed texts, answers truncated or already validated, the problem line cut at PROBLEM_MAX);
# tests/unit parses each stage's view back into the models to hold it to Slack's limits. message_view, used
# for rarer outcomes that carry longer text, keeps the models.


def _shown(text: str) -> dict:
    """The wizard's plain text, with Slack's emoji codes rendered."""
    return plain(text, emoji=True)


OPTION_DESCRIPTION_MAX = 75  # Slack's limit for an option's description


def _option(value: str, label: str, description: str | None = None) -> dict:
    option = {"text": _shown(label), "value": value}
    if description:
        option["description"] = _shown(truncate(description, OPTION_DESCRIPTION_MAX))
    return option


def stepper(state: WizardState, *, current: int | None = None) -> list[dict]:
    """Stages done (checked, with their answers), the current one in focus, later ones greyed."""
    current = state.index if current is None else current
    lines = []
    for position, stage in enumerate(STAGES[: current + 1]):
        if position < current:
            answer = literal(truncate(_answer_label(state, stage), 60))
            lines.append(f":white_check_mark: Stage {position + 1}  {stage.title}: {answer}")
        else:
            lines.append(f":arrow_right: *Stage {position + 1}  {stage.title}*")
    blocks = [section("stepper", "\n".join(lines))]
    later = [f"Stage {i + 1}  {stage.title}" for i, stage in enumerate(STAGES) if i > current]
    if later:
        blocks.append(context("stepper_later", "  ·  ".join(later)))
    blocks.append({"type": "divider"})
    return blocks


def _back_button() -> dict:
    return {"type": "actions", "block_id": "wizard_nav", "elements": [button("Back", BACK_ACTION, "back", emoji=True)]}


def _input(block_id: str, label: str, element: dict, hint: str) -> dict:
    return {"type": "input", "block_id": block_id, "label": _shown(label), "element": element, "hint": _shown(hint)}


def _select(field: str, placeholder: str, choices: tuple, chosen: str | None) -> dict:
    """A menu of catalog entries (entity types or destinations): each its label, with its description under it."""
    options = [_option(c.value, c.label, c.description) for c in choices]
    element = {
        "type": "static_select",
        "action_id": input_action(field),
        "placeholder": _shown(placeholder),
        "options": options,
    }
    initial = next((option for option in options if option["value"] == chosen), None)
    if initial:
        element["initial_option"] = initial
    return element


def _text_input(field: str, placeholder: str, max_length: int, initial: str | None = None) -> dict:
    element = {
        "type": "plain_text_input",
        "action_id": input_action(field),
        "placeholder": _shown(placeholder),
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    return element


def _described(choices: tuple) -> str:
    """The hint under a menu: every choice and what it is (the chosen one shows only its label)."""
    return " ".join(f"{c.label}: {c.description}." for c in choices)


def _stage_blocks(state: WizardState, problem: str | None, problem_code: str) -> list[dict]:
    stage = STAGES[state.index]
    blocks: list[dict] = problem_blocks(problem, problem_code) if problem else []
    if stage.choices is not None:
        choices = tuple(stage.choices())
        chosen = state.answer(stage.field) or (choices[0].value if stage.preselect_first and choices else "")
        element = _select(stage.field, stage.placeholder, choices, chosen)
        blocks.append(_input(stage.field, stage.label, element, _described(choices)))
    elif stage.carried:
        element = _text_input(stage.field, stage.placeholder, stage.max_length, state.answer(stage.field))
        blocks.append(_input(stage.field, stage.label, element, stage.hint))
    else:
        blocks += _key_blocks(state, stage)
    if state.index > 0:
        blocks.append(_back_button())
    return blocks


def _key_blocks(state: WizardState, stage: Stage) -> list[dict]:
    """The key stage: where the destination's keys come from, and the input (its placeholder the key prefix)."""
    dest = catalog.destination(state.destination)
    where = dest.key_rules.where_to_get if dest else "the provider's dashboard"
    placeholder = f"{dest.key_rules.prefix}…" if dest and dest.key_rules.prefix else "…"
    return [
        section(
            "panel",
            f"*{escape(catalog.destination_label(state.destination))} Connection*\n"
            f"Paste an API key generated in {escape(where)}.",
        ),
        _input(
            stage.field,
            stage.label,
            _text_input(stage.field, placeholder, stage.max_length),
            f"Generate a key in {where}. Slack cannot hide what you type here: the key is encrypted "
            "as soon as you submit and is never shown again.",
        ),
    ]


def stage_view(state: WizardState, *, problem: str | None = None, problem_code: str = "") -> dict:
    """The modal for ``state.stage``, answers so far pre-filled; ``problem`` is shown above the input, with the
    provider's ``problem_code`` beneath it for support."""
    final = state.stage == STAGES[-1].field
    return {
        "type": "modal",
        "callback_id": CALLBACK_PREFIX + state.stage,
        "title": _shown(TITLE),
        "submit": _shown(vocabulary.CREATE if final else "Next"),
        "close": _shown("Cancel"),
        "private_metadata": state.to_metadata(),
        "blocks": stepper(state) + _stage_blocks(state, problem, problem_code),
    }


def verifying_view(state: WizardState) -> dict:
    return {
        "type": "modal",
        "callback_id": VERIFYING_CALLBACK,
        "title": _shown(TITLE),
        "close": _shown("Close"),
        "private_metadata": state.to_metadata(),
        "blocks": stepper(state)
        + [
            {
                "type": "section",
                "text": mrkdwn(
                    f":hourglass_flowing_sand: *Verifying with {escape(catalog.provider_label(state.destination))}…*\n"
                    "Checking the key and saving the credential. This takes a few seconds."
                ),
            }
        ],
    }


def message_view(title: str, text: str) -> View:
    """A closing view for outcomes that are not tied to a stage (an apology, an expired form)."""
    return View(
        type="modal",
        callback_id=DONE_CALLBACK,
        title=truncate(title, 24),
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )
