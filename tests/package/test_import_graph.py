"""fsplit_mobile's modules import each other without a cycle, and each imports on its own.

The static checks read every import statement of every module -- at the top level, inside functions and under
TYPE_CHECKING alike (issue 21: 112 of 399 imports sat in functions, where the old top-level-only check could not
see six cycles) -- resolving relative imports and ``from package import submodule``. One check asserts that no
module takes part in a cycle; another collapses the graph to subpackages (``fsplit_mobile.models.checkpoint.io`` ->
``models``) and asserts the same there. The layering itself is import-linter's (pyproject.toml
``[tool.importlinter]``, run by ``make lint``). The fresh-interpreter checks import modules that once sat on the
models <-> entropy cycle first, in a new process each, where a cycle shows up as an ImportError of a partially
initialised module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from repo_paths import PACKAGE


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root.parent).parts)
    parts[-1] = parts[-1].split(".")[0]  # module.py, and a C extension's _name.cpython-311-....so
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _modules(root: Path) -> dict[str, Path]:
    """Every module of the package (C extensions included) -> its file; packages by their __init__.py."""
    found: dict[str, Path] = {}
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.so")]):
        if "__pycache__" not in path.parts:
            found.setdefault(_module_name(path, root)[0], path)
    return found


def _imports(tree: ast.Module, package: str, known: set[str]) -> set[str]:
    """The fsplit_mobile modules one module imports, wherever the statement is (top level, function, class,
    TYPE_CHECKING block). ``from X import name`` counts as X.name when that is a module, else as X; a name below a
    module (``import a.b.c`` where only a.b exists) counts as the innermost existing module."""

    def existing(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(existing(a.name) for a in node.names if a.name.split(".")[0] == "fsplit_mobile")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "fsplit_mobile":
                continue
            for alias in node.names:
                full = f"{module}.{alias.name}"
                found.add(full if full in known else existing(module))
    return {m for m in found if m is not None}


def module_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the modules it imports (every import statement, see the module docstring)."""
    modules = _modules(root)
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = set()
        if path.suffix != ".py":
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(ast.parse(path.read_text(), str(path)), package, known) - {name}
    return graph


def _subpackage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def subpackage_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """subpackage -> the other subpackages its modules import (the module graph collapsed)."""
    graph: dict[str, set[str]] = {}
    for source, targets in module_graph(root).items():
        sub = _subpackage(source)
        graph.setdefault(sub, set()).update(
            _subpackage(t) for t in targets if _subpackage(t) not in (sub, "fsplit_mobile")
        )
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


def test_modules_import_each_other_without_a_cycle():
    graph = module_graph()
    assert len(graph) > 150 and sum(map(len, graph.values())) > 400  # the whole package was read
    assert "fsplit_mobile.codec._rans" in graph and "fsplit_mobile.codec.compat" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between modules: " + " -> ".join(cycle or [])


def test_function_level_imports_are_in_the_graph():
    graph = module_graph()
    # bench_main imports the bench CLI and registers e2e's command inside the function
    assert {"fsplit_mobile.bench.cli", "fsplit_mobile.e2e.study"} <= graph["fsplit_mobile.cli"]
    # the registry builds bottleneck units through an import inside a function
    assert "fsplit_mobile.models.bottleneck_unit" in graph["fsplit_mobile.models.registry"]


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


def test_codec_and_runtime_are_leaves():
    """The device bundle ships bench/device, runtime and codec: they import nothing else of the package."""
    graph = subpackage_graph()
    assert graph["fsplit_mobile.codec"] == set()
    assert graph["fsplit_mobile.runtime"] <= {"fsplit_mobile.codec"}
    device = {t for m, ts in module_graph().items() if m.startswith("fsplit_mobile.bench.device") for t in ts}
    assert {_subpackage(t) for t in device} <= {"fsplit_mobile.bench", "fsplit_mobile.runtime", "fsplit_mobile.codec"}
    assert {t for t in device if t.startswith("fsplit_mobile.bench.")} <= {
        m for m in module_graph() if m.startswith("fsplit_mobile.bench.device")
    }


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


def test_the_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    """codec/rans <-> codec/table_cache as it was: the core coder imported its own cache inside a function."""
    pkg = tmp_path / "fsplit_mobile" / "codec"
    pkg.mkdir(parents=True)
    (pkg.parent / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "rans.py").write_text("def encode_with_indexes():\n    from . import table_cache\n")
    (pkg / "table_cache.py").write_text("from .rans import RawTables\n")
    assert find_cycle(module_graph(tmp_path / "fsplit_mobile")) == [
        "fsplit_mobile.codec.rans",
        "fsplit_mobile.codec.table_cache",
        "fsplit_mobile.codec.rans",
    ]
    assert find_cycle(subpackage_graph(tmp_path / "fsplit_mobile")) is None  # within one subpackage: unseen there


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
from fsplit_mobile.export import api, errors
assert isinstance(fsplit_mobile.export, types.FunctionType), type(fsplit_mobile.export)
assert type(sys.modules["fsplit_mobile.export"]) is types.ModuleType
assert sys.modules["fsplit_mobile.export"].export is fsplit_mobile.export
assert api.export is not fsplit_mobile.export and errors.ExportError
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
    from fsplit_mobile.bench.bundle import AGENT_PARENTS

    (tmp_path / "fsplit_mobile").mkdir()
    for name in AGENT_PARENTS:  # the package root's files the bundle ships: __init__.py and its _version.py
        if "/" not in name:
            (tmp_path / "fsplit_mobile" / name).write_bytes((PACKAGE / name).read_bytes())
    code = "import fsplit_mobile; assert fsplit_mobile.__file__.startswith(%r); assert not hasattr(fsplit_mobile, 'export')"
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code % str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
