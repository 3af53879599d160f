"""Integration access from Slack through the real server, on SQLite and PostgreSQL, two instances sharing the
database: a token issued from the Credentials tab's form (signed requests to the HTTP door, the token taken
from the modal the ack answers with) reads exactly its credential over the read API of the other instance;
"Revoke all access" clicked on one instance is refused on the other at once, and the modal is drawn again."""

from __future__ import annotations

import json

from tests.kit import Workspace, core_service, seed, view_text
from tests.kit.integration_access import access, get, issued_from_slack

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def test_a_token_issued_from_slack_reads_its_credential_and_revoke_all_stops_it_on_every_instance(
    database, start_bot, slack
):
    shared = database.shared()
    a, b = start_bot(**shared), start_bot(**shared)
    alice = Workspace(a, slack)
    core = core_service(a)
    mine = seed(core, alice, "Billing live")
    also = seed(core, alice, "Billing sandbox", "paddle_sandbox")
    theirs = seed(core, Workspace(a, slack, team_id="T0OTHER"), "Theirs")
    token = issued_from_slack(alice, mine.id, "nightly billing")

    read = get(b, f"/v1/credentials/{mine.id}/secret", token)  # the other instance
    assert read.status == 200 and read.json()["api_key"] == core.reveal(mine.id, "test", mine.workspace).reveal()
    assert [c["id"] for c in get(a, "/v1/credentials", token).json()["credentials"]] == [mine.id]
    refusals = [get(b, f"/v1/credentials/{cid}/secret", token) for cid in (also.id, theirs.id, UNKNOWN)]
    assert {r.status for r in refusals} == {403} and len({r.body for r in refusals}) == 1
    [(actor, address)] = a.sql("SELECT actor, detail FROM audit_events WHERE action = 'credential.read'")
    [(token_id,)] = a.sql("SELECT id FROM access_tokens")
    assert actor == f"token:{token_id}" and "127.0.0.1" in address
    assert token not in json.dumps([call.params for call in slack.calls])  # in the ack's modal only, never sent

    listed = access(alice, mine.id)
    assert token_id in view_text(listed) and "last used" in view_text(listed)
    [revoke_all] = [e for block in listed["blocks"] if block.get("block_id") == "give" for e in block["elements"][1:]]
    alice.click(revoke_all["action_id"], revoke_all["value"], view=listed, block_id="give")
    redrawn = slack.wait_for("views.update", lambda c: c.params.get("view_id") == listed["id"]).json("view")
    assert f"Revoked `{token_id}`" in view_text(redrawn) and "Revoke all access" not in view_text(redrawn)
    assert get(b, f"/v1/credentials/{mine.id}/secret", token).status == 401  # at once, on the other instance
    assert get(a, f"/v1/credentials/{mine.id}/secret", token).status == 401
