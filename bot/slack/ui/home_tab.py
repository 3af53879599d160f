"""App Home's Credentials tab, and the small modals its menus open. Pure builders: data in, Block Kit out."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.credentials import catalog
from bot.credentials.types import CredentialSummary, HomePage
from bot.credentials.validation import NAME_MAX
from bot.credentials.vocabulary import CREATE, CREDENTIAL, CREDENTIALS
from bot.slack.ui import menu_choices, settings_modal
from bot.slack.ui.menu_choices import (  # the ⋯ menu's choices and values, named here too, as before
    COPY as COPY,
    DELETE as DELETE,
    MANAGING as MANAGING,
    MENU_CHOICES as MENU_CHOICES,
    RENAME as RENAME,
    REPLACE as REPLACE,
    ROTATE as ROTATE,
    TEST as TEST,
    menu_value as menu_value,
    parse_menu_value as parse_menu_value,
)
from bot.slack.ui.key_health import Usage, health_text
from bot.slack.ui.blocks import button, context, header, problem_blocks, section
from bot.slack.ui.text import escape, literal, mention, slack_date, truncate

CREATE_ACTION = "home_create_credential"
MENU_ACTION = "credential_menu"
PAGE_ACTION = "home_page"
REPLACE_FROM_REMINDER = "reminder_replace"
PAGE_DIGITS = 6  # the most a page number the tab draws has (COUNT_CAP credentials are 25 pages)

# Modal titles (Slack allows 24 characters; tests/unit checks every one). The wizard's is vocabulary.CREATE.
CHOSEN_TITLE = CREDENTIAL  # a credential's menu, when what was chosen needs only a line
ID_TITLE = "Credential ID"
TEST_TITLE = "Test connection"
REPLACE_TITLE = "Replace API key"
RENAME_TITLE = "Rename credential"
DELETE_TITLE = "Delete credential"
TITLES = (CREATE, CHOSEN_TITLE, ID_TITLE, TEST_TITLE, REPLACE_TITLE, RENAME_TITLE, DELETE_TITLE)

REPLACE_CALLBACK = "credential_replace"
RENAME_CALLBACK = "credential_rename"
DELETE_CALLBACK = "credential_delete"
INFO_CALLBACK = "credential_info"
VERIFYING_CALLBACK = "credential_replace_verifying"


def metadata(credential_id: str) -> str:
    return json.dumps({"credential_id": credential_id}, separators=(",", ":"))


def parse_metadata(raw: object) -> str | None:
    """The credential id a modal was opened for (private_metadata came back through the client)."""
    if not isinstance(raw, str) or len(raw) > 200:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    credential_id = value.get("credential_id") if isinstance(value, dict) else None
    return credential_id if isinstance(credential_id, str) else None


# -- the Home tab ---------------------------------------------------------------------------


def parse_page(raw: object) -> int:
    """A Previous/Next value, back from the user's client: the page number exactly as the tab drew it (ASCII
    digits, no sign or leading zero, at most PAGE_DIGITS); ValueError for anything else."""
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= PAGE_DIGITS):
        raise ValueError("bad page number")  # isdigit alone admits "²" and "١", which int() refuses or reads
    if raw != str(int(raw)):
        raise ValueError("bad page number")
    return int(raw)


def home_view(
    page: HomePage,
    *,
    may_manage: bool,
    notice: str | None = None,
    may_configure: bool = False,
    usage: Usage | None = None,
) -> dict:
    """The tab, as plain Block Kit dicts (``usage``: what each key's health line says of its use).

    It is drawn after every change, with up to 40 credentials and their menus: building it from slack-sdk's
    model objects cost about 6.5 ms of CPU per draw in their validation alone (the load benchmark's profile).
    Every text here is bounded by construction (names are at most 100 characters), and a unit test parses the
    result back into the models to check it against Slack's limits.
    """
    blocks: list[dict] = [
        header("title", CREDENTIALS),
        section(
            "intro",
            f"{CREDENTIALS} connect this workspace's billing integrations to {_providers()}. An "
            "integration references a credential by its ID; the key itself is stored encrypted and "
            "never shown again.",
        ),
    ]
    if may_manage:
        blocks.append(
            {
                "type": "actions",
                "block_id": "create",
                "elements": [button(CREATE, CREATE_ACTION, "create", style="primary")],
            }
        )
    if may_configure:  # only those allowed to change the workspace's settings see the button
        blocks.append(settings_modal.settings_button())
    if notice:
        blocks.append(context("notice", notice))
    if not page.items:
        blocks += [
            {"type": "divider"},
            section(
                "empty",
                "*No credentials yet.*\n"
                + (
                    "Create the first with the button above, or `/create-credential`."
                    if may_manage
                    else "Ask a credential admin to create one."
                ),
            ),
        ]
        return {"type": "home", "blocks": blocks}
    current = None
    for item in page.items:
        if item.destination != current:
            current = item.destination
            blocks += [{"type": "divider"}, header(f"group_{current}", truncate(item.destination_label, 150))]
        blocks += credential_blocks(item, may_manage=may_manage, usage=usage)
    return {"type": "home", "blocks": blocks + position_blocks(page)}


def position_blocks(page: HomePage) -> list[dict]:
    """Where the page is ("41–80 of 95"), and its Previous and Next buttons."""
    first, last = page.page * page.per_page + 1, page.page * page.per_page + len(page.items)
    footer = f"{first}–{last} of {page.total:,}{'+' if page.total_capped else ''}"
    blocks = [{"type": "divider"}, context("position", footer)]
    buttons = []
    if page.page > 0:
        buttons.append(button("Previous", f"{PAGE_ACTION}_previous", str(page.page - 1)))
    if page.has_next:
        buttons.append(button("Next", f"{PAGE_ACTION}_next", str(page.page + 1)))
    if buttons:
        blocks.append({"type": "actions", "block_id": "pages", "elements": buttons})
    return blocks


def credential_blocks(item: CredentialSummary, *, may_manage: bool, usage: Usage | None = None) -> list[dict]:
    """Two blocks a credential: what it is (with its menu), then its key's health."""
    options = menu_choices.menu_options(item, may_manage=may_manage)
    text = (
        f"{literal(item.name)}  ·  {escape(item.entity_type.label)}\n"
        f"Created by {mention(item.created_by)} {slack_date(item.created_at)}  ·  key ending "
        f"`…{escape(item.key_hint)}`"
    )
    listed = section(f"credential_{item.id}", text)
    listed["accessory"] = {"type": "overflow", "action_id": MENU_ACTION, "options": options}
    return [listed, context(f"health_{item.id}", health_text(item, usage))]


def _providers() -> str:
    """Every provider of the catalog's destinations, by name: "Paddle", "Paddle and Acme"."""
    names = list(dict.fromkeys(d.provider_label for d in catalog.DESTINATIONS))
    return escape(", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names))


def _provider(item: CredentialSummary) -> str:
    return escape(catalog.provider_label(item.destination))


def no_access_view(text: str) -> dict:
    return {"type": "home", "blocks": [header("title", CREDENTIALS), section("no_access", text)]}


# -- modals ---------------------------------------------------------------------------------


def on_destination(item: CredentialSummary) -> str:
    """A credential and where its key works, in a sentence: "*Acme* on Paddle (Sandbox Mode)". Not in parentheses:
    the label may hold its own."""
    return f"{literal(item.name)} on {escape(item.destination_label)}"


def info_view(title: str, text: str) -> View:
    return View(
        type="modal",
        callback_id=INFO_CALLBACK,
        title=truncate(title, 24),
        close="Close",
        blocks=[SectionBlock(block_id="info", text=MarkdownTextObject(text=text))],
    )


def copy_id_view(item: CredentialSummary) -> View:
    return View(
        type="modal",
        callback_id=INFO_CALLBACK,
        title=ID_TITLE,
        close="Close",
        blocks=[
            SectionBlock(
                block_id="which",
                text=MarkdownTextObject(text=f"{literal(item.name)}  ·  {escape(item.destination_label)}"),
            ),
            SectionBlock(block_id="id", text=MarkdownTextObject(text=f"```{item.id}```")),
            ContextBlock(
                block_id="how",
                elements=[
                    MarkdownTextObject(
                        text="Use this ID in the Integration Configuration that should use this credential."
                    )
                ],
            ),
        ],
    )


def testing_view(item: CredentialSummary) -> View:
    return info_view(
        TEST_TITLE, f":hourglass_flowing_sand: Testing {literal(item.name)} with {escape(item.destination_label)}…"
    )


def tested_view(item: CredentialSummary, message: str) -> View:
    icon = ":white_check_mark:" if item.verification.ok else ":x:"
    lines = [f"{icon} {literal(item.name)}: {escape(message)}", health_text(item)]
    view = info_view(TEST_TITLE, "\n".join(lines))
    if not item.verification.ok and item.verification.reason:  # the provider's code, for support
        view.blocks.append(
            ContextBlock(
                block_id="problem_code",
                elements=[MarkdownTextObject(text=f"For support: `{escape(item.verification.reason)}`")],
            )
        )
    return view


def replace_view(item: CredentialSummary, problem: str | None = None, problem_code: str = "") -> View:
    rules = catalog.destination(item.destination)
    where = rules.key_rules.where_to_get if rules else "the provider's dashboard"
    placeholder = f"{rules.key_rules.prefix}…" if rules and rules.key_rules.prefix else None
    blocks: list[Block] = [
        SectionBlock(
            block_id="which",
            text=MarkdownTextObject(
                text=f"Replace the API key of {on_destination(item)}. The ID stays the "
                f"same, so integrations keep working. The current key (ending `…{escape(item.key_hint)}`) is not "
                "shown."
            ),
        )
    ]
    if problem:
        blocks.extend(Block.parse_all(problem_blocks(problem, problem_code)))
    blocks.append(
        InputBlock(
            block_id="api_key",
            label="New API key",
            hint=f"Paste a key generated in {where}.",
            element=PlainTextInputElement(action_id="api_key_input", placeholder=placeholder),
        )
    )
    return View(
        type="modal",
        callback_id=REPLACE_CALLBACK,
        title=REPLACE_TITLE,
        submit="Replace key",
        close="Cancel",
        private_metadata=metadata(item.id),
        blocks=blocks,
    )


def replacing_view(item: CredentialSummary) -> View:
    return View(
        type="modal",
        callback_id=VERIFYING_CALLBACK,
        title=REPLACE_TITLE,
        close="Close",
        private_metadata=metadata(item.id),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f":hourglass_flowing_sand: *Verifying the new key for {literal(item.name)}…*"
                )
            )
        ],
    )


