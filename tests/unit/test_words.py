"""docs/words.md held to the renderings: one name for the thing and one for creating it, sandbox said once, the
catalog's descriptions where a person chooses, and every modal title within Slack's 24 characters."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest
import yaml
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.cli import parser
from bot.credentials import catalog, vocabulary
from bot.credentials.types import CredentialPage, CredentialSummary, HomePage
from bot.credentials.wizard_state import STAGES, WizardState
from bot.slack.ui import access_modal, channel_messages, credential_list, home_tab, rotate_modal, wizard_modal

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, tzinfo=UTC)
# The names docs/words.md retires (case matters: "Integration Credential" is the name, "integration credential"
# is not). "credential" alone stays, as the short form after the name.
RETIRED = re.compile(r"Create Credential|Create Integration Credential|[Ii]ntegration credential")


def credential(destination: str) -> CredentialSummary:
    found = catalog.destination(destination)
    return CredentialSummary(
        "3f0c5a1e-0000-4000-8000-000000000001",
        "Acme billing",
        catalog.ENTITY_TYPES[0],
        destination,
        found.label,
        found.sandbox,
        "U1",
        NOW,
        "abcd",
        key_expires_at=NOW + timedelta(days=3),
    )


def _text(rendered) -> str:
    """A rendering as the text a person could read: a view, (fallback, blocks), or a string."""
    if isinstance(rendered, str):
        return rendered
    if isinstance(rendered, View):
        return json.dumps(rendered.to_dict(), ensure_ascii=False)
    if isinstance(rendered, tuple):
        fallback, blocks = rendered
        return fallback + json.dumps([b.to_dict() if isinstance(b, Block) else b for b in blocks], ensure_ascii=False)
    return json.dumps(rendered, ensure_ascii=False)


def renderings(item: CredentialSummary) -> dict[str, str]:
    """Everything Credbot shows about one credential: the modals, the Home tab, the list, the channel messages."""
    page = CredentialPage([item], 1, 0, 20, has_next=False, has_previous=False)
    state = WizardState(
        stage="api_key", name=item.name, entity_type=item.entity_type.value, destination=item.destination
    )
    shown = {
        f"wizard {field}": wizard_modal.stage_view(state.at(field))
        for field in (s.field for s in STAGES)
        if field != "destination"
    }  # the chooser lists every destination with its description: see below
    shown |= {
        "verifying": wizard_modal.verifying_view(state),
        "created view": credential_list.created_view(item, page, None),
        "list": credential_list.list_blocks(page, ""),
        "list fallback": credential_list.list_fallback(page),
        "announcement": credential_list.announcement(item),
        "created DM": credential_list.created_text(item),
        "not created DM": credential_list.not_created_text(item.name, "Paddle did not answer"),
        "home": home_tab.home_view(HomePage([item], 0, 40, 1), may_manage=True),
        "copy id": home_tab.copy_id_view(item),
        "testing": home_tab.testing_view(item),
        "tested": home_tab.tested_view(item, "verified"),
        "replace": home_tab.replace_view(item),
        "replacing": home_tab.replacing_view(item),
        "replaced": home_tab.replaced_view(item),
        "deleted": home_tab.deleted_view(item),
        "rename": home_tab.rename_view(item),
        "delete": home_tab.delete_view(item),
        "change": channel_messages.change_announcement("was replaced", item, "U2"),
        "reminder": channel_messages.reminder_message(item, "soon", NOW),
        "expired": channel_messages.reminder_message(item, "expired", NOW),
        "board": channel_messages.board_message([item], 1),
    }
    return {where: _text(rendered) for where, rendered in shown.items()}


@pytest.mark.parametrize("destination", [d.value for d in catalog.DESTINATIONS if d.sandbox])
def test_sandbox_is_said_once_wherever_a_sandbox_credential_is_shown(destination):
    label = catalog.destination(destination).label
    for where, text in renderings(credential(destination)).items():
        assert f"({label})" not in text, f"{where}: the label in parentheses of its own: {text}"
        # Each text a person reads (a JSON string) that names the destination says sandbox only in its label.
        for piece in re.findall(r'"((?:[^"\\]|\\.)*)"', text):
            if label in piece:
                assert "sandbox" not in piece.replace(label, "").lower(), f"{where}: {piece}"


@pytest.mark.parametrize("destination", [d.value for d in catalog.DESTINATIONS])
def test_one_name_for_the_credential_and_one_for_creating_it(destination):
    shown = renderings(credential(destination))
    for where, text in shown.items():
        assert not RETIRED.search(text), f"{where} uses a retired name: {RETIRED.search(text).group()}"
    for where in ("home", "list", "list fallback", "announcement", "created view", "change", "board"):
        assert vocabulary.CREDENTIAL in shown[where], f"{where} never names the {vocabulary.CREDENTIAL}"
    for where in ("wizard name", "wizard api_key", "home"):
        assert vocabulary.CREATE in shown[where], where


def test_the_cli_manifest_and_readme_use_the_same_names():
    texts = {
        "CLI help": parser().format_help(),
        "manifest": (REPO / "manifest.yml").read_text(encoding="utf-8"),
        "README": (REPO / "README.md").read_text(encoding="utf-8"),
    }
    for where, text in texts.items():
        assert not RETIRED.search(text), f"{where} uses a retired name: {RETIRED.search(text).group()}"
        assert vocabulary.CREDENTIALS in text, where
    manifest = yaml.safe_load(texts["manifest"])
    assert [c["description"] for c in manifest["features"]["slash_commands"]] == [
        f"Create a Paddle {vocabulary.CREDENTIAL}",
        f"List this workspace's {vocabulary.CREDENTIALS}",
    ]


@pytest.mark.parametrize(
    "field, choices", [("entity_type", catalog.ENTITY_TYPES), ("destination", catalog.DESTINATIONS)]
)
def test_choices_carry_the_catalogs_descriptions(field, choices):
    view = wizard_modal.stage_view(WizardState(stage=field, name="Acme", entity_type="bill"))
    block = next(b for b in view["blocks"] if b.get("block_id") == field)
    options = block["element"]["options"]
    assert [(o["value"], o["text"]["text"], o["description"]["text"]) for o in options] == [
        (c.value, c.label, c.description) for c in choices
    ]
    assert all(len(c.description) <= wizard_modal.OPTION_DESCRIPTION_MAX for c in choices)
    for choice in choices:  # the hint explains each, the one already chosen (whose description is hidden) too
        assert f"{choice.label}: {choice.description}" in block["hint"]["text"]
    View(**view).validate_json()


def test_every_modal_title_fits_slacks_24_characters():
    titles = set(home_tab.TITLES) | set(access_modal.TITLES) | {wizard_modal.TITLE, wizard_modal.APOLOGY_TITLE}
    titles |= {rotate_modal.ROTATE_TITLE}
    for destination in catalog.DESTINATIONS:
        item = credential(destination.value)
        page = CredentialPage([item], 1, 0, 20, has_next=False, has_previous=False)
        views = [
            home_tab.copy_id_view(item),
            home_tab.testing_view(item),
            home_tab.replace_view(item),
            home_tab.replacing_view(item),
            home_tab.replaced_view(item),
            home_tab.deleted_view(item),
            home_tab.rename_view(item),
            home_tab.delete_view(item),
        ]
        titles |= {v.title.text if hasattr(v.title, "text") else v.title for v in views}
        titles.add(credential_list.created_view(item, page, None)["title"]["text"])
        titles |= {
            access_modal.issue_view(item)["title"]["text"],
            access_modal.tokens_view(item, [], NOW)["title"]["text"],
        }
        for view in (access_modal.issue_view(item), access_modal.tokens_view(item, [], NOW)):
            View(**view).validate_json()  # within Slack's limits, as slack-sdk's models check them
    too_long = sorted(t for t in titles if len(t) > 24)
    assert not too_long, too_long
    assert vocabulary.CREATE in titles and vocabulary.CREDENTIAL in titles
