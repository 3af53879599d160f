"""App Home's Credentials tab and everything its menus do: copy the id, test, replace the key, rename, delete.

Every value that names a credential (menu options, modal metadata, reminder buttons) came back through the
user's client: it is parsed as untrusted input and looked up inside the requester's own workspace only, so an
id from elsewhere finds nothing. Each action checks who may do it again, however the request arrived.
"""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.slack.access import MANAGE, VIEW
from bot.slack.board import refresh_board
from bot.credentials.errors import CredentialError, CredentialGone, InvalidInput
from bot.credentials.service import CredentialSummary, Workspace
from bot.credentials.wizard_state import WizardState
from bot.slack.listeners.payload import acknowledge, actor_of, permitted, read_input, workspace_of
from bot.infra.logs import REDACTOR
from bot.infra.secret import Secret
from bot.slack.notify import notify_channels
from bot.slack.services import Services
from bot.slack.ui import home_tab as home_ui
from bot.slack.ui import wizard_modal as wizard_ui

log = logging.getLogger(__name__)

STALE_MENU = "That menu is out of date. The Credentials tab has been refreshed; try again there."


def publish_home(services: Services, client: WebClient, workspace: Workspace, user_id: str, *, page: int = 0,
                 notice: str | None = None) -> None:
    """Show ``user_id`` the Credentials tab as it is now (their own view: menus follow their rights)."""
    if not user_id:
        return
    if not services.access.may_view(workspace, user_id):
        view = home_ui.no_access_view(services.access.refusal(VIEW))
    else:
        page_data = services.credentials.home_page(workspace, page)
        view = home_ui.home_view(page_data, may_manage=bool(services.access.may_manage(workspace, user_id)),
                                 notice=notice)
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the Home tab: %s", error.response.get("error"))


def after_change(services: Services, client: WebClient, workspace: Workspace, actor: str,
                 notice: str | None = None) -> None:
    """What every change is followed by: the actor's Home tab (if they have ever opened it), then the board."""
    if services.credentials.has_opened_home(workspace, actor):
        publish_home(services, client, workspace, actor, notice=notice)
    refresh_board(services, client)


