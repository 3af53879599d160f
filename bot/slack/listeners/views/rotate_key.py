"""Rotate with Paddle: the confirmation's grace period is checked in the ack, the rotation done after it.

As Replace does (views/replace_key.py): the ack claims the credential's provider check under fair use (so a second
click while one runs is told so at once) and answers "Rotating…"; the Paddle pool then rotates through the core
(bot.credentials.key_rotation, which holds its own claim across instances and the CLI), shows the outcome in the
modal, and announces it. The new key never leaves the core: only its last characters are shown.
"""

from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.credentials import key_rotation
from bot.credentials.errors import CredentialError, CredentialGone, InvalidInput
from bot.credentials.types import CredentialSummary
from bot.slack.access import MANAGE
from bot.slack.broadcast.changes import Change, ChangeKind, changed
from bot.slack.broadcast.home_tab_refresh import publish_home
from bot.slack.fair_use import busy
from bot.slack.listeners.common import managing_or_refused, permitted, read_input, update_modal
from bot.slack.request_context import requester_of_request, services_of
from bot.slack.ui import home_tab, rotate_modal
from bot.slack.ui.blocks import refusal_code

ATTEMPT = "credential.rotate"
GRANTED = "credbot_rotation_granted"  # set by the ack that claimed the check; Bolt copies it for the lazy listener


def check_rotation(ack: Ack, view: dict, context: BoltContext) -> None:
    services = services_of(context)
    if not managing_or_refused(ack, context, ATTEMPT, rotate_modal.ROTATE_TITLE):
        return
    try:
        item = services.queries.get(context["workspace"], home_tab.parse_metadata(view.get("private_metadata")))
        key_rotation.grace_seconds(read_input(view, "grace_period"))
    except CredentialGone as gone:
        ack(response_action="update", view=home_tab.info_view(rotate_modal.ROTATE_TITLE, gone.message))
        return
    except InvalidInput as problem:
        ack(response_action="errors", errors={"grace_period": problem.message})
        return
    refusal = services.fair_use.claim(context["workspace"], context["actor"], item.id, item.destination)
    if refusal:  # a check or rotation of this key under way (a second click), or the person's allowance used up
        ack(response_action="errors", errors={"grace_period": refusal})
        return
    ack(response_action="update", view=rotate_modal.rotating_view(item))
    context[GRANTED] = True


def rotate_key(view: dict, context: BoltContext, client: WebClient) -> None:
    """Hands the rotation to the Paddle pool (fair_use), which releases the ack's claim. Bolt runs this after every
    ack: nothing to do when the ack refused (a second click, a bad grace period), so a refused click rotates
    nothing, even once the first rotation has ended."""
    services, workspace = services_of(context), context["workspace"]
    if not context.get(GRANTED) or not permitted(context, MANAGE, ATTEMPT, audit=False):
        return  # answered at ack time
    try:
        item = services.queries.get(workspace, home_tab.parse_metadata(view.get("private_metadata")))
    except CredentialGone:
        services.fair_use.release(str(home_tab.parse_metadata(view.get("private_metadata"))))
        return  # answered at ack time
    if not services.fair_use.run(item.id, lambda: _finish_rotation(view, context, client, item)):
        update_modal(client, view["id"], rotate_modal.rotate_view(item, problem=busy(item.destination)))


def _finish_rotation(view: dict, context: BoltContext, client: WebClient, item: CredentialSummary) -> None:
    services, workspace, actor = services_of(context), context["workspace"], context["actor"]
    grace = read_input(view, "grace_period")
    try:
        rotated, checked = key_rotation.rotate_key(services.credentials, workspace, actor, item.id, grace)
    except CredentialGone as gone:
        update_modal(client, view["id"], home_tab.info_view(rotate_modal.ROTATE_TITLE, gone.message))
        publish_home(services, client, requester_of_request(context))
        return
    except CredentialError as problem:  # Paddle refused or failed, a rotation under way: the stored key is unchanged
        shown = rotate_modal.rotate_view(item, problem.message, refusal_code(problem), grace)
        update_modal(client, view["id"], shown)
        return
    finally:
        services.fair_use.release(item.id)  # Paddle has answered: the next check may start
    update_modal(client, view["id"], rotate_modal.rotated_view(rotated, checked, key_rotation.grace_seconds(grace)))
    changed(services, client, Change(ChangeKind.ROTATED, rotated, requester_of_request(context)))
