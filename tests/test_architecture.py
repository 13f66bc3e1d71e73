"""The package's shape: layers point one way (import-linter), no import cycle anywhere
(including imports inside functions), no lazy imports of our own modules, modules of a
readable size."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import import_graph as ig  # noqa: E402

SRC = ROOT / "src"
MAX_LINES = 600


def _scan():
    return ig.scan(SRC)


def test_no_import_cycles():
    modules, edges = _scan()
    assert ig.cycles(modules, edges) == []


def test_cycle_finder_finds_a_cycle(tmp_path):
    pkg = tmp_path / "sahelsim"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from sahelsim import b\n")
    (pkg / "b.py").write_text("from sahelsim.a import f\n")
    modules, edges = ig.scan(tmp_path)
    assert ig.cycles(modules, edges) == [["sahelsim.a", "sahelsim.b"]]
    assert [e.dst for e in ig.lazy_imports(edges)] == ["sahelsim.b"]


def test_no_function_level_imports_but_optional_extras():
    _, edges = _scan()
    bad = [f"{e.src}:{e.line} -> {e.dst}" for e in ig.lazy_imports(edges)]
    assert bad == []


def test_modules_stay_readable():
    long = {}
    for p in (SRC / "sahelsim").rglob("*.py"):
        n = len(p.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and not p.name.endswith("_table.py"):
            long[str(p.relative_to(SRC))] = n
    assert long == {}


@pytest.mark.skipif(importlib.util.find_spec("importlinter") is None, reason="needs [dev]")
def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "lint-imports not installed"
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
