"""Modal submissions: the wizard's stages, and the Replace, Rotate, Rename and Delete modals of the Credentials tab."""

from slack_bolt import App

from bot.slack.listeners.views import (
    delete_credential,
    rename_credential,
    replace_key,
    rotate_key,
    wizard_stage,
    wizard_submit,
)
from bot.slack.listeners.views.settings_submit import save_workspace_settings
from bot.credentials.wizard_state import KEY_STAGE
from bot.slack.listeners.views import integration_access
from bot.slack.ui import access_modal, home_tab, rotate_modal, settings_modal, wizard_modal


def register(app: App, *, shortcuts: bool = True) -> None:
    app.view(wizard_stage.STAGE_CALLBACK)(wizard_stage.next_stage)
    # Slack wants an answer within 3 s and Paddle may take longer: answer, then finish on the Paddle checks' pool
    # under fair use (the final stage hands its checked submission over itself, wizard_submit.hand_over; or its lazy
    # listener does).
    final = app.view(wizard_modal.CALLBACK_PREFIX + KEY_STAGE)
    if shortcuts:
        final(wizard_submit.check_submission)
    else:
        final(ack=wizard_submit.check_submission, lazy=[wizard_submit.create_credential_lazily])
    app.view(home_tab.REPLACE_CALLBACK)(ack=replace_key.check_replacement, lazy=[replace_key.replace_key])
    app.view(rotate_modal.ROTATE_CALLBACK)(ack=rotate_key.check_rotation, lazy=[rotate_key.rotate_key])
    app.view(home_tab.RENAME_CALLBACK)(ack=rename_credential.rename, lazy=[rename_credential.after_rename])
    app.view(home_tab.DELETE_CALLBACK)(ack=delete_credential.confirm_delete, lazy=[delete_credential.delete])
    app.view(settings_modal.CALLBACK)(save_workspace_settings)  # checked, saved and answered in the ack
    # Issued in the ack and shown once there; after it, the tokens modal beneath is drawn again with the new token.
    app.view(access_modal.ISSUE_CALLBACK)(
        ack=integration_access.issue_from_form, lazy=[integration_access.redraw_beneath]
    )
