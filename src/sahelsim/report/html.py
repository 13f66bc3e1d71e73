"""HTML pieces of the report: notes, tables, long text cells (every data value escaped)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from sahelsim.viz.text import esc

__all__ = ["note", "scroll", "table"]


def scroll(value: Any) -> str:
    """A long data text in a cell (it wraps; nothing is cut, on screen or in print)."""
    return f'<div class="scroll">{esc(value)}</div>'


def note(text: str, cls: str = "note") -> str:
    """A paragraph of explanatory HTML (``text`` is HTML: escape data in it)."""
    return f'<p class="{cls}">{text}</p>'


def left_out_note(problems: Sequence[str]) -> str:
    """The note naming the input tables a section left out, and why ("" when none)."""
    if not problems:
        return ""
    return note("Left out: " + "; ".join(esc(x) for x in problems) + ".", cls="note notrun")


def table(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    *,
    fmt: dict[str, Callable[[Any], str]] | None = None,
    row_class: Callable[[pd.Series], str] | None = None,
    cell_class: dict[str, Callable[[Any], str]] | None = None,
    cls: str = "",
) -> str:
    """An HTML table of ``df`` (columns: (column, header)); every cell escaped unless a
    formatter in ``fmt`` (which must escape itself) handles it."""
    fmt = fmt or {}
    cell_class = cell_class or {}
    head = "".join(f"<th>{esc(h)}</th>" for _, h in columns)
    rows = []
    for _, r in df.iterrows():
        rc = f' class="{row_class(r)}"' if row_class else ""
        tds = []
        for col, _h in columns:
            v = r.get(col)
            text = fmt[col](v) if col in fmt else esc(v)
            cc = f' class="{cell_class[col](v)}"' if col in cell_class else ""
            tds.append(f"<td{cc}>{text}</td>")
        rows.append(f"<tr{rc}>{''.join(tds)}</tr>")
    c = f' class="{cls}"' if cls else ""
    return (
        f'<div class="table-wrap"><table{c}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
