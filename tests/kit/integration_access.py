"""A credential's integration access as tests drive it, in process or through the real server: the Credentials
tab's "ID and integration access" modal, its form for a new token, the token the form's ack shows once, and
the read API's answers to that token."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from tests.kit.workspace import Workspace, view_text

EXPIRES_90 = {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "90"}, "value": "90"}}
TOKEN_IN_TEXT = re.compile(r"cbt_[A-Za-z0-9_-]{43}")


def access(workspace: Workspace, credential_id: str) -> dict:
    """The menu's "ID and integration access": the modal with the ID, the tokens and the button for a new one."""
    before = len(workspace.slack.calls_to("views.open"))
    workspace.choose(f"copy_id:{credential_id}")
    return workspace.opened(lambda v: v.get("callback_id") == "credential_access_tokens", after=before)


def form(workspace: Workspace, credential_id: str) -> dict:
    """Its "Give an integration access" button: the form, pushed over it."""
    shown = access(workspace, credential_id)
    [give] = [e for b in shown["blocks"] if b.get("block_id") == "give" for e in b["elements"][:1]]
    assert give["value"] == credential_id and credential_id in view_text(shown)  # the ID is there to copy
    before = len(workspace.slack.calls_to("views.push"))
    workspace.click(give["action_id"], give["value"], view=shown, block_id="give")
    call = workspace.slack.wait_for("views.push", lambda c: workspace.slack.calls_to("views.push").index(c) >= before)
    # As Slack has it: the pushed view's id, and the view beneath it (the tokens modal) as its previous view.
    pushed = call.response["view"]
    return {**call.json("view"), "id": pushed["id"], "previous_view_id": shown["id"], "root_view_id": shown["id"]}


def issued_from_slack(workspace: Workspace, credential_id: str, name: str) -> str:
    """The whole flow: menu, modal, form, submitted; the token from the modal the submission's ack answers with
    (the one place it is ever shown)."""
    answer = workspace.submit(form(workspace, credential_id), {"name": name, "expires": EXPIRES_90}).json()
    assert answer["response_action"] == "update" and answer["view"]["callback_id"] == "credential_access_token"
    [token] = TOKEN_IN_TEXT.findall(view_text(answer["view"]))
    return token


class Answer:
    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> dict:
        return json.loads(self.body)


def get(bot, path: str, token: str | None = None, **headers: str) -> Answer:
    """A GET to a real server's read API, with ``Authorization: Bearer <token>`` when given."""
    request = urllib.request.Request(bot.url + path, headers=headers)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())
