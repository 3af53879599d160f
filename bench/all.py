"""Every benchmark of the issue, one after the other, on one database.

    .venv/bin/python -m bench.all --database sqlite|postgresql [--database-url URL] [--quick]

--quick runs small sizes (a smoke test of the tooling, not figures to quote).
"""

from __future__ import annotations

import argparse
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    db = ["--database", args.database] + (["--database-url", args.database_url] if args.database_url else [])
    if args.quick:
        runs = [
            ["bench.load", "--users", "4", "--wizards", "40"],
            ["bench.load", "--users", "4", "--wizards", "40", "--think-ms", "200", "--label", "load-unsaturated"],
            ["bench.list_scale", "--sizes", "1000,2000", "--requests", "20"],
            ["bench.memory", "--users", "4", "--wizards", "200", "--memory-every", "50"],
        ]
    else:
        runs = [
            ["bench.load", "--users", "16", "--wizards", "400"],
            # unsaturated: 16 users pausing 100-300 ms (200 on average) before each step, so acks are not
            # queueing behind each other; then the same in lockstep (every pause 200 ms), which makes the 16
            # users' final stages, and the work each sets off, arrive together
            ["bench.load", "--users", "16", "--wizards", "400", "--think-ms", "200", "--label", "load-unsaturated"],
            [
                "bench.load",
                "--users",
                "16",
                "--wizards",
                "400",
                "--think-ms",
                "200",
                "--think-jitter",
                "0",
                "--label",
                "load-lockstep",
            ],
            ["bench.list_scale", "--sizes", "1000,10000,100000", "--requests", "200"],
            ["bench.memory", "--users", "16", "--wizards", "1000"],
        ]
    status = 0
    for run in runs:
        print(f"\n=== python -m {' '.join(run + db)}", flush=True)
        status |= subprocess.call([sys.executable, "-m", *run, *db])
    sys.exit(status)


if __name__ == "__main__":
    main()
