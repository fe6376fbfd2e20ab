"""The package's import graph, read from the source with :mod:`ast` (nothing is imported).

Every ``import`` statement counts, at module level or inside a function, under
``if TYPE_CHECKING:`` or not: a dependency is a dependency even when it is deferred. Two rules are
checked on it (``tests/test_layers.py``):

* **one direction**: no module outside the CLI layer (``mvkl.cli`` and the ``mvkl.__main__``
  entry point) imports ``mvkl.cli``;
* **no cycle between subpackages**: in the graph whose nodes are the first-level parts of the
  package (``mvkl.store``, ``mvkl.train``, ``mvkl.errors`` …), there is no cycle.

``python -m mvkl.tools.layers`` prints that graph, the arrows into the CLI and the cycles, and
exits 1 if either rule is broken (modules in ``--allow`` excepted).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["CLI_LAYER", "cli_violations", "find_cycles", "module_imports", "package_graph", "subpackage_of"]

#: Modules of the command-line layer: they may import mvkl.cli, nothing else may.
CLI_LAYER = ("mvkl.cli", "mvkl.__main__")


def _module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved against ``module``)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def module_imports(root: Path) -> dict[str, set[str]]:
    """For each module of the package at ``root`` (the folder with its ``__init__.py``), the modules
    of that package it imports. ``from pkg import name`` counts as ``pkg.name`` when that is a
    module of the package, else as ``pkg``."""
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    names = {_module_name(root, p): p for p in files}
    top = root.name
    graph: dict[str, set[str]] = {}
    for mod, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.split(".")[0] == top)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(node, mod, path.name == "__init__.py")
                if target.split(".")[0] != top:
                    continue
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in names]
                deps.update(subs or [target])
        deps.discard(mod)
        graph[mod] = deps
    return graph


def _within(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def cli_violations(graph: Mapping[str, set[str]], cli: Iterable[str] = CLI_LAYER) -> dict[str, set[str]]:
    """Modules outside the CLI layer and the CLI modules each of them imports."""
    cli = tuple(cli)
    cli_pkg = cli[0]
    out = {}
    for mod, deps in graph.items():
        if _within(mod, cli):
            continue
        bad = {d for d in deps if _within(d, (cli_pkg,))}
        if bad:
            out[mod] = bad
    return out


def subpackage_of(module: str) -> str:
    """``mvkl.train.config`` → ``mvkl.train``; ``mvkl.errors`` → itself; ``mvkl`` → itself."""
    return ".".join(module.split(".")[:2])


def package_graph(graph: Mapping[str, set[str]], skip: Iterable[str] = ()) -> dict[str, set[str]]:
    """The subpackage graph: an arrow A → B when a module of A imports one of B (``skip``: modules
    left out, e.g. those allowed to break the rules for now). The root ``mvkl/__init__.py`` is
    left out (it imports nothing of the package)."""
    skip = tuple(skip)
    out: dict[str, set[str]] = {}
    for mod, deps in graph.items():
        if _within(mod, skip):
            continue
        a = subpackage_of(mod)
        out.setdefault(a, set())
        for d in deps:
            b = subpackage_of(d)
            if b != a and "." in b and "." in a:
                out[a].add(b)
    return out


def find_cycles(pkg: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(pkg.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(pkg):
        if v not in index:
            visit(v)
    return sorted(comps)


def main(argv: list[str] | None = None) -> int:
    """Print the subpackage graph, the arrows into the CLI and the cycles; 1 if any rule is broken."""
    ap = argparse.ArgumentParser(prog="python -m mvkl.tools.layers", description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="Package folder.")
    ap.add_argument("--allow", action="append", default=[], help="Module (prefix) exempt from both rules.")
    args = ap.parse_args(argv)
    graph = module_imports(args.root)
    pkg = package_graph(graph, skip=args.allow)
    for a in sorted(pkg):
        print(f"{a} → {', '.join(sorted(pkg[a])) or '(nothing)'}")
    bad = {m: d for m, d in cli_violations(graph).items() if not _within(m, args.allow)}
    cycles = find_cycles(pkg)
    for m in sorted(bad):
        print(f"library imports the CLI: {m} → {', '.join(sorted(bad[m]))}")
    for c in cycles:
        print(f"cycle between subpackages: {' ↔ '.join(c)}")
    print(f"{len(graph)} modules, {len(pkg)} subpackages, {len(bad)} arrows into the CLI, {len(cycles)} cycles")
    return 1 if bad or cycles else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
