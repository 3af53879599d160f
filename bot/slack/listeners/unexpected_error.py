"""The last resort: an unexpected error is logged (redacted) with a reference the user is given."""

from __future__ import annotations

import json
import logging
import uuid

from slack_bolt import App, BoltResponse

from bot.slack.ui.wizard_modal import APOLOGY_TITLE, message_view

log = logging.getLogger(__name__)


def new_reference() -> str:
    return uuid.uuid4().hex[:10]


def apology(reference: str) -> str:
    return (
        f"Sorry, something went wrong on our side and nothing was changed. "
        f"If it keeps happening, give the bot's operators this reference: `{reference}`."
    )


def register(app: App) -> None:
    @app.error
    def answer_unexpected_error(error: Exception, body: dict, response: BoltResponse | None):
        reference = new_reference()
        log.error(
            "unhandled error (reference %s) in %s", reference, body.get("type") or body.get("command"), exc_info=error
        )
        if response is None:  # nothing left to answer Slack with (lazy listeners report their own failures)
            return None
        if body.get("type") == "view_submission":
            view = message_view(APOLOGY_TITLE, apology(reference))
            return BoltResponse(
                status=200,
                headers={"content-type": "application/json"},
                body=json.dumps({"response_action": "update", "view": view.to_dict()}),
            )
        if body.get("command"):
            return BoltResponse(
                status=200,
                headers={"content-type": "application/json"},
                body=json.dumps({"response_type": "ephemeral", "text": apology(reference)}),
            )
        return BoltResponse(status=200, body="")
