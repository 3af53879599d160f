"""The modals of a credential's integration access: give an integration a token (the form, then the token shown
once), and the tokens that may read it, each with Revoke. Pure builders: data in, Block Kit dicts out.

The token is shown in a modal only, never in a message: a modal is seen by the person who opened it alone and
is gone when closed. Nothing here is logged (the log redactor masks cbt_… wherever it would appear)."""

from __future__ import annotations

from datetime import datetime

from bot.credentials.access_token_rules import NAME_LENGTH, TokenInfo
from bot.credentials.types import CredentialSummary
from bot.slack.ui.blocks import button, confirm, context, input_block, modal, plain, section
from bot.slack.ui.home_tab import metadata
from bot.slack.ui.text import literal, slack_date, truncate

ISSUE_TITLE = "New integration token"  # Slack allows 24 characters in a title (tests/unit checks)
TOKENS_TITLE = "Integration access"
TITLES = (ISSUE_TITLE, TOKENS_TITLE)
ISSUE_CALLBACK = "credential_access_issue"
TOKEN_CALLBACK = "credential_access_token"
TOKENS_CALLBACK = "credential_access_tokens"
REVOKE_ACTION = "access_token_revoke"
REVOKE_ALL_ACTION = "access_token_revoke_all"  # every active token that may read the credential, in one click
GIVE_ACTION = "access_token_give"  # the tokens modal's button that opens the form
LIFETIMES = (("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("180", "180 days"), ("365", "1 year"))
DEFAULT_DAYS = "90"
REVOKE_CONFIRM = confirm(
    "Revoke this token?", "The integration using it is refused from now on.", "Revoke", "Keep it", danger=True
)


def issue_view(item: CredentialSummary) -> dict:
    """The form: who the token is for, how long it lasts, where it may be used from."""
    options = [{"text": plain(label), "value": days} for days, label in LIFETIMES]
    default = next(option for option in options if option["value"] == DEFAULT_DAYS)
    blocks = [
        section("which", f"A token that reads only {literal(item.name)}, over Credbot's read API."),
        input_block(
            "name", "Integration", {"type": "plain_text_input", "max_length": NAME_LENGTH}, hint="What will use it"
        ),
        input_block(
            "expires", "Expires after", {"type": "static_select", "options": options, "initial_option": default}
        ),
        input_block(
            "allow_from",
            "Only from these addresses",
            {"type": "plain_text_input", "multiline": True, "max_length": 1000},
            hint="Optional: addresses or CIDRs such as 10.0.0.0/8, one per line or comma-separated",
            optional=True,
        ),
    ]
    return modal(ISSUE_CALLBACK, ISSUE_TITLE, blocks, close="Cancel", submit="Create token", metadata=metadata(item.id))


def token_view(item: CredentialSummary, info: TokenInfo, token: str) -> dict:
    """The token, once: where to put it and how it is used."""
    blocks = [
        section("shown_once", f"*Copy this token now: it is shown only this once.*\n```{token}```"),
        section(
            "what",
            f"{literal(info.name)} may read {literal(item.name)} until {slack_date(info.expires_at)}"
            + (f", only from {', '.join(info.allow_from)}" if info.allow_from else "")
            + ". Put it in the integration's secret store, never in a channel.",
        ),
        context(
            "use",
            "The integration sends `Authorization: Bearer <token>` to `GET /v1/credentials/"
            f"{item.id}/secret`, or sets CREDBOT_URL and CREDBOT_TOKEN for `bot.api`. Token id: `{info.id}`.",
        ),
    ]
    return modal(TOKEN_CALLBACK, ISSUE_TITLE, blocks, close="Done")


def tokens_view(item: CredentialSummary, tokens: list[TokenInfo], now: datetime, notice: str = "") -> dict:
    """The credential's ID, the tokens that may read it (Revoke on each active one), and a button for a new one."""
    blocks: list[dict] = [
        section("which", f"{literal(item.name)}: integrations reference it by this ID"),
        section("id", f"```{item.id}```"),
        {"type": "actions", "block_id": "give", "elements": _access_buttons(item, tokens, now)},
    ]
    if notice:
        blocks.append(context("notice", notice))
    if not tokens:
        blocks.append(section("none", "No integration can read its key yet."))
    for info in tokens[:40]:  # a modal holds 100 blocks
        status = info.status(now)
        used = f"last used {slack_date(info.last_used_at)}" if info.last_used_at else "never used"
        block = section(
            f"token_{info.id}",
            f"*{literal(truncate(info.name, 80))}*  ·  `{info.id}`\n{status}, expires {slack_date(info.expires_at)}"
            f"  ·  {used}",
        )
        if status == "active":
            block["accessory"] = button("Revoke", REVOKE_ACTION, info.id, style="danger") | {"confirm": REVOKE_CONFIRM}
        blocks.append(block)
    return modal(TOKENS_CALLBACK, TOKENS_TITLE, blocks, close="Close", metadata=metadata(item.id))


def _access_buttons(item: CredentialSummary, tokens: list[TokenInfo], now: datetime) -> list[dict]:
    """ "Give an integration access", and "Revoke all access" while any token may read the key: its confirmation
    says how many tokens go, and that those reading other credentials lose them too."""
    buttons = [button("Give an integration access", GIVE_ACTION, item.id, style="primary")]
    active = [info for info in tokens if info.status(now) == "active"]
    if active:
        wider = sum(1 for info in active if len(info.credential_ids) > 1)
        text = f"{_tokens(len(active))} that may read {truncate(item.name, 80)} will be refused from now on." + (
            f" {_tokens(wider)} also read other credentials and lose those too." if wider else ""
        )
        revoke_all = button("Revoke all access", REVOKE_ALL_ACTION, item.id, style="danger")
        buttons.append(
            revoke_all | {"confirm": confirm("Revoke all access?", text, "Revoke all", "Keep them", danger=True)}
        )
    return buttons


def _tokens(count: int) -> str:
    return "1 token" if count == 1 else f"{count} tokens"
