"""Consoles, progress bars, tables and atomic writes for the CLI.

The CLI is the only place that prints. Text that comes from data (file names, actor names,
scenario titles, error messages) never goes through Rich markup: tables take it as
:class:`rich.text.Text` and lines are printed with ``markup=False`` or escaped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sahelsim.core.atomic import write_all_atomic, write_atomic

console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

__all__ = [
    "Bar",
    "clip",
    "console",
    "err_console",
    "escape",
    "progress",
    "say",
    "table",
    "write_atomic",
]

#: Longest text printed from data (a title, a description, a table cell): longer texts are cut
#: with a note, so a megabyte-long field cannot stall the terminal.
MAX_TEXT = 2_000


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters with a note of how many were left out."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} more characters not shown]"


def say(text: str, limit: int | None = MAX_TEXT) -> None:
    """Print a plain line (no markup, so brackets in data are printed as they are), cut to
    ``limit`` characters (None: a report the program composed, printed whole)."""
    console.print(text if limit is None else clip(text, limit), markup=False, highlight=False)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
          right: Sequence[str] = (), **kw: Any) -> None:  # fmt: skip
    """Print a table; cells are plain text unless already :class:`~rich.text.Text`, each cut
    to :data:`MAX_TEXT` characters."""
    t = Table(title=Text(clip(title)), **kw)
    for c in columns:
        t.add_column(Text(c.replace("_", " ")), justify="right" if c in right else "left",
                     overflow="fold")  # fmt: skip
    for r in rows:
        t.add_row(*(v if isinstance(v, Text) else Text(clip(str(v))) for v in r))
    console.print(t)


class Bar:
    """Adapts a Rich progress bar to the library's ``progress(label, done, total)`` callback."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.p = progress
        self.task = progress.add_task(escape(label), total=None)

    def __call__(self, label: str, done: int, total: int) -> None:
        self.p.update(self.task, description=escape(label), completed=done, total=total)


def progress() -> Progress:
    """A transient progress display on stderr (off when stderr is not a terminal)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def write_csv(df: Any, path: Path) -> Path:
    return write_atomic(path, lambda p: df.to_csv(p, index=False))


def write_tables(tables: dict[str, Any], out: Path, *, parquet: bool = True) -> list[Path]:
    """Each frame as ``NAME.csv`` (and ``NAME.parquet``) under ``out``, atomic as a set: all
    files are replaced, or (on any failure) none."""
    items = []
    for name, df in tables.items():
        items.append((out / f"{name}.csv", lambda p, d=df: d.to_csv(p, index=False)))
        if parquet:
            items.append((out / f"{name}.parquet", lambda p, d=df: d.to_parquet(p, index=False)))
    return write_all_atomic(items)
