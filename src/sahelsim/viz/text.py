"""Escaping and number formatting for HTML, Plotly text and inline JSON; Plotly date numbers."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["esc", "finite", "fmt_num", "mid_year", "plotly_text", "safe_json", "to_ms"]

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
