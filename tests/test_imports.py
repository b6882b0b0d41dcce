"""The package's structure: no import cycle, and the search's bookkeeping without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sknas"


def _module_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports at module level (relative imports)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    graph = {}
    for name, (path, is_package) in modules.items():
        edges = set()
        for node in ast.parse(path.read_text()).body:
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            base = name.split(".")[: None if is_package else -1]
            base = base[: len(base) - node.level + 1] + ([node.module] if node.module else [])
            target = ".".join(base)
            for alias in node.names:
                edges.add(
                    f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
                )
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_module_imports_itself_through_others():
    graph = _module_graph()
    assert "sknas.study" in graph and "sknas.trial" in graph["sknas.fidelity"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]  # the check can fail


@pytest.mark.slow  # imports in a new process
def test_the_search_bookkeeping_imports_without_torch():
    code = (
        "import sys\n"
        "import sknas.study, sknas.strategies, sknas.trial, sknas.space, sknas.fidelity\n"
        "print(sorted(m for m in ('torch', 'skorch') if m in sys.modules))\n"
        "from sknas import NASClassifier\n"  # the estimators load torch on first use
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]


def _imports_before_torch(path: Path) -> list[str] | None:
    """What ``path`` imports at module level before torch or skorch (module names, and
    the names of ``from`` imports), or None if it imports neither there."""
    before: list[str] = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            modules, names = [alias.name for alias in node.names], []
        elif isinstance(node, ast.ImportFrom):
            modules, names = [node.module or ""], [alias.name for alias in node.names]
        else:
            continue
        if any(module.split(".")[0] in ("torch", "skorch") for module in modules):
            return before
        before += modules + names
    return None


def test_every_module_that_imports_torch_loads_sklearns_openmp_code_first():
    # Otherwise gradient boosting's fits run on two OpenMP runtimes at once, 10-20 times
    # slower on small tables (sknas.utils._native_threads).
    first = next(
        node
        for node in ast.parse((PACKAGE / "evaluation" / "__init__.py").read_text()).body
        if isinstance(node, ast.ImportFrom)
    )
    package_first = [alias.name for alias in first.names] == ["_native_threads"]
    late = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if (before := _imports_before_torch(path)) is not None
        and "_native_threads" not in before
        and path.parent.name != "evaluation"
    ]
    assert package_first and late == []
    assert _imports_before_torch(PACKAGE / "utils" / "_native_threads.py") is None


@pytest.mark.slow  # imports in a new process
def test_gradient_boosting_loads_before_torch_after_a_users_sklearn_import():
    code = (
        "import sys, builtins\n"
        "import sklearn.linear_model\n"  # loads scikit-learn's loss module, not boosting's
        "seen = []\n"
        "real_import = builtins.__import__\n"
        "def spy(name, *args, **kwargs):\n"
        "    if name == 'torch' and not seen:\n"
        "        seen.append('sklearn.ensemble._hist_gradient_boosting.histogram' in sys.modules)\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = spy\n"
        "from sknas import NASClassifier\n"
        "print(seen)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[True]"
