"""A destination added from the test side alone (tests/kit/destinations.py: one catalog entry and its provider,
registered at run time): the settings, the wizard, its key checks, the verifier, /list-credentials, the Home tab,
Test connection, the log masks and the CLI's choices all find it in the catalog."""

from __future__ import annotations

import pytest

from bot.cli import parser
from bot.infra.logs import MASK, REDACTOR
from bot.infra.settings import ConfigError, load_settings
from tests.kit import Workspace, view_text
from tests.kit.destinations import ACME_SETTING, registered_destination

ACME_URL = "https://acme-pay.example"


@pytest.fixture
def acme(start_bot, slack):
    with registered_destination() as (entry, provider):
        bot = start_bot(**{ACME_SETTING: ACME_URL})
        yield entry, provider, Workspace(bot, slack, team_id="TACME")
        bot.settle()  # what the test set in motion finishes while the destination is still registered


def block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def test_the_wizard_offers_checks_verifies_and_saves_it(acme, slack):
    entry, provider, workspace = acme
    view = workspace.open_wizard()
    v2 = workspace.submit(view, {"name": "Acme books"}).json()["view"]
    v3 = workspace.submit({**v2, "id": view["id"]}, {"entity_type": "bill"}).json()["view"]
    options = block(v3, "destination")["element"]["options"]
    assert [o["text"]["text"] for o in options] == ["Paddle", "Paddle (Sandbox Mode)", "Acme Pay"]
    assert entry.description in block(v3, "destination")["hint"]["text"]

    v4 = workspace.submit({**v3, "id": view["id"]}, {"destination": "acme_pay"}).json()["view"]
    key_input = block(v4, "api_key")
    assert "Acme Pay Connection" in view_text(v4) and entry.key_rules.where_to_get in key_input["hint"]["text"]
    assert key_input["element"]["placeholder"]["text"] == "acm_…"

    # The key rules and their words are the entry's: a Paddle key is not an Acme Pay key, nor is a test one.
    v4 = {**v4, "id": view["id"]}
    refused = workspace.submit(v4, {"api_key": "pdl_live_apikey_01abcdefghijklmnopqrstuvwx"}).json()
    assert refused["response_action"] == "errors"
    assert refused["errors"]["api_key"] == (
        "This does not look like an Acme Pay API key; they start with acm_live_ and are 40 characters long "
        "(Acme Pay console > Settings > Keys)."
    )
    mangled = workspace.submit(v4, {"api_key": "acm_live_0123456789 abcdefghij"}).json()
    assert mangled["errors"]["api_key"] == (
        "This is not an Acme Pay API key as Acme Pay issues them: it has characters Acme Pay keys never contain "
        "(spaces, quotes or other symbols). Copy the whole key again."
    )

    key = provider.new_key()
    verifying = workspace.submit(v4, {"api_key": key}).json()
    assert "Verifying with Acme Pay" in view_text(verifying["view"])
    done = workspace.outcome(view["id"])
    assert "Credential created" in view_text(done) and "Acme Pay" in view_text(done)
    # Checked by its own provider, on the base URL its catalog-named setting gave, for the key's own record.
    assert provider.checks == [("acme_pay", ACME_URL, f"key_{key.split('_')[2]}")]
    assert key not in workspace.bot.log()


def test_list_home_and_test_connection_show_it(acme, slack):
    entry, provider, workspace = acme
    view, _ = workspace.run_wizard("Acme ledger", "acme_pay", provider.new_key())
    workspace.view_containing(view["id"], "Credential created")

    listed = workspace.command("/list-credentials").json()
    assert "Acme ledger" in view_text(listed) and "Acme Pay" in view_text(listed)
    filtered = workspace.command("/list-credentials", "acme").json()
    assert "Acme ledger" in view_text(filtered)

    home = workspace.open_home()
    text = view_text(home)
    assert "Acme ledger" in text and "Acme Pay" in text and "billing integrations to Paddle and Acme Pay" in text
    credential = next(b for b in home["blocks"] if b.get("block_id", "").startswith("credential_"))
    credential_id = credential["block_id"].removeprefix("credential_")
    workspace.choose(f"test:{credential_id}", block_id=credential["block_id"])
    testing = workspace.opened(lambda v: "Testing" in view_text(v))
    assert "with Acme Pay" in view_text(testing)
    tested = workspace.view_containing(testing["id"], "Acme Pay accepted the key")
    assert "Acme ledger" in view_text(tested) and len(provider.checks) == 2


def test_settings_cli_and_log_masks_read_it():
    with registered_destination() as (entry, provider):
        key = provider.new_key()
        assert REDACTOR.redact(f"oops {key[:-3]}") == f"oops {MASK}"  # even truncated
        assert load_settings({ACME_SETTING: ACME_URL + "/"}, purpose="keys").base_url("acme_pay") == ACME_URL
        with pytest.raises(ConfigError) as refused:
            load_settings({ACME_SETTING: "http://acme-pay.example"}, purpose="keys")
        assert refused.value.problems[0].startswith(f"{ACME_SETTING} must use https://")
        assert parser().parse_args(["credentials", "list", "--destination", "acme_pay"]).destination == "acme_pay"
    # Gone with its registration: no longer a setting, a choice or a mask.
    assert "acme_pay" not in load_settings({}, purpose="keys").base_urls
    assert REDACTOR.redact(f"oops {key}") == f"oops {key}"
    with pytest.raises(SystemExit):
        parser().parse_args(["credentials", "list", "--destination", "acme_pay"])
