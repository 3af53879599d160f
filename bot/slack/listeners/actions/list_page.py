"""Previous/Next under /list-credentials: the button's value is untrusted input naming a keyset position."""

from __future__ import annotations

from slack_bolt import BoltContext, Respond

from bot.slack.access import VIEW
from bot.slack.listeners.common import permitted
from bot.slack.ui import credential_list
from bot.slack.request_context import services_of


def turn_page(action: dict, context: BoltContext, respond: Respond) -> None:
    services = services_of(context)
    decision = permitted(context, VIEW, "credential.list")
    if not decision:
        respond(response_type="ephemeral", replace_original=False, text=decision.message)
        return
    try:
        wanted = credential_list.parse_page_value(action.get("value"))
    except ValueError:  # not a position the list drew: say so, and show where to start again
        page = services.credentials.list(context["workspace"], context["actor"])
        respond(
            replace_original=True,
            text=credential_list.STALE_PAGE,
            blocks=credential_list.list_blocks(
                page, "", notice=credential_list.STALE_PAGE, unused_days=services.settings.unused_key_days
            ),
        )
        return
    page = services.credentials.list(
        context["workspace"],
        context["actor"],
        text=wanted.text,
        after=wanted.after,
        before=wanted.before,
        offset=wanted.offset,
    )
    respond(
        replace_original=True,
        text=credential_list.list_fallback(page),
        blocks=credential_list.list_blocks(page, wanted.text, unused_days=services.settings.unused_key_days),
    )
