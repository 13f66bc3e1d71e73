"""AST scan of sahelsim's imports: every import (module-level and inside functions), the module
graph they form, its cycles, and the imports hidden inside functions.

    python tools/import_graph.py [--src src]   # prints JSON; exit 1 if a cycle exists

Used by tests/test_architecture.py; import-linter checks the layer contracts, this checks
what it does not: cycles through function-level imports and lazy imports of our own modules.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path
from typing import NamedTuple

#: Third-party packages that may be imported inside a function: optional extras and slow imports.
LAZY_ALLOWED = frozenset({
    "ray", "streamlit", "playwright", "mesa", "matplotlib", "scoringrules", "netCDF4",
    "typer", "pyarrow", "tomllib", "torch", "sbi",
})  # fmt: skip


class Edge(NamedTuple):
    """One import: module ``src`` imports ``dst`` at ``line``."""

    src: str
    dst: str
    line: int
    lazy: bool  # inside a function or method body


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def scan(src: Path, package: str = "sahelsim") -> tuple[set[str], list[Edge]]:
    root = src
    modules: set[str] = set()
    edges: list[Edge] = []
    for path in sorted((src / package).rglob("*.py")):
        mod = module_name(path, root)
        modules.add(mod)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_pkg = path.name == "__init__.py"
        func_lines: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        func_lines.add(id(sub))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_pkg, node)
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            else:
                continue
            # TYPE_CHECKING blocks never run
            for t in targets:
                edges.append(Edge(mod, t, node.lineno, id(node) in func_lines))
    # keep the longest existing module prefix of every target
    resolved: list[Edge] = []
    for e in edges:
        dst = e.dst
        while dst and dst not in modules and "." in dst:
            dst = dst.rsplit(".", 1)[0]
        if not dst.startswith(package):
            resolved.append(Edge(e.src, e.dst.split(".")[0], e.line, e.lazy))
            continue
        if dst in modules and dst != e.src and dst != package:  # the root holds only metadata
            resolved.append(Edge(e.src, dst, e.line, e.lazy))
    return modules, sorted(set(resolved), key=lambda e: (e.src, e.line, e.dst))


def cycles(modules: set[str], edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), i.e. import cycles.
    A package's ``__init__`` importing its own submodules is not a cycle by itself."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        if e.dst in modules and not e.dst.startswith(e.src + "."):
            graph[e.src].add(e.dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def lazy_imports(edges: list[Edge], package: str = "sahelsim") -> list[Edge]:
    """Function-level imports that are not of an allowed optional or slow extra."""
    return [e for e in edges if e.lazy and (e.dst.startswith(package) or e.dst not in LAZY_ALLOWED)
            and e.dst not in sys.stdlib_module_names]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"))
    a = ap.parse_args()
    modules, edges = scan(Path(a.src))
    cyc = cycles(modules, edges)
    lazy = lazy_imports(edges)
    print(json.dumps({
        "modules": len(modules),
        "edges": len(edges),
        "cycles": cyc,
        "lazy_imports": [f"{e.src}:{e.line} -> {e.dst}" for e in lazy],
    }, indent=1))  # fmt: skip
    return 1 if cyc else 0


if __name__ == "__main__":
    raise SystemExit(main())
