"""/list-credentials latency with 1,000, 10,000 and 100,000 credentials in the workspace.

Bulk-inserts credentials into one workspace (rows built like CredentialService.create builds them: AES-GCM
under the bot's key ring with the same associated data, normalised name, hint), then times through a running
``python -m bot serve``, one request at a time:

- first page: ``/list-credentials`` (the ack carries the page);
- filtered: ``/list-credentials <word>`` matching 1% of the names;
- the App Home tab: ``app_home_opened`` until the ``views.publish`` reaches the fake Slack (40 credentials a
  page, grouped by destination), and its page 2 button likewise;
- page 2 and page 50: the "Next" button (found in the returned blocks, whatever its value format) clicked as a
  block_actions request; the ack is immediate and the page arrives at the response_url, so the time reported
  is until the response_url post reaches the fake Slack (the click's ack time is reported too).

    .venv/bin/python -m bench.list_scale --database sqlite [--sizes 1000,10000,100000] [--requests 200]
    .venv/bin/python -m bench.list_scale --database postgresql [--database-url URL]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
import uuid
from datetime import datetime, timedelta, UTC
from pathlib import Path
from typing import Any

from bench.common import BenchPaddle, BenchSlack, BotProcess, bot_overrides, database, machine, summarize, write_json
from tests.kit import Workspace

SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu")
WORDS = [a + b for a in SYLLABLES for b in SYLLABLES]  # 100 four-letter words: a word filter matches 1%
FILTER_WORD = "kalo"
BATCH = 5000


def seed(database_url: str, keys: str, workspace: Workspace, start: int, count: int) -> float:
    """Insert credentials number start..start+count-1 into the workspace; returns seconds taken."""
    from sqlalchemy import insert, text

    from bot.infra.setting_checks import parse_encryption_keys
    from bot.credentials.models import Credential
    from bot.credentials.types import Workspace as Scope
    from bot.credentials.service import binding
    from bot.credentials.names import name_key
    from bot.credentials.vault import KeyRing
    from bot.infra.db import create_db_engine
    from bot.infra.secret import Secret

    parsed, problems = parse_encryption_keys(keys)
    assert not problems, problems
    ring = KeyRing(parsed)
    scope = Scope(workspace.enterprise_id or "", workspace.team_id)
    engine = create_db_engine(database_url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        for batch_start in range(start, start + count, BATCH):
            rows = []
            for i in range(batch_start, min(start + count, batch_start + BATCH)):
                destination = "paddle_sandbox" if i % 10 == 9 else "paddle"
                env = "sdbx" if destination == "paddle_sandbox" else "live"
                key = f"pdl_{env}_apikey_{secrets.token_hex(13)}_{secrets.token_hex(13)}"
                credential_id = str(uuid.uuid4())
                sealed = ring.encrypt(Secret(key), binding(credential_id, scope, destination, "bill"))
                name = f"Seed {WORDS[i % len(WORDS)]} {i:06d}"
                rows.append(
                    {
                        "id": credential_id,
                        "enterprise_id": scope.enterprise_id,
                        "team_id": scope.team_id,
                        "name": name,
                        "name_key": name_key(name),
                        "entity_type": "bill",
                        "destination": destination,
                        "encrypted_key": sealed.blob,
                        "encryption_key_id": sealed.key_id,
                        "key_hint": key[-4:],
                        "created_by": "USEED",
                        "created_at": now - timedelta(seconds=i),
                    }
                )
            with engine.begin() as conn:
                conn.execute(insert(Credential), rows)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE credentials"))  # what autovacuum would do after a bulk load
    finally:
        engine.dispose()
    return time.perf_counter() - started


def next_button(blocks: list[dict]) -> tuple[str, str, str] | None:
    """(action_id, value, block_id) of the button that goes to the next page, found without knowing its format."""
    for block in blocks or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            label = str((element.get("text") or {}).get("text", ""))
            if element.get("type") == "button" and (
                "next" in element.get("action_id", "").lower() or label.lower().startswith("next")
            ):
                return element["action_id"], element.get("value", ""), block.get("block_id", "b")
    return None


class Clicker:
    def __init__(self, workspace: Workspace, slack: BenchSlack) -> None:
        self.workspace, self.slack = workspace, slack

    def click(self, button: tuple[str, str, str]) -> tuple[float, float, list[dict]]:
        """Click; returns (ack ms, ms until the page reached the response_url, the page's blocks)."""
        name = "page-" + uuid.uuid4().hex
        self.slack.expect("response_url", name)
        started = time.perf_counter()
        reply = self.workspace.click(
            button[0], button[1], block_id=button[2], response_url=self.slack.response_url(name)
        )
        ack_ms = (time.perf_counter() - started) * 1000
        assert reply.status == 200, (reply.status, reply.text)
        call = self.slack.wait("response_url", name)
        done_ms = (time.perf_counter() - started) * 1000
        return ack_ms, done_ms, call.params.get("blocks") or []


def home_ms(workspace: Workspace, slack: BenchSlack, action) -> float:
    """Milliseconds from ``action`` until the Home tab is published."""
    slack.expect("views.publish", workspace.user_id)
    started = time.perf_counter()
    action()
    slack.wait("views.publish", workspace.user_id)
    return (time.perf_counter() - started) * 1000


def open_home(workspace: Workspace) -> None:
    event = {"type": "app_home_opened", "user": workspace.user_id, "channel": "D0", "tab": "home"}
    reply = workspace.bot.sender.event(
        {
            "type": "event_callback",
            "team_id": workspace.team_id,
            "api_app_id": "A0001",
            "event": event,
            "event_id": uuid.uuid4().hex,
            "authorizations": [{"team_id": workspace.team_id, "is_bot": True}],
        }
    )
    assert reply.status == 200, reply.text


def command(workspace: Workspace, text: str = "") -> tuple[float, list[dict]]:
    started = time.perf_counter()
    reply = workspace.command("/list-credentials", text)
    ms = (time.perf_counter() - started) * 1000
    assert reply.status == 200, (reply.status, reply.text)
    return ms, reply.json().get("blocks") or []


def deepest_button(clicker: Clicker, button: tuple[str, str, str] | None) -> tuple[str, str, str] | None:
    """Follow Next from page 2 to page 49: the button that opens page 50 (None when there are fewer pages)."""
    for _ in range(48):
        _, _, page_blocks = clicker.click(button)
        button = next_button(page_blocks)
        if button is None:
            break
    return button


def measure(workspace: Workspace, slack: BenchSlack, requests: int, warmup: int = 10) -> dict[str, Any]:
    clicker = Clicker(workspace, slack)
    samples: dict[str, list[float]] = {
        k: []
        for k in (
            "first page",
            f"filtered '{FILTER_WORD}'",
            "page 2 (click ack)",
            "page 2 (until shown)",
            "page 50 (until shown)",
            "Home tab (until published)",
            "Home page 2 (until published)",
        )
    }

    _, blocks = command(workspace)
    print("  first page says:", str((blocks[0].get("text") or {}).get("text", ""))[:120], flush=True)
    page2 = next_button(blocks)
    assert page2, "no Next button on the first page"
    deep = deepest_button(clicker, page2)
    for round_ in range(warmup + requests):
        keep = round_ >= warmup
        ms, _ = command(workspace)
        if keep:
            samples["first page"].append(ms)
        ms, _ = command(workspace, FILTER_WORD)
        if keep:
            samples[f"filtered '{FILTER_WORD}'"].append(ms)
        ack_ms, done_ms, _ = clicker.click(page2)
        if keep:
            samples["page 2 (click ack)"].append(ack_ms)
            samples["page 2 (until shown)"].append(done_ms)
        if deep:
            _, done_ms, _ = clicker.click(deep)
            if keep:
                samples["page 50 (until shown)"].append(done_ms)
        ms = home_ms(workspace, slack, lambda: open_home(workspace))
        if keep:
            samples["Home tab (until published)"].append(ms)
        ms = home_ms(workspace, slack, lambda: workspace.home_button("home_page_next", "1"))
        if keep:
            samples["Home page 2 (until published)"].append(ms)
    return {k: summarize(v) for k, v in samples.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--label", default="list_scale")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {"args": vars(args), "machine": machine(), "sizes": {}}
    from bot.infra.db import upgrade

    with (
        BenchSlack() as slack,
        BenchPaddle() as live,
        BenchPaddle() as sandbox,
        tempfile.TemporaryDirectory(prefix="credbot-bench-") as tmp,
        database(args.database, args.database_url, Path(tmp)) as (database_url, keys),
    ):
        upgrade(database_url)
        bot = BotProcess(Path(tmp), slack, live, sandbox, **bot_overrides(database_url, keys)).start()
        try:
            workspace = Workspace(bot, slack, team_id="TSCALE" + uuid.uuid4().hex[:6].upper(), user_id="UREADER")
            other = Workspace(bot, slack, team_id="TOTHER" + uuid.uuid4().hex[:6].upper())
            seed(database_url, keys, other, 0, 5000)  # another workspace's rows in the same table
            have = 0
            for size in sizes:
                seconds = seed(database_url, keys, workspace, have, size - have)
                have = size
                print(
                    f"seeded {size} credentials ({seconds:.1f} s); timing {args.requests} requests of each kind",
                    flush=True,
                )
                results["sizes"][size] = measure(workspace, slack, args.requests)
        except Exception:
            print("bot log (last 60 lines):\n" + "\n".join(bot.log().splitlines()[-60:]))
            raise
        finally:
            bot.stop()

    base = results["sizes"][sizes[0]]
    print(f"/list-credentials, database {args.database}, one request at a time, ms (x = median ratio to {sizes[0]:,})")
    print(f"{'size':>8} {'request':30} {'med':>7} {'p95':>7} {'p99':>7} {'max':>7} {'med x':>6} {'p99 x':>6}")
    for size in sizes:
        for kind, s in results["sizes"][size].items():
            b = base[kind]
            print(
                f"{size:8,} {kind:30} {s['median']:7.1f} {s['p95']:7.1f} {s['p99']:7.1f} {s['max']:7.1f} "
                f"{s['median'] / b['median']:6.2f} {s['p99'] / b['p99']:6.2f}"
            )
    print(f"results: {write_json(f'{args.label}-{args.database}', results)}")


if __name__ == "__main__":
    main()
