"""The shape of the code, kept: no import cycles among bot, localslack, processing_job and infra (imports
inside functions counted), and each layer imports only what its role allows.

Imports under `if TYPE_CHECKING:` are left out of the graph: they are never executed, only read by type
checkers. `from package import module` is an edge to that module (not to the package's __init__).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "localslack", "processing_job", "infra")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = modules()


def type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def executed_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree`, functions' bodies included, except what runs only for type checkers."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if type_checking_only(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imported_names(name: str, path: Path) -> Iterator[str]:
    """Every module `name` imports, at module level or inside functions, `from . import x` resolved."""
    is_package = path.name == "__init__.py"
    for node in executed_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:  # `from bot.slack import blocks` imports the module bot.slack.blocks
                submodule = f"{origin}.{alias.name}"
                yield submodule if submodule in MODULES else origin


def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (the nearest known module of each imported name)."""
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in imported_names(name, path):
            candidate = imported
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def all_imports(prefix: str) -> Iterator[tuple[str, str]]:
    """(module, imported name) for every module under `prefix`, third-party names included."""
    for name, path in MODULES.items():
        if name == prefix or name.startswith(prefix + "."):
            for imported in imported_names(name, path):
                yield name, imported


def importing(prefix: str, forbidden: tuple[str, ...], allowed: set[str] = frozenset()) -> list[str]:
    return sorted(
        f"{module} imports {imported}"
        for module, imported in all_imports(prefix)
        if module not in allowed and any(imported == f or imported.startswith(f + ".") for f in forbidden)
    )


def test_the_walk_finds_the_packages():
    assert {"bot.slack.app", "bot.runtime.compose", "localslack.demo", "processing_job.spec"} <= set(MODULES)


def test_imports_inside_functions_count_and_type_only_ones_dont(tmp_path: Path):
    module = tmp_path / "example.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import only_typed\n"
        "def late():\n    from bot.slack import blocks\n    import json\n"
    )
    assert set(imported_names("example", module)) == {"typing", "bot.slack.blocks", "json"}


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_among_bot_localslack_processing_job_and_infra():
    assert cycles(graph()) == []


def test_the_product_rules_know_nothing_of_slack_or_aws():
    assert importing("bot.conversation", ("slack_bolt", "slack_sdk", "boto3", "botocore")) == []


# The product's rules: pure, over the ports. The use cases beside them (bot.conversation.conversation)
# speak through the chat adapter and the Block Kit builders, but never Slack's SDK or AWS's directly.
RULES = ("sessions", "quotas", "limits", "references", "ports", "updates", "requests")


@pytest.mark.parametrize("rules", RULES)
def test_the_rules_import_nothing_of_the_bot_outside_them(rules: str):
    module = f"bot.conversation.{rules}"
    if module not in MODULES:
        pytest.skip(f"no {module}")
    outside = ("bot.slack", "bot.adapters", "bot.jobs", "bot.runtime", "slack_bolt", "slack_sdk", "boto3")
    assert importing(module, outside) == []


def test_the_render_job_knows_nothing_of_the_bot_or_slack():
    assert importing("processing_job", ("bot", "localslack", "slack_bolt", "slack_sdk")) == []


def test_the_deployed_bot_never_imports_the_stand_in_the_demo_or_the_local_server():
    # `python -m bot demo|serve` delegates to localslack: bot/__main__.py never runs on Lambda.
    assert importing("bot", ("localslack",), allowed={"bot.__main__"}) == []


@pytest.mark.parametrize("heavy", ["torch", "diffusers", "transformers"])
def test_nothing_in_the_bot_imports_the_generation_stack(heavy: str):
    assert importing("bot", (heavy,)) == []
