"""The shape docs/architecture.md draws, checked: the core imports no Slack, provider, settings, logging
configuration or metrics; providers import no core service; no import circles and no arrow back up the layers
(LAYERS below); nothing grows past the sizes that keep a module, a function or a class readable at once. Each
rule is also run on a deliberately bad example, so that a rule that could no longer fail is noticed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOT = REPO / "bot"
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


# -- the import graph: no circles, no arrow back up ---------------------------------------------------------------

# Each package of bot/ and its layer: a module imports only from its own layer and those below it. The core knows
# nothing of the rest; keys, providers and infrastructure adapt it to the world; the surfaces (Slack, the CLI,
# the read API) and the modules that assemble a deployment (wiring, runtime) sit on top.
LAYERS = {
    "bot.credentials": 0,
    "bot.infra.secret": 0,  # the Secret wrapper: a plain value with no imports, which the core hands around
    "bot.keys": 1,
    "bot.providers": 1,
    "bot.infra": 1,
    "bot.migrations": 1,
    "bot.wiring": 2,
    "bot.runtime": 2,
    "bot.slack": 2,
    "bot.cli": 2,
    "bot.api": 2,
    "bot.__main__": 2,
    "bot": 2,
}


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under ``root/package``, by its dotted name (a package by its own name)."""
    names = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, *, type_checking: bool) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level or inside a function; those under ``if TYPE_CHECKING`` only when
    asked. The rules ask: a circle only a type checker follows is still two modules that cannot be understood
    apart (slack/notify and slack/channel_owners were one)."""
    found, pending = [], [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            if type_checking or not _type_checking_only(child):
                pending.append(child)
    return found


def import_graph(root: Path, package: str, *, type_checking: bool) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (``from a import b`` is module a.b when there is one)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text()), type_checking=type_checking):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def layer(module: str) -> int:
    return next(LAYERS[p] for p in sorted(LAYERS, key=len, reverse=True) if module == p or module.startswith(p + "."))


def arrows_up(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{source} (layer {layer(source)}) -> {target} (layer {layer(target)})"
        for source, targets in graph.items()
        for target in targets
        if layer(target) > layer(source)
    )


def test_no_import_circles_in_bot():
    assert circles(import_graph(REPO, "bot", type_checking=True)) == []


def test_no_arrow_back_up_the_layers():
    graph = import_graph(REPO, "bot", type_checking=True)
    assert set(graph) and all(layer(module) in (0, 1, 2) for module in graph)  # every module has a layer
    assert arrows_up(graph) == []


def test_the_graph_rules_catch_a_bad_example(tmp_path):
    """The guard's own guard: a circle through a function-local and a relative import, one through an import only
    a type checker follows, and an arrow up."""
    bad = tmp_path / "bot"
    (bad / "credentials").mkdir(parents=True)
    (bad / "slack").mkdir()
    for folder in (bad, bad / "credentials", bad / "slack"):
        (folder / "__init__.py").write_text("")
    (bad / "credentials" / "core.py").write_text("def f():\n    from bot.slack import listener\n")
    (bad / "slack" / "listener.py").write_text("from ..credentials import core\n")
    (bad / "slack" / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.slack.back import X\n"
    )
    (bad / "slack" / "back.py").write_text("import bot.slack.typed\n")
    graph = import_graph(tmp_path, "bot", type_checking=False)
    assert circles(graph) == [["bot.credentials.core", "bot.slack.listener"]]
    assert arrows_up(graph) == ["bot.credentials.core (layer 0) -> bot.slack.listener (layer 2)"]
    assert circles(import_graph(tmp_path, "bot", type_checking=True)) == [
        ["bot.credentials.core", "bot.slack.listener"],
        ["bot.slack.back", "bot.slack.typed"],
    ]


# -- sizes: modules, functions, classes ---------------------------------------------------------------------------

MODULE_LIMIT, FUNCTION_LIMIT, CLASS_LIMIT = 400, 60, 250
SIZED = ("bot", "bench", "tests/kit")  # functions and classes; modules: bot/ only


def too_long(paths: list[Path]) -> list[str]:
    """Functions over FUNCTION_LIMIT lines and classes over CLASS_LIMIT, as path:name (lines)."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                limit = FUNCTION_LIMIT
            elif isinstance(node, ast.ClassDef):
                limit = CLASS_LIMIT
            else:
                continue
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.append(f"{path}:{node.name} ({lines} lines)")
    return found


def too_big(paths: list[Path]) -> list[str]:
    return [f"{path} ({n} lines)" for path in paths if (n := len(path.read_text().splitlines())) > MODULE_LIMIT]


def test_no_function_over_60_lines_and_no_class_over_250():
    assert too_long([p for folder in SIZED for p in sorted((REPO / folder).rglob("*.py"))]) == []


def test_no_module_in_bot_over_400_lines():
    assert too_big(sorted(BOT.rglob("*.py"))) == []


def test_the_size_rules_catch_a_bad_example(tmp_path):
    body = "".join(f"    x{n} = {n}\n" for n in range(FUNCTION_LIMIT))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n\nclass Short:\n    pass\n")
    (tmp_path / "big.py").write_text("x = 1\n" * (MODULE_LIMIT + 1))
    (tmp_path / "fits.py").write_text("x = 1\n" * MODULE_LIMIT)
    assert too_long([tmp_path / "long.py"]) == [f"{tmp_path / 'long.py'}:long ({FUNCTION_LIMIT + 1} lines)"]
    assert too_big([tmp_path / "big.py", tmp_path / "fits.py"]) == [f"{tmp_path / 'big.py'} ({MODULE_LIMIT + 1} lines)"]
