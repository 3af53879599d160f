"""The operators' documents say what the code does: every metric family the bot exports is in docs/metrics.md."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import REGISTRY

import bot.infra.metrics  # noqa: F401 (registers the families)

DOCS = Path(__file__).parents[2] / "docs"


def test_every_metric_family_is_documented_and_nothing_else():
    exported = {f.name for f in REGISTRY.collect() if f.name.startswith("credbot_")}
    documented = {
        re.sub(r"_total$", "", name)
        for name in re.findall(r"^\| `(credbot_[a-z_]+)`", (DOCS / "metrics.md").read_text(), re.M)
    }
    assert exported == documented
