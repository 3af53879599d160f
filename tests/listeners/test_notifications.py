"""Announcements: never lose or roll back a credential; tell the creator what did not arrive."""

from __future__ import annotations


from tests.kit import view_text


def announcement_result(workspace, view_id: str) -> dict:
    call = workspace.slack.wait_for(
        "views.update",
        lambda c: (
            c.params.get("view_id") == view_id
            and ("Announced in" in view_text(c.params) or "did not get the announcement" in view_text(c.params))
        ),
        timeout=20,
    )
    return call.json("view")


def test_failed_channels_are_reported_and_the_credential_kept(bot, slack, workspace, live_key):
    slack.channel_failures["CNOTIFYA"] = "not_in_channel"
    slack.channel_failures["CNOTIFYB"] = "channel_not_found"
    view, _ = workspace.run_wizard("Quiet channels", "paddle", live_key)
    result = announcement_result(workspace, view["id"])
    text = view_text(result)
    assert "Credential created" in text
    assert "<#CNOTIFYA>: the bot is not a member; invite it with /invite @Credbot" in text
    assert "<#CNOTIFYB>: channel not found" in text
    assert bot.sql("SELECT count(*) FROM credentials WHERE team_id = :t", t=workspace.team_id) == [(1,)]


def test_rate_limits_and_server_errors_are_retried(bot, slack, workspace, live_key):
    assert bot.settle()  # an announcement left over from an earlier test must not use up the one failure
    slack.channel_failures["CNOTIFYA"] = "ratelimited:1"
    slack.channel_failures["CNOTIFYB"] = "server_error:1"
    view, _ = workspace.run_wizard("Retried", "paddle", live_key)
    result = announcement_result(workspace, view["id"])
    assert "Announced in <#CNOTIFYA>, <#CNOTIFYB>" in view_text(result)
    for channel in ("CNOTIFYA", "CNOTIFYB"):
        attempts = [
            c
            for c in slack.calls_to("chat.postMessage")
            if c.params.get("channel") == channel and "Retried" in c.params.get("text", "")
        ]
        assert [c.status for c in attempts] in ([429, 200], [500, 200])


def test_persistent_server_errors_are_reported(slack, workspace, live_key):
    slack.channel_failures["CNOTIFYB"] = "server_error"
    view, _ = workspace.run_wizard("Slack down", "paddle", live_key)
    text = view_text(announcement_result(workspace, view["id"]))
    assert "Announced in <#CNOTIFYA>" in text
    assert "<#CNOTIFYB>: Slack had a server error; gave up after retries" in text


def test_user_text_is_escaped_so_nobody_is_pinged(slack, workspace, live_key):
    view, _ = workspace.run_wizard("<!channel> & <@U999> <https://evil.example|click>", "paddle", live_key)
    announcement_result(workspace, view["id"])
    posts = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "CNOTIFYA"]
    body = view_text(posts[-1].params)
    assert "<!channel>" not in body and "<@U999>" not in body and "<https://evil" not in body
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;" in body
    assert "<!channel>" not in view_text(workspace.outcome(view["id"]))


def test_announcement_has_every_field_and_fallback_text(slack, workspace, sandbox_key):
    view, _ = workspace.run_wizard("Fields", "paddle_sandbox", sandbox_key)
    announcement_result(workspace, view["id"])
    post = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "CNOTIFYB"][-1]
    text = post.params["text"]
    assert "Fields" in text and "Bill" in text and "Paddle (Sandbox Mode)" in text and "<@U0ALICE>" in text
    blocks = view_text(post.json("blocks"))
    for expected in (
        "Entity type",
        "Destination",
        "Created by",
        "Key hint",
        sandbox_key[-4:],
        "Paddle (Sandbox Mode)",
        "ID `",
    ):
        assert expected in blocks
    assert sandbox_key not in view_text(post.params)


# --- channels of another workspace (security finding 12) ------------------------------------------------------


def test_a_channel_owned_by_another_workspace_gets_no_announcement(start_bot, slack, live_key):
    from tests.kit import Workspace

    workspace = Workspace(start_bot(), slack)  # a bot of its own: owners are cached for ten minutes
    slack.channel_teams.update({"CNOTIFYA": workspace.team_id, "CNOTIFYB": "T0ELSEWHERE"})
    view, _ = workspace.run_wizard("Own channel only", "paddle", live_key)
    text = view_text(announcement_result(workspace, view["id"]))
    assert "Announced in <#CNOTIFYA>" in text
    assert "<#CNOTIFYB>: the channel belongs to another workspace" in text
    posted = {
        c.params.get("channel")
        for c in slack.calls_to("chat.postMessage")
        if "Own channel only" in c.params.get("text", "")
    }
    assert posted == {"CNOTIFYA"}


def test_a_channel_whose_owner_slack_cannot_tell_is_skipped_and_said(start_bot, slack, live_key):
    from tests.kit import Workspace

    workspace = Workspace(start_bot(), slack)
    slack.channel_info_errors["CNOTIFYB"] = "missing_scope"
    view, _ = workspace.run_wizard("Owner unknown", "paddle", live_key)
    text = view_text(announcement_result(workspace, view["id"]))
    assert "<#CNOTIFYB>: Slack could not say which workspace owns the channel" in text
    assert not [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.params.get("channel") == "CNOTIFYB" and "Owner unknown" in c.params.get("text", "")
    ]


def test_the_org_wide_option_announces_in_every_listed_channel(start_bot, slack, live_key):
    from tests.kit import Workspace

    bot = start_bot(CREDBOT_ORG_WIDE_CHANNELS="true")
    workspace = Workspace(bot, slack)
    slack.channel_teams.update({"CNOTIFYA": "T0ELSEWHERE", "CNOTIFYB": "T0ELSEWHERE"})
    view, _ = workspace.run_wizard("Org wide", "paddle", live_key)
    assert "Announced in <#CNOTIFYA>, <#CNOTIFYB>" in view_text(announcement_result(workspace, view["id"]))
