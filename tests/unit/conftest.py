"""Unit tests are pure: they need none of the fake servers that tests/conftest.py starts for every test."""

import pytest


@pytest.fixture(autouse=True)
def _clean_fakes():
    """Overrides the suite-wide fixture of the same name, so no fake Slack or Paddle is started here."""
    yield
