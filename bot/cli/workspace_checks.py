"""`check`'s per-workspace part (issue 22): for each workspace that saved settings of its own (or whose org did),
each saved notification or board channel the bot must be a member of (``conversations.info``) and each saved user
group (``S…`` in who may manage or view) that must still exist (``usergroups.users.list``: Slack answers
``no_such_subteam`` for a group it does not know). Asked with that workspace's own bot token in OAuth mode (its
installation's, or its org's for an org-wide install), with SLACK_BOT_TOKEN otherwise. One check line per saved
channel and group, named after the workspace; a failure says what to do (the Home tab's Settings, or
``/invite``). The environment's own channels are checked by bot.cli.deployment_check as before."""

from __future__ import annotations

from typing import Any

from bot.cli.check_results import FAILED, OK, SKIPPED, Check, SlackTarget

# bot.credentials.tenants.KnownWorkspace, from Opened.workspaces() (only keys_and_database reaches the core)
KnownWorkspace = Any

SETTINGS_FIX = "change it in the Home tab's Settings (Credbot app → Home → Settings)"


def target_for(known: KnownWorkspace, targets: list[SlackTarget], oauth: bool) -> SlackTarget | None:
    """The token that speaks for ``known``: its own installation's, else its org-wide install's (OAuth mode), or
    the one SLACK_BOT_TOKEN."""
    if not oauth:
        return targets[0] if targets else None
    by_scope = {target.workspace_id: target for target in targets}
    return by_scope.get(known.scope_id) or by_scope.get(known.workspace.enterprise_id)


def check_workspaces(known: list[KnownWorkspace], targets: list[SlackTarget], oauth: bool, checks: list[Check]) -> None:
    for workspace in known:
        wanted = workspace.saved_references()
        if not wanted:
            continue
        scope = workspace.scope_id
        target = target_for(workspace, targets, oauth)
        for kind, item in wanted:
            name = f"saved {kind} {item} of {scope}"
            if target is None or not target.working:
                why = "no working bot token for this workspace" if oauth else "no Slack token works"
                checks.append(Check(name, SKIPPED, why))
            elif kind == "user group":
                checks.append(group_check(name, item, workspace, target))
            else:
                checks.append(saved_channel_check(name, item, target))


def saved_channel_check(name: str, channel: str, target: SlackTarget) -> Check:
    from bot.slack.slack_checks import SlackCheckFailed, bot_is_member

    invite = f"type `/invite @{target.bot_name}` in that channel"
    try:
        member = bot_is_member(target.client, channel)
    except SlackCheckFailed as failed:
        if failed.code == "channel_not_found":
            return Check(name, FAILED, f"Slack finds no such channel (or it is private and the bot not in it): "
                                       f"{invite} if it exists, or {SETTINGS_FIX}")  # fmt: skip
        return Check(name, FAILED, f"{failed}: try again later, or check the app's channels:read and groups:read")
    if member:
        return Check(name, OK)
    return Check(name, FAILED, f"the bot is not a member: {invite}, or {SETTINGS_FIX}")


def group_check(name: str, group: str, known: KnownWorkspace, target: SlackTarget) -> Check:
    from bot.slack.slack_checks import SlackCheckFailed, usergroup_exists

    try:
        exists = usergroup_exists(target.client, group, known.workspace.team_id)
    except SlackCheckFailed as failed:
        return Check(name, FAILED, f"{failed}: try again later, or check the app's usergroups:read scope")
    if exists:
        return Check(name, OK)
    return Check(name, FAILED, f"Slack has no such user group (deleted or disabled): nobody gets access through it; "
                               f"{SETTINGS_FIX}")  # fmt: skip
