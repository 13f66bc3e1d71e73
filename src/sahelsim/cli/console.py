"""Consoles, progress bars, tables and atomic writes for the CLI.

The CLI is the only place that prints. Text that comes from data (file names, actor names,
scenario titles, error messages) never goes through Rich markup: tables take it as
:class:`rich.text.Text` and lines are printed with ``markup=False`` or escaped.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

__all__ = ["Bar", "console", "err_console", "escape", "progress", "say", "table", "write_atomic"]


def say(text: str) -> None:
    """Print a plain line (no markup, so brackets in data are printed as they are)."""
    console.print(text, markup=False, highlight=False)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
          right: Sequence[str] = (), **kw: Any) -> None:  # fmt: skip
    """Print a table; cells are plain text unless already :class:`~rich.text.Text`."""
    t = Table(title=Text(title), **kw)
    for c in columns:
        t.add_column(Text(c.replace("_", " ")), justify="right" if c in right else "left",
                     overflow="fold")  # fmt: skip
    for r in rows:
        t.add_row(*(v if isinstance(v, Text) else Text(str(v)) for v in r))
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


def write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """``write(tmp)`` into a temporary file next to ``path``, then rename it over ``path``
    (a crash leaves the old file or none, never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(df: Any, path: Path) -> Path:
    return write_atomic(path, lambda p: df.to_csv(p, index=False))


def write_tables(tables: dict[str, Any], out: Path) -> list[Path]:
    """Each frame as ``NAME.csv`` and ``NAME.parquet`` under ``out``."""
    written = []
    for name, df in tables.items():
        written.append(write_csv(df, out / f"{name}.csv"))
        written.append(
            write_atomic(out / f"{name}.parquet", lambda p, d=df: d.to_parquet(p, index=False))
        )
    return written
