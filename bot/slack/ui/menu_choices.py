"""A credential's ⋯ menu in the Credentials tab: its choices and their values. Pure builders, no I/O.

Slack's overflow menu holds at most 5 options, and all 5 are used; so the key's slot says what can be done with
the key: "Rotate with Paddle" when Paddle says the key is rotatable (``key_rotatable`` True: Paddle issues the new
secret, docs/decisions/paddle-rotation.md), "Replace API key (not rotatable)" when Paddle says it is not (it opens
Replace, as it always did), and "Replace API key" while nobody knows (a legacy key, or not looked at yet).
"""

from __future__ import annotations

from bot.credentials import catalog
from bot.credentials.types import CredentialSummary

COPY, TEST, REPLACE, RENAME, DELETE, ROTATE = "copy_id", "test", "replace", "rename", "delete", "rotate"
# For those who may manage, Copy ID also opens the credential's integration access (its tokens, Revoke, and "Give
# an integration access": bot.slack.ui.access_modal).
MENU_CHOICES = (
    (COPY, "Copy ID"),
    (TEST, "Test connection"),
    (REPLACE, "Replace API key"),
    (RENAME, "Rename"),
    (DELETE, "Delete…"),
)
CHOICES = {choice for choice, _ in MENU_CHOICES} | {ROTATE}  # what a value coming back may name
MANAGER_LABELS = {COPY: "ID and integration access"}
MANAGING = {REPLACE, RENAME, DELETE, ROTATE}


def menu_value(choice: str, credential_id: str) -> str:
    return f"{choice}:{credential_id}"


def parse_menu_value(raw: object) -> tuple[str, str]:
    """An overflow option's value, back from the user's client: (choice, credential id). ValueError if not ours."""
    if not isinstance(raw, str) or len(raw) > 80 or ":" not in raw:
        raise ValueError("bad menu value")
    choice, credential_id = raw.split(":", 1)
    if choice not in CHOICES:
        raise ValueError("bad menu choice")
    return choice, credential_id


def key_choice(item: CredentialSummary) -> tuple[str, str]:
    """The key's slot for someone who may manage: rotate when the provider can, else replace (saying why)."""
    if item.key_rotatable is True:
        return ROTATE, f"Rotate with {catalog.provider_label(item.destination)}"
    if item.key_rotatable is False:
        return REPLACE, "Replace API key (not rotatable)"
    return REPLACE, "Replace API key"


def menu_options(item: CredentialSummary, *, may_manage: bool) -> list[dict]:
    """The overflow's options (plain dicts): every choice for those who may manage, the viewing ones otherwise."""
    options = []
    for choice, label in MENU_CHOICES:
        if not may_manage and choice in MANAGING:
            continue
        if may_manage and choice == REPLACE:
            choice, label = key_choice(item)
        elif may_manage:
            label = MANAGER_LABELS.get(choice, label)
        options.append({"text": {"type": "plain_text", "text": label}, "value": menu_value(choice, item.id)})
    return options
