"""Escaping and number formatting for HTML, Plotly text and inline JSON; Plotly date numbers."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "VIOLENCE_NAMES",
    "esc",
    "finite",
    "fmt_num",
    "log_ticks",
    "mid_year",
    "plotly_text",
    "safe_json",
    "short_num",
    "to_ms",
]

#: UCDP violence types in plain words (machine files keep the short ids).
VIOLENCE_NAMES = {
    "sb": "state-based",
    "ns": "non-state",
    "os": "one-sided (civilians)",
    "state_based": "state-based",
    "non_state": "non-state",
    "one_sided": "one-sided (civilians)",
}

_EPOCH = np.datetime64("1970-01-01T00:00:00", "ms")


def esc(value: Any) -> str:
    """Escape a data value for HTML text or attribute (missing values give "")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    return html.escape(str(value), quote=True)


def plotly_text(value: Any) -> str:
    """Escape a data value for Plotly text (Plotly renders a subset of HTML tags)."""
    return html.escape("" if value is None else str(value), quote=False)


def fmt_num(value: Any, digits: int = 0) -> str:
    """A number with thousands separators and ``digits`` decimals; non-numbers escaped."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if not math.isfinite(x):
        return "" if math.isnan(x) else ("∞" if x > 0 else "-∞")
    return f"{x:,.{digits}f}"


def safe_json(text: str) -> str:
    """JSON text made safe inside a ``<script>`` element (no ``</``, ``<!--``, ``]]>``)."""
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def finite(x: Any) -> Any:
    """Replace non-finite floats (JSON has no NaN/Infinity) recursively with None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x


def mid_year(years: Iterable[int]) -> list[str]:
    """``YYYY-07-01`` for each year (where a yearly value is drawn)."""
    return [f"{int(y)}-07-01" for y in years]


def to_ms(dates: Iterable[str]) -> np.ndarray:
    """Milliseconds since the epoch (Plotly's numeric form of a date), as float32: compact in
    the inlined JSON and exact to a few minutes, dates sit mid-month or mid-year."""
    d = np.array([np.datetime64(str(x), "ms") for x in dates])
    return (d - _EPOCH).astype(np.float64).astype(np.float32)


def short_num(x: float) -> str:
    """A round number as people write it on an axis: 1, 10, 100, 1 k, 10 k, 1 M."""
    for div, suffix in ((1e6, " M"), (1e3, " k")):
        if abs(x) >= div:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


def log_ticks(top: float) -> tuple[list[float], list[str]]:
    """Ticks of a ``log10(1 + value)`` colour scale reaching ``top`` (a value): positions and
    labels 0, 1, 10, 100, 1 k, ..."""
    values = [0.0, 1.0]
    while values[-1] < top:
        values.append(values[-1] * 10)
    return [math.log10(1 + v) for v in values], [short_num(v) for v in values]
