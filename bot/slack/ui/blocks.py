"""The Block Kit pieces the views are made of, as plain dicts.

Views on the ack path (the wizard's stages, the list, the Home tab) are built from these rather than from
slack-sdk's models, whose validation cost more CPU than it protected there; the unit tests parse every view
back into the models at its longest inputs, so a malformed piece still fails a test."""

from __future__ import annotations

from bot.credentials.errors import CredentialError, ProviderRefusal
from bot.slack.ui.text import escape, truncate

PROBLEM_MAX = 2000  # a section's text may be 3000 characters


def plain(text: str, *, emoji: bool = False) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True} if emoji else {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def header(block_id: str, text: str) -> dict:
    return {"type": "header", "block_id": block_id, "text": plain(text)}


def section(block_id: str, text: str) -> dict:
    return {"type": "section", "block_id": block_id, "text": mrkdwn(text)}


def context(block_id: str, text: str) -> dict:
    return {"type": "context", "block_id": block_id, "elements": [mrkdwn(text)]}


def button(text: str, action_id: str, value: str, *, style: str | None = None, emoji: bool = False) -> dict:
    made = {"type": "button", "text": plain(text, emoji=emoji), "action_id": action_id, "value": value}
    if style:
        made["style"] = style
    return made


def input_block(block_id: str, label: str, element: dict, *, hint: str = "", optional: bool = False) -> dict:
    """An input whose element's action id is ``<block_id>_input`` (what listeners.common.read_input reads)."""
    block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": f"{block_id}_input"},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def confirm(title: str, text: str, yes: str, no: str, *, danger: bool = False) -> dict:
    """A button's confirmation dialog."""
    made: dict = {"title": plain(title), "text": plain(text), "confirm": plain(yes), "deny": plain(no)}
    if danger:
        made["style"] = "danger"
    return made


def modal(
    callback_id: str, title: str, blocks: list[dict], *, close: str, submit: str = "", metadata: str = ""
) -> dict:
    """A modal view (``submit`` only for one with inputs; ``metadata`` its private_metadata)."""
    view: dict = {"type": "modal", "callback_id": callback_id, "title": plain(title), "close": plain(close)}
    if submit:
        view["submit"] = plain(submit)
    if metadata:
        view["private_metadata"] = metadata
    view["blocks"] = blocks
    return view


def refusal_code(problem: CredentialError) -> str:
    """The provider's own short code for a failed key check (``invalid_token``, ``timeout``…), else ""."""
    return problem.reason if isinstance(problem, ProviderRefusal) else ""


def problem_blocks(problem: str, code: str = "") -> list[dict]:
    """A failure shown above an input: what to do, then, when the provider gave one, its code in a small
    context line for support. The problem is plain text: it may quote what was typed, and nothing in it should
    render as formatting."""
    blocks = [{"type": "section", "block_id": "problem", "text": plain(truncate(f"⚠️ {problem}", PROBLEM_MAX))}]
    if code:
        blocks.append(context("problem_code", f"For support: `{escape(truncate(code, 80))}`"))
    return blocks
