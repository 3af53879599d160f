"""Buttons and menus: the wizard's Back, the list's paging, and the Credentials tab's buttons and ⋯ menus."""

import re

from slack_bolt import App

from bot.slack.listeners.actions import credential_menu, home_buttons, list_page, settings_button, wizard_back
from bot.slack.listeners.common import acknowledge
from bot.slack.listeners.views import integration_access
from bot.slack.ui import access_modal, credential_list, home_tab, rotate_modal, settings_modal, wizard_modal


def register(app: App) -> None:
    # Every action is acknowledged at once and handled after: views.open/update may be slow.
    app.action(wizard_modal.BACK_ACTION)(ack=acknowledge, lazy=[wizard_back.go_back])
    app.action(re.compile(f"^({credential_list.PAGE_PREVIOUS}|{credential_list.PAGE_NEXT})$"))(
        ack=acknowledge, lazy=[list_page.turn_page]
    )
    app.action(re.compile(f"^{home_tab.PAGE_ACTION}_(previous|next)$"))(
        ack=acknowledge, lazy=[home_buttons.turn_home_page]
    )
    app.action(home_tab.CREATE_ACTION)(ack=acknowledge, lazy=[home_buttons.create_from_home])
    app.action(home_tab.REPLACE_FROM_REMINDER)(ack=acknowledge, lazy=[home_buttons.replace_from_reminder])
    app.action(settings_modal.OPEN_ACTION)(ack=acknowledge, lazy=[settings_button.open_settings])
    app.action(home_tab.MENU_ACTION)(ack=acknowledge, lazy=[credential_menu.menu_chosen])
    app.action(rotate_modal.REPLACE_INSTEAD_ACTION)(ack=acknowledge, lazy=[credential_menu.replace_instead])
    app.action(access_modal.REVOKE_ACTION)(ack=acknowledge, lazy=[integration_access.revoke_clicked])
    app.action(access_modal.REVOKE_ALL_ACTION)(ack=acknowledge, lazy=[integration_access.revoke_all_clicked])
    app.action(access_modal.GIVE_ACTION)(ack=acknowledge, lazy=[integration_access.give_clicked])
