"""What listeners share: the bare ack, reading inputs defensively, the access check, opening modals."""

from __future__ import annotations

import logging
from typing import Any
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.slack.access import MANAGE, Decision
from bot.slack.ui import home_tab
from bot.slack.request_context import requester_of_request, services_of, token_of

log = logging.getLogger(__name__)


def acknowledge(ack: Any) -> None:
    """The whole synchronous part of listeners whose work happens after Slack has its answer."""
    ack()


def shortcuts(context: Any) -> bool:
    """Whether this request's work after the ack goes through ``after_answer`` (CREDBOT_LIBRARY_SHORTCUTS, on by
    default) rather than the Bolt lazy listener registered beside its ack (bot.slack.listeners.register_listeners)."""
    return services_of(context).settings.library_shortcuts


def after_answer(context: Any, work: Callable[..., None], *args: Any) -> None:
    """Run ``work(*args)`` on the listener pool; with process_before_response Slack gets the ack's answer as the
    ack function returns. This is what a Bolt lazy listener does, without Bolt's copy of the request for it
    (built on the ack's thread: the raw body parsed again, then the payload and the context deep-copied), and
    the work gets what the ack already read and checked. A failure is logged, as Bolt does for a lazy listener.
    A shortcut beside Bolt's ``lazy=`` (docs/decisions/library-internals.md): used only when ``shortcuts``."""
    services_of(context).executor.submit(_logged, work, *args)


def _logged(work: Callable[..., None], *args: Any) -> None:
    try:
        work(*args)
    except Exception:  # nothing is waiting for it: the log is the only place to say so
        log.exception("work after the answer failed (%s)", getattr(work, "__name__", "work"))


def permitted(context: Any, kind: str, attempt: str, *, audit: bool = True) -> Decision:
    """May this request's person do ``kind`` (manage/view) here? The one decision (AccessPolicy.may, outsider rule
    included); a refusal carries what to tell them (``decision.message``) and goes to the audit trail (through the
    core) with what was attempted."""
    services, who = services_of(context), requester_of_request(context)
    decision = services.access.may(kind, who, token=token_of(context))
    if not decision and audit:
        services.credentials.denied(who.workspace, who.user_id, attempt, decision.reason)
    return decision


def managing_or_refused(ack: Any, context: Any, attempt: str, title: str) -> bool:
    """For a modal's ack: True when the actor may manage credentials; otherwise the modal now says who to ask
    (and the refusal is audited)."""
    decision = permitted(context, MANAGE, attempt)
    if decision:
        return True
    ack(response_action="update", view=home_tab.info_view(title, decision.message))
    return False


def read_input(view: dict, field: str) -> str | None:
    """The value of the input block ``field`` (text or selected option), or None. Everything here came from
    outside: any other shape is None."""
    block = ((view.get("state") or {}).get("values") or {}).get(field)
    if not isinstance(block, dict):
        return None
    element = block.get(f"{field}_input")
    if not isinstance(element, dict):
        return None
    if isinstance(element.get("selected_option"), dict):
        value = element["selected_option"].get("value")
    else:
        value = element.get("value")
    return value if isinstance(value, str) else None


def open_modal(client: WebClient, body: dict, view: View | dict) -> str | None:
    """views.open on the request's trigger; the new view's id, or None (logged) when Slack refused."""
    try:
        return client.views_open(trigger_id=body.get("trigger_id"), view=view)["view"]["id"]
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        return None


def update_modal(client: WebClient, view_id: str, view: View | dict) -> None:
    """views.update that shrugs off a closed modal."""
    try:
        client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:
        log.info("views.update failed (%s): the modal was probably closed", error.response.get("error"))
