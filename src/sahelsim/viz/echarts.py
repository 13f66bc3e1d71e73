"""Fan charts as Apache ECharts options (the explorer's charts; the report keeps Plotly).

The same chart as :func:`sahelsim.viz.fans.fan_figure` (median line, 50 % and 90 % bands,
observed points, the projection start marked, the y axis set by the central quantiles), for one
region at a time, one option per scenario panel. ECharts options are plain JSON: a band is an
invisible lower line with the band's width stacked on it, and tooltips take no JavaScript:
pointing at a date lists each series' median and interval ends (both intervals for a chart
of one series, the 90 % one for several) and the observed value, in Streamlit's number formats.
Why ECharts for the explorer: ``docs/decisions.md`` ("Explorer charts: ECharts").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from sahelsim.scenarios.run import month_label
from sahelsim.viz.fans import BANDS, Observed, axis_top
from sahelsim.viz.palette import INK, OBSERVED_COLOUR, rgba
from sahelsim.viz.runs import COUNTRY_NAMES, FAN_VARS, ScenarioRuns
from sahelsim.viz.text import to_ms

__all__ = ["fan_options", "nice_top"]

_OBS_SYMBOLS = ("emptyCircle", "emptyDiamond", "emptyRect")
#: The intervals' ends a tooltip lists: (quantile row, name); one series a chart lists both
#: intervals, several (e.g. three perpetrators) the 90 % interval only (a shorter list).
_ENDS = ((0, "90 % interval, low"), (4, "90 % interval, high"))
_ENDS_ONE = ((1, "50 % interval, low"), (3, "50 % interval, high"), *_ENDS)


def nice_top(top: float) -> float:
    """``top`` rounded up to a round axis end (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k)."""
    if not math.isfinite(top) or top <= 0:
        return 1.0
    k = 10 ** math.floor(math.log10(top))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if top <= m * k * (1 + 1e-9):
            return float(m * k)
    return float(10 * k)  # pragma: no cover - the loop ends at 10 x k


def _value_format(yformat: str) -> str:
    """Streamlit's tooltip number format for a Python format of the y values."""
    if yformat == ",.0f":
        return "%,d"
    digits = yformat.rstrip("f").split(".")[-1]
    return f"%.{digits}f" if yformat.endswith("f") and digits.isdigit() else "localized"


def _x(values: Any) -> list[float]:
    """Dates for the browser, to the hour: float32 dates are off by minutes (a 1 July could
    read as 30 June, and the observed and simulated points of a year would not line up)."""
    return [round(float(v) / 3.6e6) * 3.6e6 for v in values]


def _round(x: float) -> float | None:
    """A value for the browser: 4 significant digits are far below the bands' spread; a
    missing one is ``None`` (JSON null: a gap, never drawn at zero)."""
    return float(f"{float(x):.4g}") if math.isfinite(float(x)) else None


def _series(
    x: np.ndarray,
    q: np.ndarray,
    k: int,
    lab: str,
    colour: str,
    flow: bool,
    tip: dict[str, Any],
    ends: Sequence[tuple[int, str]] = _ENDS,
) -> list[dict[str, Any]]:
    """A series' bands (an invisible lower line, the band's width stacked on it; named
    "90 % interval" and "50 % interval" for every series, so one legend entry shows or hides
    that band of all of them), its median, and the intervals' ``ends`` (quantile row, name)
    as invisible lines: the axis tooltip lists the median and those ends; the bands' own
    lines stay out of it."""
    xs = _x(x)
    out: list[dict[str, Any]] = []
    for lo, hi, alpha, band in BANDS:
        stack = f"s{k}b{band}"
        common = {"type": "line", "stack": stack, "symbol": "none", "silent": True,
                  "lineStyle": {"width": 0}, "tooltip": {"show": False}}  # fmt: skip
        out.append({**common, "name": f"_{stack}",
                    "data": [[a, _round(b)] for a, b in zip(xs, q[lo], strict=True)]})  # fmt: skip
        out.append({**common, "name": f"{band} interval",
                    "areaStyle": {"color": rgba(colour, alpha)},
                    "itemStyle": {"color": rgba(colour, alpha)},
                    "data": [[a, _round(max(h - b, 0.0))]
                             for a, b, h in zip(xs, q[lo], q[hi], strict=True)]})  # fmt: skip
    out.append({"type": "line", "name": f"{lab}: median",
                "data": [[a, _round(b)] for a, b in zip(xs, q[2], strict=True)],
                "showSymbol": flow, "symbol": "circle", "symbolSize": 5,
                "lineStyle": {"color": colour, "width": 2}, "itemStyle": {"color": colour},
                "tooltip": tip, "z": 3})  # fmt: skip
    for i, end in ends:
        out.append({"type": "line", "name": f"{lab}: {end}",
                    "data": [[a, _round(b)] for a, b in zip(xs, q[i], strict=True)],
                    "symbol": "none", "lineStyle": {"opacity": 0}, "itemStyle": {"color": colour},
                    "emphasis": {"disabled": True}, "tooltip": tip})  # fmt: skip
    return out