def key_ending(item: CredentialSummary) -> str:
    return f"`…{escape(item.key_hint)}`"


def replaced_view(item: CredentialSummary) -> View:
    return info_view(
        REPLACE_TITLE,
        f":white_check_mark: The key of {literal(item.name)} was replaced (now "
        f"ending {key_ending(item)}). Integrations using its ID keep working.",
    )


def deleted_view(item: CredentialSummary) -> View:
    return info_view(
        DELETE_TITLE,
        f":wastebasket: {literal(item.name)} was deleted, with its encrypted "
        f"key. Revoke the key in {_provider(item)} too if nothing else uses it.",
    )


def rename_view(item: CredentialSummary) -> View:
    return View(
        type="modal",
        callback_id=RENAME_CALLBACK,
        title=RENAME_TITLE,
        submit="Rename",
        close="Cancel",
        private_metadata=metadata(item.id),
        blocks=[
            InputBlock(
                block_id="name",
                label="Credential name",
                hint="Unique in this workspace; the ID and the key do not change.",
                element=PlainTextInputElement(action_id="name_input", initial_value=item.name, max_length=NAME_MAX),
            )
        ],
    )


def delete_view(item: CredentialSummary) -> View:
    """The confirmation: names the credential and what deleting it does."""
    return View(
        type="modal",
        callback_id=DELETE_CALLBACK,
        title=DELETE_TITLE,
        submit="Delete",
        close="Cancel",
        private_metadata=metadata(item.id),
        blocks=[
            SectionBlock(
                block_id="confirm",
                text=MarkdownTextObject(
                    text=f":warning: Delete {on_destination(item)}?\n"
                    f"Integrations using ID `{item.id}` will stop working. The encrypted key is erased; "
                    f"this cannot be undone. Revoke the key in {_provider(item)} too if it is no longer needed."
                ),
            )
        ],
    )
