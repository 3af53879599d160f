"""What the read API's shared per-token rate costs a secret read: ``AccessTokens.read_secret`` in this process,
with the rate counted in the database (``per_minute``) and without it, on a fresh SQLite file or PostgreSQL
schema. The token reads every half second of a fake clock, so the minute being counted always holds about 120
reads (the default rate): the count's index range is as long as it gets without a refusal.

    .venv/bin/python -m bench.token_reads --database sqlite     # or postgresql [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import database


def measure(url: str, keys: str, reads: int) -> dict[str, float]:
    from bot import wiring
    from bot.credentials.access_tokens import AccessTokens
    from bot.credentials.audit import AuditLog
    from bot.credentials.types import Workspace
    from bot.infra.db import create_db_engine, session_factory, upgrade
    from bot.infra.secret import Secret
    from bot.infra.settings import load_settings
    from bot.keys.local_keys import load_key_ring
    from tests.kit import make_key

    upgrade(url)
    settings = load_settings({"DATABASE_URL": url, "CREDBOT_ENCRYPTION_KEYS": keys}, purpose="keys")
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    core = wiring.credential_service(
        settings.model_copy(update={"verify_keys": False}), sessions, load_key_ring(settings)
    )
    workspace = Workspace("", "TBENCH")
    item = core.create(
        workspace, "U0BENCH", name="Bench", entity_type="bill", destination="paddle", api_key=Secret(make_key("live"))
    )
    now = [datetime.now(UTC)]
    audit = AuditLog(core.sessions, clock=lambda: now[0])  # it stamps the reads the rate counts
    tokens = AccessTokens(core.sessions, audit, core.decrypt_for_reader, clock=lambda: now[0])
    _, info = tokens.issue("bench", [item.id], "U0BENCH")
    samples: dict[str, list[float]] = {"without the count": [], "with the count": []}
    for number in range(reads):
        pair = {}
        for label, per_minute in (("without the count", None), ("with the count", 121))[:: 1 if number % 2 else -1]:
            now[0] += timedelta(seconds=0.5)  # a read each half second: 120 in the minute, of both kinds
            started = time.perf_counter()
            tokens.read_secret(info, item.id, "127.0.0.1", per_minute)
            pair[label] = (time.perf_counter() - started) * 1000
        if number >= 50:  # the first are warm-up
            for label, took in pair.items():
                samples[label].append(took)
    from sqlalchemy import text

    with engine.connect() as connection:  # what the last count went over
        in_window = connection.execute(
            text("SELECT count(*) FROM audit_events WHERE action = 'credential.read' AND at > :since"),
            {"since": now[0] - timedelta(seconds=60)},
        ).scalar_one()
    engine.dispose()
    medians = {label: statistics.median(values) for label, values in samples.items()}
    # Each pair ran back to back: the median of their differences is steadier on a busy machine than the
    # difference of the medians.
    differences = [b - a for a, b in zip(samples["without the count"], samples["with the count"], strict=True)]
    return medians | {"added": statistics.median(differences), "in the minute": in_window}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--reads", type=int, default=1000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as workdir,
        database(args.database, args.database_url, Path(workdir)) as (url, keys),
    ):
        medians = measure(url, keys, args.reads)
    added, in_window = medians.pop("added"), medians.pop("in the minute")
    print(f"{args.database}: reads in the minute each count went over: {in_window:.0f}")
    for label, median in medians.items():
        print(f"{args.database}: read_secret {label}: median {median:.3f} ms")
    print(f"{args.database}: the count adds {added:.3f} ms a read (median of back-to-back pairs)")


if __name__ == "__main__":
    main()
