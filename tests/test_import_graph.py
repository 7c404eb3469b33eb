"""The subpackages of fsplit_mobile import each other without a cycle, and each imports on its own.

The static check reads every module's top-level imports (function-level imports run later and cannot form an
import-time cycle) and collapses them to subpackages (``fsplit_mobile.models.checkpoint.io`` -> ``models``).
The fresh-interpreter check imports modules that once sat on the models <-> entropy cycle first, in a new
process each, where a cycle shows up as an ImportError of a partially initialised module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fsplit_mobile"


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _top_level_imports(tree: ast.Module, package: str) -> set[str]:
    """Absolute names of the fsplit_mobile modules imported outside function bodies."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    found.add(".".join(base + ([node.module] if node.module else [])))
                else:
                    found.add(node.module or "")
            for name in ("body", "orelse", "finalbody"):
                block = getattr(node, name, None)
                if isinstance(block, list):
                    visit(block)
            for handler in getattr(node, "handlers", []):
                visit(handler.body)

    visit(tree.body)
    return {m for m in found if m == "fsplit_mobile" or m.startswith("fsplit_mobile.")}


def _subpackage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def subpackage_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """subpackage -> the other subpackages its modules import at import time."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        name, is_package = _module_name(path, root)
        package = name if is_package else name.rpartition(".")[0]
        source = _subpackage(name)
        graph.setdefault(source, set())
        for target in _top_level_imports(ast.parse(path.read_text(), str(path)), package):
            target = _subpackage(target)
            if target not in (source, "fsplit_mobile"):
                graph[source].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path whose first and last entries are equal, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def test_subpackages_import_each_other_without_a_cycle():
    graph = subpackage_graph()
    assert {"fsplit_mobile.models", "fsplit_mobile.entropy", "fsplit_mobile.ops"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between subpackages: " + " -> ".join(cycle or [])


def test_shared_ops_sit_below_models_and_entropy():
    graph = subpackage_graph()
    assert graph["fsplit_mobile.ops"] == set()
    assert "fsplit_mobile.models" not in graph["fsplit_mobile.entropy"]
    assert (
        "fsplit_mobile.ops" in graph["fsplit_mobile.entropy"] and "fsplit_mobile.ops" in graph["fsplit_mobile.models"]
    )


def test_the_checker_finds_a_cycle(tmp_path):
    """The entropy -> models.parametrizers import this project once had, against models -> entropy."""
    pkg = tmp_path / "fsplit_mobile"
    for sub, text in {
        "models": "from ..entropy.bottleneck import EntropyBottleneck\n",
        "entropy": "from ..models.parametrizers import LowerBound\n",
    }.items():
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text(text)
    (pkg / "__init__.py").write_text("")
    cycle = find_cycle(subpackage_graph(pkg))
    assert cycle == ["fsplit_mobile.entropy", "fsplit_mobile.models", "fsplit_mobile.entropy"]


@pytest.mark.parametrize(
    "module",
    [
        "fsplit_mobile.ops",
        "fsplit_mobile.entropy.bottleneck",
        "fsplit_mobile.models.split",
        "fsplit_mobile.models.checkpoint",
    ],
)
def test_module_imports_first_in_a_fresh_interpreter(module):
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120, cwd=PACKAGE.parent
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


_EXPORT_NAME_CHECK = """
import sys, types
import fsplit_mobile
assert "torch" not in sys.modules, "import fsplit_mobile must stay cheap"
import fsplit_mobile.export.recipe
import fsplit_mobile.export.api
from fsplit_mobile.export import api, base
assert isinstance(fsplit_mobile.export, types.FunctionType), type(fsplit_mobile.export)
assert type(sys.modules["fsplit_mobile.export"]) is types.ModuleType
assert sys.modules["fsplit_mobile.export"].export is fsplit_mobile.export
assert api.export is not fsplit_mobile.export and base.ExportError
try:
    fsplit_mobile.export("no-such-target", out="/nonexistent")
except Exception as exc:
    assert "no-such-target" in str(exc), exc
else:
    raise AssertionError("an unknown target was accepted")
"""


def test_export_name_is_the_function_whatever_is_imported():
    """The package is a plain module (no __class__ swap); `fsplit_mobile.export(...)` stays the documented call."""
    proc = subprocess.run(
        [sys.executable, "-c", _EXPORT_NAME_CHECK], capture_output=True, text=True, timeout=300, cwd=PACKAGE.parent
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_top_level_package_imports_without_the_export_package(tmp_path):
    """The device agent's bundle ships fsplit_mobile/__init__.py without export/; importing it must still work."""
    (tmp_path / "fsplit_mobile").mkdir()
    (tmp_path / "fsplit_mobile" / "__init__.py").write_bytes((PACKAGE / "__init__.py").read_bytes())
    code = "import fsplit_mobile; assert fsplit_mobile.__file__.startswith(%r); assert not hasattr(fsplit_mobile, 'export')"
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code % str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
