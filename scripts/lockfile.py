"""What ties the lock files to pyproject.toml: a digest of its dependency lists, and the pins a lock holds.

`python scripts/lockfile.py digest` prints the digest scripts/lock writes into each lock's first line;
tests/unit/test_lock.py recomputes it, so a dependency changed in pyproject.toml without `scripts/lock` fails.
`build-requirements` prints what requirements-build.lock is made from: the installer (pip) and the build backend
pyproject.toml names ([build-system] requires), which scripts/venv.sh installs from that lock, hash-checked, before
anything else (so no unpinned pip or setuptools is ever fetched or run).

scripts/venv.sh asks `stamp LOCK` for what to record after installing a lock into .venv, and
`installed-covers STAMP LOCK` whether what that record says is installed already pins everything LOCK pins
(exit 0) or LOCK must be installed (exit 1).
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
INSTALLER = "pip>=23.1"  # the pip that scripts/venv.sh installs first, from requirements-build.lock
BUILD_LOCK = "requirements-build.lock"


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def build_requirements() -> list[str]:
    """The installer and the build backend's requirements ([build-system] requires), for requirements-build.lock."""
    return [INSTALLER, *tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]]


def pyproject_digest() -> str:
    """sha256 (first 16 hex digits) of the dependency lists and the build requirements, canonically encoded."""
    data = project()
    lists = {
        "dependencies": data.get("dependencies", []),
        "optional-dependencies": data.get("optional-dependencies", {}),
        "build": build_requirements(),
    }
    return hashlib.sha256(json.dumps(lists, sort_keys=True).encode()).hexdigest()[:16]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    """{normalised name: version} of every pinned package in a lock file."""
    return {normalise(m.group(1)): m.group(2) for line in lock.read_text().splitlines() if (m := PIN.match(line))}


def recorded_digest(lock: Path) -> str | None:
    match = DIGEST.search(lock.read_text().splitlines()[0]) if lock.exists() else None
    return match.group(1) if match else None


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def stamp(lock: Path) -> str:
    """What .venv/.credbot-installed records: the lock installed, its digest, the build lock's and pyproject.toml's
    (the project is installed editable, so only its metadata, not its code, makes a reinstall necessary)."""
    return json.dumps(
        {
            "lock": lock.name,
            "lock_digest": file_digest(lock),
            "build_digest": file_digest(ROOT / BUILD_LOCK),
            "pyproject_digest": file_digest(ROOT / "pyproject.toml"),
        }
    )


def installed_covers(stamp_file: Path, wanted: Path) -> bool:
    """Whether the lock recorded in ``stamp_file``, unchanged since it was installed, with pyproject.toml
    unchanged too, pins every package ``wanted`` pins at the same version."""
    try:
        record = json.loads(stamp_file.read_text())
        installed = ROOT / record["lock"]
        current = (
            record["lock_digest"] == file_digest(installed)
            and record["build_digest"] == file_digest(ROOT / BUILD_LOCK)
            and record["pyproject_digest"] == file_digest(ROOT / "pyproject.toml")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no record, an older venv.sh's stamp, or a lock since removed: install
    if not current:
        return False
    have = pins(installed)
    return all(have.get(name) == version for name, version in pins(wanted).items())


USAGE = "usage: python scripts/lockfile.py digest | build-requirements | stamp LOCK | installed-covers STAMP LOCK"

if __name__ == "__main__":
    match sys.argv[1:]:
        case ["digest"]:
            print(pyproject_digest())
        case ["build-requirements"]:
            print("\n".join(build_requirements()))
        case ["stamp", lock]:
            print(stamp(Path(lock).resolve()))
        case ["installed-covers", stamp_file, lock]:
            sys.exit(0 if installed_covers(Path(stamp_file), Path(lock).resolve()) else 1)
        case _:
            print(USAGE, file=sys.stderr)
            sys.exit(2)
