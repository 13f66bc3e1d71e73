"""The pattern scorecard (``sahelsim validate``): every pattern, its target, the model's median
and 90 % interval, and whether it passes (read from ``validate.json`` when it exists)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from sahelsim.report.html import note, table
from sahelsim.viz.text import esc

_STATUS_CLASS = {"pass": "v-supported", "fail": "v-contradicted", "reported": "v-mixed"}


def _value(x: Any, display: str) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(v):
        return ""
    if display == "percent":
        return f"{100 * v:.0f} %"
    if display == "year":
        return f"{v:.0f}"
    return f"{v:,.3g}" if abs(v) < 10 else f"{v:,.0f}"


def section_validation(df: pd.DataFrame | None) -> str:
    if df is None or not len(df):
        return note(
            "No scorecard in this output folder: run <code>sahelsim validate --out OUT</code>"
            " (with the same OUT) before the report to show how the model reproduces the"
            " documented patterns of the war."
        )
    d = df.copy()
    disp = d["display"] if "display" in d else pd.Series("number", index=d.index)
    for c in ("median", "q05", "q95"):
        if c not in d:
            d[c] = float("nan")
    d["model"] = [
        f"{_value(m, s)}" + (f" ({_value(a, s)} to {_value(b, s)})" if _value(a, s) else "")
        for m, a, b, s in zip(d["median"], d["q05"], d["q95"], disp, strict=True)
    ]
    for c in ("title", "unit_name", "target", "note"):
        if c not in d:
            d[c] = ""
    d["what"] = [f"{p} {t}".strip() for p, t in zip(d["pattern"], d["title"], strict=True)]
    counts = d["status"].value_counts().to_dict()
    head = note(
        "Patterns the model must reproduce at once (pattern-oriented modelling): "
        + ", ".join(f"{esc(str(v))} {esc(str(k))}" for k, v in counts.items())
        + ". A failure is a result: it says where the model does not yet look like the war."
    )
    return head + table(
        d,
        [
            ("what", "Pattern"),
            ("unit_name", "Unit"),
            ("target", "Target"),
            ("model", "Model median (90 % interval)"),
            ("status", "Status"),
            ("note", "How measured / why"),
        ],
        cell_class={"status": lambda s: _STATUS_CLASS.get(str(s), "v-other")},
    )
