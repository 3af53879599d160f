"""Reading a bot's GET /metrics as a scrape would."""

from __future__ import annotations

import urllib.request

Samples = dict[tuple[str, tuple], float]


def scrape(url: str) -> Samples:
    """Every sample of the exposition at ``url``, by (name, sorted labels)."""
    # Imported here, not with the module: the kit is imported by the fork server, which must not import
    # prometheus-client before its children have set PROMETHEUS_MULTIPROC_DIR (tests/kit/forkserver.py).
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str) -> float:
    """The sum of ``name`` over all its labels."""
    return sum(count for (sample, _labels), count in samples.items() if sample == name)
