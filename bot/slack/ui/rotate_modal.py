"""Rotate with Paddle: the confirmation (grace period, what happens), "Rotating…", and the outcome. Pure builders.

The new key is never in any of them: only its last characters, as everywhere else (docs/decisions/paddle-rotation.md).
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.credentials import catalog
from bot.credentials.types import CredentialSummary
from bot.slack.ui.blocks import problem_blocks
from bot.slack.ui.home_tab import info_view, key_ending, metadata, on_destination
from bot.slack.ui.text import escape, literal

ROTATE_TITLE = "Rotate API key"  # Slack allows 24 characters in a modal's title
ROTATE_CALLBACK = "credential_rotate"
ROTATING_CALLBACK = "credential_rotate_rotating"
REPLACE_INSTEAD_ACTION = "credential_rotate_replace_instead"
DEFAULT_GRACE = "300"


def rotate_view(
    item: CredentialSummary, problem: str | None = None, problem_code: str = "", grace: str | None = None
) -> View:
    """The confirmation: what rotating does, the grace period (seconds, 0–86400), and Replace for a pasted key."""
    provider = catalog.provider_label(item.destination)
    blocks: list[Block] = [
        SectionBlock(
            block_id="which",
            text=MarkdownTextObject(
                text=f"Rotate the API key of {on_destination(item)} (now ending {key_ending(item)}).\n"
                f"{provider} issues a new secret for the same key (same id and permissions there) and Credbot "
                "stores it encrypted under the same credential ID, so integrations keep working. The new key is "
                "never shown to anyone. Credbot then uses it once to verify it, which activates it; the old secret "
                "keeps working for the grace period after that, then stops."
            ),
        )
    ]
    if problem:
        blocks.extend(Block.parse_all(problem_blocks(problem, problem_code)))
    blocks += [
        InputBlock(
            block_id="grace_period",
            label="Grace period (seconds)",
            hint="How long the old secret keeps working after the new one is first used: 0 to 86400 (a day). "
            "Integrations that read the key less often than this may briefly fail.",
            element=PlainTextInputElement(
                action_id="grace_period_input", initial_value=grace or DEFAULT_GRACE, max_length=5
            ),
        ),
        ActionsBlock(
            block_id="instead",
            elements=[ButtonElement(text="Paste a new key instead", action_id=REPLACE_INSTEAD_ACTION, value=item.id)],
        ),
    ]
    return View(
        type="modal",
        callback_id=ROTATE_CALLBACK,
        title=ROTATE_TITLE,
        submit="Rotate key",
        close="Cancel",
        private_metadata=metadata(item.id),
        blocks=blocks,
    )


def rotating_view(item: CredentialSummary) -> View:
    provider = escape(catalog.provider_label(item.destination))
    return View(
        type="modal",
        callback_id=ROTATING_CALLBACK,
        title=ROTATE_TITLE,
        close="Close",
        private_metadata=metadata(item.id),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f":hourglass_flowing_sand: *Rotating the key of {literal(item.name)} with {provider}…*"
                )
            )
        ],
    )


def rotated_view(item: CredentialSummary, checked: str, grace: int) -> View:
    """The outcome: rotated (the new key's ending, never the key), and what its verification said."""
    view = info_view(
        ROTATE_TITLE,
        f":white_check_mark: The key of {literal(item.name)} was rotated (now ending {key_ending(item)}). "
        f"Integrations using its ID get the new key; the old secret keeps working for {grace} s after the new "
        "one's first use (Credbot's check of it).",
    )
    view.blocks.append(ContextBlock(block_id="verified", elements=[MarkdownTextObject(text=escape(checked))]))
    return view
