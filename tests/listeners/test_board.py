"""The board is edited with no database lock held while Slack is called: each look happens from inside the fake
Slack's chat.postMessage and chat.update for the board channel, while the bot waits for the answer.
(tests/e2e/test_expiry_and_board.py holds the rest: two instances, one message, the latest state.)"""

from __future__ import annotations

import sqlite3

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.kit import Workspace, created_id, view_text

# How long a look waits for a lock. A lock held across the Slack call is held until the fake answers, that is
# until after this look: it always runs out. Anything else (an audit row being written) is gone long before.
LOCK_WAIT_SECONDS = 2


def board_row_free(bot) -> bool:
    """Can another connection take the board's row (on SQLite: the database's one write lock) now?"""
    if bot.database_kind == "sqlite":
        connection = sqlite3.connect(make_url(bot.database_url).database, timeout=LOCK_WAIT_SECONDS)
        connection.isolation_level = None
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            connection.close()
    try:
        with bot.engine.begin() as connection:
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
            connection.execute(text("SELECT channel_id FROM board_messages FOR UPDATE"))
        return True
    except OperationalError:
        return False


def test_no_database_lock_is_held_while_slack_posts_or_edits_the_board(start_bot, slack, paddle_live):
    bot = start_bot(CREDBOT_BOARD_CHANNEL="CBOARDLOCK")
    workspace = Workspace(bot, slack)
    looks: list[tuple[str, bool]] = []

    def look(method: str):
        return lambda params: params.get("channel") == "CBOARDLOCK" and looks.append((method, board_row_free(bot)))

    slack.on_call["chat.postMessage"] = look("chat.postMessage")
    slack.on_call["chat.update"] = look("chat.update")
    for name in ("Board lock one", "Board lock two"):  # the first posts the board, the second edits it
        created_id(workspace, name, paddle_live.new_key("live"))
        assert bot.settle()
    assert looks == [("chat.postMessage", True), ("chat.update", True)]
    last = [c for c in slack.calls if c.method == "chat.update" and c.params.get("channel") == "CBOARDLOCK"][-1]
    assert "`Board lock one`" in view_text(last.params) and "`Board lock two`" in view_text(last.params)
