"""The generated tables of ``docs/model.md``, rendered from the field table and the registry.

``docs/model.md`` marks each generated table with ``<!-- table:NAME -->`` ... ``<!-- /table -->``;
:func:`render_doc` replaces what is between the marks and the tests check the file is up to
date. Regenerate with ``python -m sahelsim.model.doctables docs/model.md``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from sahelsim.model import fields_table as T
from sahelsim.model.registry import REGISTRY


def _g(x: object) -> str:
    if isinstance(x, bool):
        return str(x).lower()
    return f"{x:g}" if isinstance(x, float | int) else str(x)


def _esc(t: object) -> str:
    return str(t).replace("|", "\\|")


def _rows(head: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def state_table() -> str:
    rows = [(f"`{f.name}`", "cell", f.unit, f.doc) for f in T.CELL_FIELDS]
    rows += [(f"`{f.name}`", "country", f.unit, f.doc) for f in T.COUNTRY_FIELDS]
    rows.append(("`growth_cum`", "member", "people", "residents added by growth"))
    return _rows(("variable", "level", "unit / range", "meaning"), rows)


def mechanism_table() -> str:
    rows = [(m.order + 1, f"`{m.name}`", m.section, ", ".join(f"`{w}`" for w in m.writes))
            for m in REGISTRY]  # fmt: skip
    return _rows(("step", "mechanism (switch)", "article section", "writes"), rows)


def parameter_table() -> str:
    rows = [(f"`{s.name}`", _g(s.default), s.unit, f"{_g(s.lo)} – {_g(s.hi)}", s.mechanism,
             s.source, s.section or "—") for s in T.SPECS]  # fmt: skip
    head = ("name", "default", "unit", "prior range", "mechanism", "source", "article section")
    return _rows(head, rows)


def _values(v: object) -> str:
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {_g(x)}" for k, x in v.items())
    return _g(v)


def lever_table() -> str:
    rows = []
    for s in T.LEVERS:
        hist = "—"
        if s.history:
            hist = f"start {_values(s.initial)}; " + "; ".join(
                f"{dt} {c or 'all'} → {_g(v)}" for dt, c, v in s.history
            )
        rows.append((f"`{s.name}`", s.label, s.kind, s.unit, _values(s.default), s.range_text(),
                     s.scope, hist, s.article_section))  # fmt: skip
    head = ("lever", "label", "kind", "unit", "default from 2025-01", "range", "scope",
            "dated default schedule", "article section")  # fmt: skip
    return _rows(head, rows)


def _rule(o: T.Output) -> str:
    terms = " + ".join(f"`{t}`" for t in o.terms)
    if o.rule == "hold_share":
        return f"area share of cells with `hold` = {o.code}"
    if o.rule == "area_mean":
        return f"area-weighted mean of {terms}"
    return f"sum over cells of {terms}" if o.rule == "cells" else terms


def output_table() -> str:
    rows = [(f"`{o.name}`", o.description, _rule(o)) for o in T.COUNTRY_OUTPUTS]
    rows += [(f"`cell_{o.name}`", f"{o.description}; {o.dtype}", " + ".join(
        f"`{t}`" for t in o.terms)) for o in T.CELL_OUTPUTS]  # fmt: skip
    return _rows(("variable", "description (unit)", "computed from one member-month"), rows)


TABLES: dict[str, Callable[[], str]] = {
    "state": state_table,
    "mechanisms": mechanism_table,
    "parameters": parameter_table,
    "levers": lever_table,
    "outputs": output_table,
}
_MARK = re.compile(r"(<!-- table:(\w+) -->\n)(.*?)(<!-- /table -->)", re.S)


def render_doc(text: str) -> str:
    """``text`` with every marked table regenerated (unknown table names raise KeyError)."""
    return _MARK.sub(lambda m: m.group(1) + TABLES[m.group(2)]() + "\n" + m.group(4), text)


def main(path: str) -> None:
    p = Path(path)
    new = render_doc(p.read_text(encoding="utf-8"))
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=p.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    os.replace(tmp, p)


if __name__ == "__main__":
    main(sys.argv[1])