def _observed(region: str, observed: Observed, tip: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for j, (lab, x, y, *rest) in enumerate(observed.get(region, [])):
        colour = rest[0] if rest and rest[0] else OBSERVED_COLOUR
        data = [
            [a, _round(b)]
            for a, b in zip(_x(x), y, strict=True)
            if b is not None and math.isfinite(float(b))
        ]
        out.append({"type": "scatter", "name": f"observed: {lab}", "data": data,
                    "symbol": _OBS_SYMBOLS[j % 3], "symbolSize": 9,
                    "itemStyle": {"color": colour, "borderWidth": 1.5}, "tooltip": tip,
                    "z": 4})  # fmt: skip
    return out


def _lines(legend: Sequence[str], width: int = 560) -> int:
    """Lines a plain legend of these entries takes in a chart about ``width`` pixels wide."""
    lines, used = 1, 0
    for name in legend:
        w = 40 + 6 * len(name)
        if used and used + w > width:
            lines, used = lines + 1, 0
        used += w
    return lines


def fan_options(
    runs: ScenarioRuns,
    names: Sequence[str],
    series: Sequence[tuple[str, str, str]],
    region: str,
    *,
    title: str,
    ytitle: str,
    yformat: str = ",.0f",
    observed: Observed | None = None,
    subtitles: Sequence[str] | None = None,
    file_names: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One ECharts option per scenario in ``names`` for ``region`` (the panels share their
    y axis, set by :func:`~sahelsim.viz.fans.axis_top` from the central quantiles and the
    observations); ``series``: (variable, legend label, colour); ``subtitles``: a line under
    each panel's title (default: the region); ``file_names``: each panel's PNG export (the
    chart's save button; default ``fan_chart``)."""
    share = all(FAN_VARS[var] == "share" for var, _, _ in series)
    qs = [runs.fans[(n, var, region)][1] for n in names for var, _, _ in series]
    obs = [v for _, _, ys, *_ in (observed or {}).get(region, []) for v in ys]
    top = 1.0 if share else nice_top(axis_top(qs, obs))
    start = _x(to_ms([month_label(runs.projection_start) + "-01"]))[0]
    tip = {"valueFormatter": _value_format(yformat)}
    out = []
    for i, name in enumerate(names):
        data: list[dict[str, Any]] = []
        for k, (var, lab, colour) in enumerate(series):
            x, q = runs.fans[(name, var, region)]
            data += _series(x, q, k, lab, colour, FAN_VARS[var] == "flow", tip,
                            _ENDS_ONE if len(series) == 1 else _ENDS)  # fmt: skip
        data[0]["markLine"] = {
            "silent": True, "symbol": ["none", "none"],
            "lineStyle": {"type": "dashed", "color": INK, "width": 1},
            "label": {"formatter": "projection →", "position": "end", "color": INK},
            "data": [{"xAxis": start}],
        }  # fmt: skip
        data += _observed(region, observed or {}, tip)
        legend = list(dict.fromkeys(
            s["name"] for s in data
            if "areaStyle" in s or s["name"].endswith(": median") or s["type"] == "scatter"
        ))  # fmt: skip
        sub = subtitles[i] if subtitles else COUNTRY_NAMES[region]
        x0 = min(float(runs.fans[(name, v, region)][0][0]) for v, _, _ in series)
        x1 = max(float(runs.fans[(name, v, region)][0][-1]) for v, _, _ in series)
        year = 365.25 * 86400e3
        out.append({
            "animation": False,
            "useUTC": True,  # dates in UTC, not the browser's time zone (the header a date)
            "title": {"text": title, "subtext": sub, "left": 0, "textStyle": {"fontSize": 15}},
            "grid": {"left": 78, "right": 18, "top": 64, "bottom": 40 + 22 * _lines(legend)},
            "legend": {"data": legend, "bottom": 0, "left": 0, "itemGap": 12,
                       "textStyle": {"fontSize": 11}},
            "tooltip": {"trigger": "axis", "confine": True},
            "toolbox": {"right": 4, "top": 0, "feature": {"saveAsImage": {
                "title": "Save as PNG", "pixelRatio": 2,
                "name": file_names[i] if file_names else "fan_chart"}}},
            "xAxis": {"type": "time", "min": x0 - 0.5 * year, "max": x1 + 0.5 * year,
                      "splitLine": {"show": False}},
            "yAxis": {"type": "value", "min": 0, "max": top, "name": ytitle,
                      "nameLocation": "middle", "nameGap": 62},
            "series": data,
        })  # fmt: skip
    return out