def register(app: App, services: Services) -> None:
    credentials = services.credentials

    def open_modal(client: WebClient, body: dict, view: View) -> str | None:
        try:
            return client.views_open(trigger_id=body.get("trigger_id"), view=view)["view"]["id"]
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            return None

    def refused(title: str) -> View:
        return home_ui.info_view(title, services.access.refusal(MANAGE))

    # -- the tab itself ---------------------------------------------------------------

    def home_opened(event: dict, context, body: dict, client: WebClient) -> None:
        if event.get("tab") != "home":
            return
        workspace, user = workspace_of(context, body), str(event.get("user") or context.user_id or "")
        if user:
            credentials.note_home_viewer(workspace, user)
        publish_home(services, client, workspace, user)

    def turn_home_page(body: dict, action: dict, context, client: WebClient) -> None:
        raw = action.get("value")
        page = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 7 else 0
        publish_home(services, client, workspace_of(context, body), actor_of(context, body), page=page)

    def create_from_home(body: dict, context, client: WebClient) -> None:
        if not permitted(services, MANAGE, context, body, "credential.create"):
            open_modal(client, body, refused("Create credential"))
            return
        open_modal(client, body, wizard_ui.stage_view(WizardState()))

    # Answered at once; drawn after (Slack retries an event not answered within 3 s, and views.publish may be slow).
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
    app.action(re.compile(f"^{home_ui.PAGE_ACTION}_(previous|next)$"))(ack=acknowledge, lazy=[turn_home_page])
    app.action(home_ui.CREATE_ACTION)(ack=acknowledge, lazy=[create_from_home])

    # -- the overflow menu --------------------------------------------------------------

    def menu_chosen(body: dict, action: dict, context, client: WebClient) -> None:
        workspace, actor = workspace_of(context, body), actor_of(context, body)
        try:
            choice, credential_id = home_ui.parse_menu_value((action.get("selected_option") or {}).get("value"))
        except ValueError:
            open_modal(client, body, home_ui.info_view("Credentials", STALE_MENU))
            publish_home(services, client, workspace, actor)
            return
        kind = MANAGE if choice in home_ui.MANAGING else VIEW
        if not permitted(services, kind, context, body, f"credential.{choice}"):
            open_modal(client, body, home_ui.info_view("Credentials", services.access.refusal(kind)))
            publish_home(services, client, workspace, actor)
            return
        try:
            item = credentials.get(workspace, credential_id)
        except CredentialGone as gone:
            open_modal(client, body, home_ui.info_view("Credentials", gone.message))
            publish_home(services, client, workspace, actor)
            return
        if choice == home_ui.COPY:
            open_modal(client, body, home_ui.copy_id_view(item))
        elif choice == home_ui.TEST:
            test_connection(client, body, workspace, actor, item)
        elif choice == home_ui.REPLACE:
            open_modal(client, body, home_ui.replace_view(item))
        elif choice == home_ui.RENAME:
            open_modal(client, body, home_ui.rename_view(item))
        elif choice == home_ui.DELETE:
            open_modal(client, body, home_ui.delete_view(item))

    def test_connection(client: WebClient, body: dict, workspace: Workspace, actor: str,
                        item: CredentialSummary) -> None:
        view_id = open_modal(client, body, home_ui.testing_view(item))  # the trigger expires in 3 s; Paddle may not
        try:
            tested, message = credentials.test_connection(workspace, actor, item.id)
            result = home_ui.tested_view(tested, message)
        except CredentialError as problem:
            result = home_ui.info_view("Test connection", problem.message)
        if view_id:
            try:
                client.views_update(view_id=view_id, view=result)
            except SlackApiError as error:
                log.info("the test result could not be shown (%s)", error.response.get("error"))
        publish_home(services, client, workspace, actor)

    app.action(home_ui.MENU_ACTION)(ack=acknowledge, lazy=[menu_chosen])

    # -- Replace API key (from the menu, or from an expiry reminder's button) -------------

    def replace_from_reminder(body: dict, action: dict, context, client: WebClient) -> None:
        workspace = workspace_of(context, body)
        if not permitted(services, MANAGE, context, body, "credential.replace"):
            open_modal(client, body, refused("Replace API key"))
            return
        try:
            item = credentials.get(workspace, action.get("value"))
        except CredentialGone as gone:
            open_modal(client, body, home_ui.info_view("Replace API key", gone.message))
            return
        open_modal(client, body, home_ui.replace_view(item))

    app.action(home_ui.REPLACE_FROM_REMINDER)(ack=acknowledge, lazy=[replace_from_reminder])

    def check_replacement(ack: Ack, body: dict, view: dict, context) -> None:
        if not permitted(services, MANAGE, context, body, "credential.replace"):
            ack(response_action="update", view=refused("Replace API key"))
            return
        try:
            item = credentials.get(workspace_of(context, body), home_ui.parse_metadata(view.get("private_metadata")))
            credentials.check_key(item.destination, read_input(view, "api_key"), destination_fixed=True)
        except CredentialGone as gone:
            ack(response_action="update", view=home_ui.info_view("Replace API key", gone.message))
            return
        except InvalidInput as problem:
            ack(response_action="errors", errors={"api_key": problem.message})
            return
        ack(response_action="update", view=home_ui.replacing_view(item))

    def replace_key(body: dict, view: dict, context, client: WebClient) -> None:
        workspace, actor = workspace_of(context, body), actor_of(context, body)
        if not permitted(services, MANAGE, context, body, "credential.replace", audit=False):
            return  # answered at ack time
        credential_id = home_ui.parse_metadata(view.get("private_metadata"))
        raw_key = read_input(view, "api_key")
        try:
            item = credentials.get(workspace, credential_id)
        except CredentialGone:
            return  # answered at ack time
        try:
            with REDACTOR.holding(Secret(raw_key or "")):
                replaced = credentials.replace_key(workspace, actor, item.id, raw_key)
        except CredentialGone as gone:
            update(client, view["id"], home_ui.info_view("Replace API key", gone.message))
            publish_home(services, client, workspace, actor)
            return
        except CredentialError as problem:
            update(client, view["id"], home_ui.replace_view(item, problem=problem.message))
            return
        update(client, view["id"], home_ui.replaced_view(replaced))
        text, blocks = home_ui.change_announcement("had its API key replaced", replaced, actor,
                                                   f"key now ends {home_ui.key_ending(replaced)}")
        notify_channels(client, services.settings.notify_channels, text, blocks)
        after_change(services, client, workspace, actor)

    app.view(home_ui.REPLACE_CALLBACK)(ack=check_replacement, lazy=[replace_key])

    # -- Rename -----------------------------------------------------------------------------

    def rename(ack: Ack, body: dict, view: dict, context) -> None:
        if not permitted(services, MANAGE, context, body, "credential.rename"):
            ack(response_action="update", view=refused("Rename credential"))
            return
        try:
            credentials.rename(workspace_of(context, body), actor_of(context, body),
                               home_ui.parse_metadata(view.get("private_metadata")), read_input(view, "name"))
        except InvalidInput as problem:
            ack(response_action="errors", errors={"name": problem.message})
            return
        except CredentialError as problem:  # gone meanwhile, or the database refused
            ack(response_action="update", view=home_ui.info_view("Rename credential", problem.message))
            return
        ack(response_action="clear")

    def after_rename(body: dict, view: dict, context, client: WebClient) -> None:
        workspace, actor = workspace_of(context, body), actor_of(context, body)
        if permitted(services, MANAGE, context, body, "credential.rename", audit=False):
            after_change(services, client, workspace, actor)

    app.view(home_ui.RENAME_CALLBACK)(ack=rename, lazy=[after_rename])

    # -- Delete (the modal is the confirmation) ----------------------------------------------

    def confirm_delete(ack: Ack, body: dict, view: dict, context) -> None:
        if not permitted(services, MANAGE, context, body, "credential.delete"):
            ack(response_action="update", view=refused("Delete credential"))
            return
        ack(response_action="update", view=home_ui.info_view("Delete credential", ":hourglass_flowing_sand: Deleting…"))

    def delete(body: dict, view: dict, context, client: WebClient) -> None:
        workspace, actor = workspace_of(context, body), actor_of(context, body)
        if not permitted(services, MANAGE, context, body, "credential.delete", audit=False):
            return
        try:
            gone = credentials.delete(workspace, actor, home_ui.parse_metadata(view.get("private_metadata")))
        except CredentialError as problem:
            update(client, view["id"], home_ui.info_view("Delete credential", problem.message))
            publish_home(services, client, workspace, actor)
            return
        update(client, view["id"], home_ui.deleted_view(gone))
        text, blocks = home_ui.change_announcement("was deleted", gone, actor)
        notify_channels(client, services.settings.notify_channels, text, blocks)
        after_change(services, client, workspace, actor)

    app.view(home_ui.DELETE_CALLBACK)(ack=confirm_delete, lazy=[delete])


def update(client: WebClient, view_id: str, view: View) -> None:
    try:
        client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:
        log.info("views.update failed (%s): the modal was probably closed", error.response.get("error"))
