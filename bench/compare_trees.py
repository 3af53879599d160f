"""Server CPU per wizard of several source trees of Credbot, measured alternately in one run.

Each tree is a checkout (or an exported copy) of the repository with a ``.venv`` of its own or linked; a tree
given as ``PATH@off`` runs with ``--library-shortcuts off`` (a tree that has the switch). The trees take turns,
round after round (``bench.load --only credbot`` in each), so that the machine's noise falls on all of them alike;
the median of each tree's rounds is compared with the first tree's:

    .venv/bin/python -m bench.compare_trees --rounds 5 BASE_TREE OTHER_TREE... [-- extra bench.load options]

docs/decisions/library-internals.md was measured this way (one tree per deviation removed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path


def one_run(spec: str, extra: list[str]) -> float:
    """Server CPU ms per wizard of one bench.load run in the tree ``spec`` names."""
    path, _, switch = spec.partition("@")
    tree = Path(path)
    if switch:
        extra = [*extra, "--library-shortcuts", switch]
    label = "compare"
    before = set((tree / "bench" / "results").glob(f"{label}-*.json"))
    command = [str(tree / ".venv/bin/python"), "-m", "bench.load", "--only", "credbot", "--label", label, *extra]
    subprocess.run(command, cwd=tree, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (result,) = set((tree / "bench" / "results").glob(f"{label}-*.json")) - before
    return float(json.loads(result.read_text())["credbot"]["server_cpu_ms_per_wizard"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("trees", nargs="+")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    print(f"load average at start: {os.getloadavg()}")
    samples: dict[str, list[float]] = {tree: [] for tree in args.trees}
    for round_number in range(args.rounds):
        for tree in args.trees:
            samples[tree].append(one_run(tree, extra))
        print(
            f"round {round_number + 1}: " + ", ".join(f"{_name(t)} {s[-1]:.2f}" for t, s in samples.items()), flush=True
        )
    base = statistics.median(samples[args.trees[0]])
    for tree, values in samples.items():
        median = statistics.median(values)
        print(
            f"{_name(tree):24} median {median:6.2f} ms/wizard  {median / base:6.3f} x {_name(args.trees[0])}  {values}"
        )


def _name(spec: str) -> str:
    path, _, switch = spec.partition("@")
    return Path(path).name + (f"@{switch}" if switch else "")


if __name__ == "__main__":
    main()
