"""Peak memory of Credbot's serving process over 1,000 wizards, and its growth over the last 500.

Runs the load of bench.load against Credbot only (16 users by default) and samples the gunicorn worker's
/proc/<pid>/status VmRSS and VmHWM (peak) every 100 wizards, starting after the warm-up.

    .venv/bin/python -m bench.memory --database sqlite [--wizards 1000] [--users 16]
    .venv/bin/python -m bench.memory --database postgresql [--database-url URL]
"""

from __future__ import annotations

import argparse

from bench.load import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--wizards", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--memory-every", type=int, default=100)
    parser.add_argument("--label", default="memory")
    args = parser.parse_args()
    args.only = "credbot"
    args.profile_dir, args.think_ms = "", 0
    print(run(args))


if __name__ == "__main__":
    main()
