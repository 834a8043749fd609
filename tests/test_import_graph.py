"""The modules of ``edgec/`` import each other without a cycle: the stages read top down.

The graph is built statically from the source (``ast``), so the test needs no heavy import:

- every ``import`` and ``from ... import`` counts, at module level and inside functions
  (a lazy import still ties the two modules together; only ``if TYPE_CHECKING:`` blocks,
  which never run, are skipped);
- ``from pkg import name`` is an edge to the submodule ``pkg.name`` when that is a module,
  else to ``pkg``;
- ``importlib.import_module(f"<package>.{name}")`` (``<package>`` written out or as
  ``__name__``), how registries load every module of a package, is an edge to each module
  directly in that package;
- importing ``a.b.c`` runs the ``__init__`` of ``a.b`` as well, so an edge to a module is
  also an edge to each package above it, except the packages that contain the importer
  (Python initializes those before the importer runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "edgec"


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _dynamic_package(node: ast.Call, name: str, is_package: bool) -> str | None:
    """The package ``importlib.import_module(f"<package>.{...}")`` loads modules from."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called != "import_module" or not node.args or \
            not isinstance(node.args[0], ast.JoinedStr):
        return None
    prefix = ""
    for part in node.args[0].values:
        if isinstance(part, ast.Constant):
            prefix += part.value
        elif isinstance(part.value, ast.Name) and part.value.id == "__name__":
            prefix += name if is_package else name.rpartition(".")[0]
        else:
            break
    return prefix[:-1] if prefix.endswith(".") else None


def _import_nodes(tree: ast.AST):
    """Every import statement of ``tree`` (and ``import_module`` call), at any depth, outside
    ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _targets(node, name: str, is_package: bool, modules) -> set[str]:
    """The modules of ``modules`` that import statement ``node`` in module ``name`` names."""
    if isinstance(node, ast.Call):
        package = _dynamic_package(node, name, is_package)
        return {m for m in modules if package and m.rpartition(".")[0] == package}
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:  # relative: resolve against the importing module's package
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    found = set()
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        found.add(sub if sub in modules else source)
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``modules`` that importing it runs (see the docstring)."""
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        containing = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        if is_package:
            containing.add(name)
        edges = set()
        for node in _import_nodes(ast.parse(path.read_text(), str(path))):
            for target in _targets(node, name, is_package, modules):
                parts = target.split(".")
                for k in range(1, len(parts) + 1):
                    above = ".".join(parts[:k])
                    if above in modules and above not in containing and above != name:
                        edges.add(above)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None (iterative DFS)."""
    state = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph[nxt])))
    return None


def test_edgec_has_no_import_cycle():
    cycle = find_cycle(import_graph(module_files()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("source, cycle", [
    ({"p/__init__.py": "", "p/a.py": "from p import b", "p/b.py": "def f():\n import p.a"},
     ["p.a", "p.b", "p.a"]),
    ({"p/__init__.py": "from p.a import x", "p/a.py": "x = 1", "q/__init__.py": "",
      "q/m.py": "from p.a import x", "p/b.py": "import q.m"}, None),
    ({"p/__init__.py": "from p.b import y", "p/a.py": "x = 1", "p/b.py": "import q.m\ny = 1",
      "q/__init__.py": "", "q/m.py": "from p.a import x"}, ["p", "p.b", "q.m", "p"]),
    ({"p/__init__.py": "", "p/reg.py": "import importlib\n"
      "def load():\n    importlib.import_module(f'p.ops.{x}')",
      "p/ops/__init__.py": "", "p/ops/a.py": "from p.reg import load"},
     ["p.ops.a", "p.reg", "p.ops.a"]),
    ({"p/__init__.py": "", "p/a.py": "from typing import TYPE_CHECKING\n"
      "if TYPE_CHECKING:\n    from p.b import y", "p/b.py": "from . import a"}, None),
])
def test_the_checker_finds_cycles_and_only_cycles(tmp_path, source, cycle):
    """Two modules importing each other (lazily too), through a package ``__init__``, a
    registry loading its registrants by name; a
    package's own ``__init__`` and ``TYPE_CHECKING`` imports are not cycles."""
    for rel, text in source.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    modules = {**module_files(tmp_path, "p"), **module_files(tmp_path, "q")} \
        if (tmp_path / "q").exists() else module_files(tmp_path, "p")
    assert find_cycle(import_graph(modules)) == cycle
