"""The library entry points the CLI reaches that are moving between layers, imported from one
place so a move is a one-line change here; and the one backend seam."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from sahelsim.core.backend import Backend
from sahelsim.core.config import resolve_data_dir
from sahelsim.core.errors import SahelsimError
from sahelsim.data.ingest import present_sources
from sahelsim.data.store.store import Store
from sahelsim.distributed import make_backend
from sahelsim.evidence.ingest import ingest_all
from sahelsim.grid.build import build_grid

log = logging.getLogger("sahelsim.cli")

DEFAULT_OUT = Path("out")

__all__ = [
    "Store", "ensure_grid", "ingest_all", "open_backend", "open_store", "present_sources",
]  # fmt: skip


@contextlib.contextmanager
def open_backend(name: str, address: str | None) -> Iterator[Backend | None]:
    """``--backend``/``--address`` as the library's ``backend=``: None for the default (this
    process); otherwise the backend of :func:`sahelsim.distributed.make_backend`, closed at the
    end."""
    if name == "local" and not address:
        yield None
        return
    be = make_backend(name, address)
    try:
        yield be
    finally:
        be.close()


def store_path(store: Path | None, out: Path) -> Path:
    return Path(store) if store else Path(out) / "sahelsim.duckdb"


def open_store(path: Path, *, read_only: bool = False) -> Store:
    """The DuckDB store at ``path``; a file that is not a DuckDB database, or one another
    process holds open, is a :class:`SahelsimError` naming the file (not a DuckDB traceback)."""
    try:
        return Store(path, read_only=read_only)
    except duckdb.Error as exc:
        reason = str(exc).split(". See also", 1)[0].removeprefix("IO Error: ")
        raise SahelsimError(f"store {path}: cannot open it: {reason}") from None


def data_or_none(data_dir: Path) -> Path | None:
    """The data directory when it exists (the library then falls back to the synthetic grid)."""
    return data_dir if data_dir.exists() else None


def ensure_grid(st: Any, data_dir: Path) -> None:
    """Build the PRIO-GRID study grid into the store (once per store)."""
    if st.count("cells"):
        return
    try:
        grid = build_grid(data_dir)
    except FileNotFoundError as exc:
        log.warning("grid not built: %s", exc)
        return
    st.replace_cells(grid.cells)


def ingested_store(data_dir: Path | None, store: Path | None, out: Path,
                   progress: Any = None) -> tuple[Store, Path, list[Any]]:  # fmt: skip
    """Open the store, ingest the data directory into it (a no-op for files already in) and
    build the grid; returns (store, resolved data dir, ingest reports)."""
    dd = resolve_data_dir(data_dir)
    st = open_store(store_path(store, out))
    try:
        reports = ingest_all(dd, st, progress=progress)
        ensure_grid(st, dd)
    except BaseException:
        st.close()
        raise
    return st, dd, reports
