"""The package's shape: no import cycle, modules and functions a reader can take in at once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "n2d"
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80
SHORT_FUNCTIONS = ("n2d.estimator", "n2d.cli", "n2d.datasets")  # where every function must be short


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> set[str]:
    """The n2d modules ``name`` imports, at module level or inside functions (not under TYPE_CHECKING)."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    return {m for m in found if m in MODULES and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_the_import_graph_has_no_cycle():
    graph = {name: _imports(name) for name in MODULES}
    assert graph["n2d.estimator"], "the import graph was not read"  # the parser sees imports at all
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_persistence_imports_no_stage():
    stages = ("n2d.estimator", "n2d.autoencoder", "n2d.manifold", "n2d.cluster")
    for name in MODULES:
        if name.startswith("n2d.persistence"):
            imported = _imports(name)
            assert not [m for m in imported if m.startswith(stages)], name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_longer_than_a_reader_takes_in(name):
    lines = MODULES[name].read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines (at most {MAX_MODULE_LINES})"


def _code_lines(func: ast.AST, source: list[str]) -> int:
    """Lines of a function that hold code: not blank, not comments, not its docstring."""
    skip = set()
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    count = 0
    for number in range(func.lineno, func.end_lineno + 1):
        text = source[number - 1].strip()
        if number not in skip and text and not text.startswith("#"):
            count += 1
    return count


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m.startswith(SHORT_FUNCTIONS)))
def test_no_function_is_longer_than_a_reader_takes_in(name):
    text = MODULES[name].read_text()
    source = text.split("\n")
    long = [
        f"{node.name} ({_code_lines(node, source)} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node, source) > MAX_FUNCTION_LINES
    ]
    assert long == [], f"{name}: functions over {MAX_FUNCTION_LINES} lines of code"
