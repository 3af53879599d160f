"""The shape the README's "How it is built" draws, checked: the core imports no Slack, provider, settings,
logging configuration or metrics; providers import no core service; nothing in bot/ grows past the sizes
that keep a function or a class readable at once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
CORE_FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "bot.slack",
    "bot.providers",
    "bot.infra.settings",
    "bot.infra.logs",
    "bot.infra.metrics",
    "bot.cli",
    "bot.wiring",
    "bot.keys",
    "boto3",
    "prometheus_client",
)
PROVIDER_FORBIDDEN = (
    "bot.credentials.service",
    "bot.credentials.queries",
    "bot.credentials.models",
    "bot.slack",
    "bot.infra.settings",
)


def modules(folder: str) -> list[Path]:
    return sorted((BOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def offending(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in imported(path) if any(name == f or name.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("path", modules("credentials"), ids=lambda p: p.name)
def test_the_core_imports_no_adapter(path):
    assert offending(path, CORE_FORBIDDEN) == []


@pytest.mark.parametrize("path", modules("providers"), ids=lambda p: p.name)
def test_providers_import_only_the_core_types(path):
    assert offending(path, PROVIDER_FORBIDDEN) == []


def test_no_function_over_60_lines_and_no_class_over_250():
    too_long = []
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            limit = (
                60
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                else 250
                if isinstance(node, ast.ClassDef)
                else None
            )
            if limit and node.end_lineno - node.lineno + 1 > limit:
                too_long.append(f"{path.relative_to(BOT)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert too_long == []


def test_no_two_modules_share_a_name():
    names: dict[str, list[str]] = {}
    for path in BOT.rglob("*.py"):
        if path.name != "__init__.py" and "migrations" not in path.parts:
            names.setdefault(path.stem, []).append(str(path.relative_to(BOT)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}


@pytest.mark.parametrize("path", sorted((BOT.parent / "bench").rglob("*.py")), ids=lambda p: p.name)
def test_the_benchmarks_share_only_the_test_kit(path):
    """bench/ reuses the fakes and bots through tests.kit, never a test module or conftest."""
    assert [
        name
        for name in imported(path)
        if name.startswith("tests") and not (name == "tests.kit" or name.startswith("tests.kit."))
    ] == []
