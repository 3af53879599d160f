"""What ties the lock files to pyproject.toml: a digest of its dependency lists, and the pins a lock holds.

`python scripts/lockfile.py digest` prints the digest scripts/lock writes into each lock's first line;
tests/unit/test_lock.py recomputes it, so a dependency changed in pyproject.toml without `scripts/lock` fails.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
DIGEST = re.compile(r"pyproject digest ([0-9a-f]{16})")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pyproject_digest() -> str:
    """sha256 (first 16 hex digits) of the dependency lists, canonically encoded."""
    data = project()
    lists = {"dependencies": data.get("dependencies", []),
             "optional-dependencies": data.get("optional-dependencies", {})}
    return hashlib.sha256(json.dumps(lists, sort_keys=True).encode()).hexdigest()[:16]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    """{normalised name: version} of every pinned package in a lock file."""
    return {normalise(m.group(1)): m.group(2) for line in lock.read_text().splitlines() if (m := PIN.match(line))}


def recorded_digest(lock: Path) -> str | None:
    match = DIGEST.search(lock.read_text().splitlines()[0]) if lock.exists() else None
    return match.group(1) if match else None


if __name__ == "__main__":
    if sys.argv[1:] == ["digest"]:
        print(pyproject_digest())
    else:
        print("usage: python scripts/lockfile.py digest", file=sys.stderr)
        sys.exit(2)
