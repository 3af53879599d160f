"""What `check` reports (bot.cli.deployment_check, bot.cli.workspace_checks): one result per check, and the Slack
tokens the checks ask with."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # slack-sdk is imported only by the Slack checks, when they run
    from slack_sdk import WebClient

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def document(self) -> dict:
        return {"name": self.name, "ok": self.ok, **asdict(self)}


@dataclass
class SlackTarget:
    """One bot token to check: the process's, or one installation's (OAuth mode)."""

    label: str  # "" for SLACK_BOT_TOKEN, else the workspace
    client: WebClient
    fix: str
    workspace_id: str = ""  # the installation's workspace (its team, or its org for an org-wide install)
    bot_name: str = "credbot"
    working: bool = False
