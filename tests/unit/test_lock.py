"""The lock files: every package pinned with hashes, and in agreement with pyproject.toml (security finding 11)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lockfile", ROOT / "scripts" / "lockfile.py")
lockfile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lockfile)

LOCKS = {"requirements.lock": ["aws"], "requirements-test.lock": ["aws", "test"]}


@pytest.mark.parametrize("name", LOCKS)
def test_the_lock_was_made_from_this_pyproject(name):
    recorded = lockfile.recorded_digest(ROOT / name)
    assert recorded == lockfile.pyproject_digest(), (
        f"{name} was generated from another pyproject.toml; run scripts/lock and commit the lock files"
    )


@pytest.mark.parametrize("name, extras", LOCKS.items())
def test_every_requirement_is_pinned_within_its_range(name, extras):
    pins = lockfile.pins(ROOT / name)
    data = lockfile.project()
    requirements = [Requirement(r) for r in data["dependencies"]]
    requirements += [Requirement(r) for extra in extras for r in data["optional-dependencies"][extra]]
    for requirement in requirements:
        if requirement.marker and not requirement.marker.evaluate():
            continue
        version = pins.get(lockfile.normalise(requirement.name))
        assert version, f"{requirement.name} is not in {name}; run scripts/lock"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name} pins {requirement.name}=={version}, outside {requirement.specifier}; run scripts/lock"
        )


@pytest.mark.parametrize("name", LOCKS)
def test_every_pin_carries_hashes(name):
    lines = (ROOT / name).read_text().splitlines()
    pinned = [index for index, line in enumerate(lines) if lockfile.PIN.match(line)]
    assert pinned
    for index in pinned:
        assert index + 1 < len(lines) and "--hash=sha256:" in lines[index + 1], f"{lines[index]} has no hash"


def test_gunicorn_is_past_the_request_smuggling_advisory():
    """CVE-2024-6827 affects gunicorn before 23.0.0."""
    from packaging.version import Version

    assert Version(lockfile.pins(ROOT / "requirements.lock")["gunicorn"]) >= Version("23.0.0")
