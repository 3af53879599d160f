"""Ack time of each wizard step, measured through Slack's door.

Starts the fake Slack and Paddle on loopback and a real `python -m bot serve`,
then walks the wizard N times (one user at a time) and reports, per step, the
time until the HTTP answer Slack waits for (its 3-second ack budget), plus
the time until the "Verifying" view is replaced by the outcome.

    .venv/bin/python -m bench.wizard_ack [--runs 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from tests.kit import BotProcess, FakePaddle, FakeSlack, Workspace

STEPS = (
    "/create-credential",
    "stage 1 name",
    "stage 2 entity type",
    "stage 3 destination",
    "stage 4 key (ack)",
    "verified + saved (views.update)",
    "/list-credentials",
)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def walk(workspace: Workspace, paddle: FakePaddle, number: int, samples: dict[str, list[float]]) -> None:
    trigger = f"bench-{number}-{time.time_ns()}"
    reply, ms = timed(lambda: workspace.command("/create-credential", trigger_id=trigger))
    assert reply.status == 200
    samples[STEPS[0]].append(ms)
    call = workspace.slack.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger)
    view = {**call.json("view"), "id": call.response["view"]["id"]}
    for step, (block, value) in zip(
        STEPS[1:4], (("name", f"Bench {number}"), ("entity_type", "bill"), ("destination", "paddle")), strict=True
    ):
        reply, ms = timed(lambda: workspace.submit(view, {block: value}))  # noqa: B023 (called at once)
        assert reply.json()["response_action"] == "update", reply.text
        samples[step].append(ms)
        view = {**reply.json()["view"], "id": view["id"]}
    key = paddle.new_key("live")
    started = time.perf_counter()
    reply, ms = timed(lambda: workspace.submit(view, {"api_key": key}))
    assert reply.json()["response_action"] == "update", reply.text
    samples[STEPS[4]].append(ms)
    workspace.outcome(view["id"])
    samples[STEPS[5]].append((time.perf_counter() - started) * 1000)
    reply, ms = timed(lambda: workspace.command("/list-credentials"))
    assert reply.status == 200
    samples[STEPS[6]].append(ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--database-url", default="", help="default: the embedded SQLite file")
    parser.add_argument("--keys", default="", help="CREDBOT_ENCRYPTION_KEYS, needed with --database-url")
    args = parser.parse_args()

    # One user walks the wizard back to back: the allowance of checks a minute raised (each still claimed).
    overrides = {"CREDBOT_NOTIFY_CHANNELS": "CBENCH1,CBENCH2", "CREDBOT_PROVIDER_CHECKS_PER_MINUTE": "10000"}
    if args.database_url:
        overrides |= {"DATABASE_URL": args.database_url, "CREDBOT_ENCRYPTION_KEYS": args.keys}
    with FakeSlack() as slack, FakePaddle() as live, FakePaddle() as sandbox, tempfile.TemporaryDirectory() as tmp:
        bot = BotProcess(Path(tmp), slack, live, sandbox, **overrides).start()
        try:
            workspace = Workspace(bot, slack)
            samples: dict[str, list[float]] = {step: [] for step in STEPS}
            walk(workspace, live, -1, {step: [] for step in STEPS})  # warm-up, not counted
            for number in range(args.runs):
                walk(workspace, live, number, samples)
                if number % 25 == 24:
                    slack.reset()  # keep the fake's call log small
        finally:
            bot.stop()

    print(
        f"Credbot wizard, {args.runs} runs, one user at a time, {platform.python_version()}, "
        f"{platform.machine()}, database "
        f"{'SQLite (embedded)' if not args.database_url else args.database_url.split(':')[0]}"
    )
    print(f"{'step':34} {'median ms':>10} {'p95 ms':>8} {'worst ms':>9}")
    for step in STEPS:
        values = sorted(samples[step])
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        print(f"{step:34} {statistics.median(values):10.1f} {p95:8.1f} {values[-1]:9.1f}")


if __name__ == "__main__":
    main()
