"""Fan charts as Apache ECharts options (the explorer's charts; the report keeps Plotly).

The same chart as :func:`sahelsim.viz.fans.fan_figure` (median line, 50 % and 90 % bands,
observed points, the projection start marked, the y axis set by the central quantiles), for one
region at a time, one option per scenario panel. ECharts options are plain JSON: a band is an
invisible lower line with the band's width stacked on it, tooltips are string templates (no
JavaScript), and each data point carries its readable text as its name (the tooltip's ``{b}``).
Why ECharts for the explorer: ``docs/decisions.md`` ("Explorer charts: ECharts").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from sahelsim.scenarios.run import month_label
from sahelsim.viz.fans import Observed, axis_top
from sahelsim.viz.palette import INK, OBSERVED_COLOUR, rgba
from sahelsim.viz.runs import COUNTRY_NAMES, FAN_VARS, ScenarioRuns
from sahelsim.viz.text import to_ms

__all__ = ["fan_options", "nice_top"]

_BANDS = ((0, 4, 0.15, "90 %"), (1, 3, 0.3, "50 %"))
_OBS_SYMBOLS = ("emptyCircle", "emptyDiamond", "emptyRect")
#: Tooltip of a point: the series, then the point's own text (both inserted as escaped text).
_TIP = {"formatter": "{a}<br/>{b}"}


def nice_top(top: float) -> float:
    """``top`` rounded up to a round axis end (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k)."""
    if not math.isfinite(top) or top <= 0:
        return 1.0
    k = 10 ** math.floor(math.log10(top))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if top <= m * k * (1 + 1e-9):
            return float(m * k)
    return float(10 * k)  # pragma: no cover - the loop ends at 10 x k


def _fmt(x: float, yformat: str) -> str:
    return "n/a" if not math.isfinite(float(x)) else format(float(x), yformat)


def _when(ms: float, flow: bool) -> str:
    # the nearest hour: float32 dates are off by minutes (a 1 July could read as 30 June)
    d = np.datetime64(round(float(ms) / 3.6e6), "h").astype("datetime64[D]").astype(str)
    return d[:4] if flow else d[:7]


def _round(x: float) -> float:
    """A value for the browser: 4 significant digits are far below the bands' spread."""
    return float(f"{float(x):.4g}") if math.isfinite(float(x)) else 0.0


def _series(
    x: np.ndarray,
    q: np.ndarray,
    k: int,
    lab: str,
    colour: str,
    flow: bool,
    yformat: str,
    several: bool,
) -> list[dict[str, Any]]:
    """A series' bands (an invisible lower line, the band's width stacked on it) and median.
    With ``several`` series the bands are named "90 % interval" and "50 % interval" alike, so
    one legend entry shows or hides that band of every series."""
    xs = [float(v) for v in x]
    out: list[dict[str, Any]] = []
    for lo, hi, alpha, band in _BANDS:
        stack = f"s{k}b{band}"
        common = {"type": "line", "stack": stack, "symbol": "none", "silent": True,
                  "lineStyle": {"width": 0}, "tooltip": {"show": False}}  # fmt: skip
        out.append({**common, "name": f"_{stack}",
                    "data": [[a, _round(b)] for a, b in zip(xs, q[lo], strict=True)]})  # fmt: skip
        out.append({**common, "name": f"{band} interval",
                    "areaStyle": {"color": rgba(colour, alpha)}, "itemStyle": {"color": rgba(colour, alpha)},
                    "data": [[a, _round(max(h - b, 0.0))]
                             for a, b, h in zip(xs, q[lo], q[hi], strict=True)]})  # fmt: skip
    points = [
        {
            "name": (
                f"{_when(a, flow)}: median {_fmt(q[2][i], yformat)}; 50 %: {_fmt(q[1][i], yformat)}"
                f" to {_fmt(q[3][i], yformat)}; 90 %: {_fmt(q[0][i], yformat)} to"
                f" {_fmt(q[4][i], yformat)}"
            ),
            "value": [a, _round(q[2][i])],
        }
        for i, a in enumerate(xs)
    ]
    out.append({"type": "line", "name": f"{lab}: median", "data": points, "showSymbol": flow,
                "symbol": "circle", "symbolSize": 5 if flow else 3,
                "lineStyle": {"color": colour, "width": 2}, "itemStyle": {"color": colour},
                "tooltip": _TIP, "z": 3})  # fmt: skip
    return out


def _observed(region: str, observed: Observed, yformat: str) -> list[dict[str, Any]]:
    out = []
    for j, (lab, x, y, *rest) in enumerate(observed.get(region, [])):
        colour = rest[0] if rest and rest[0] else OBSERVED_COLOUR
        data = [
            {"name": f"{_when(a, True)}: {_fmt(b, yformat)}", "value": [float(a), _round(b)]}
            for a, b in zip(x, y, strict=True)
            if b is not None and math.isfinite(float(b))
        ]
        out.append({"type": "scatter", "name": f"observed: {lab}", "data": data,
                    "symbol": _OBS_SYMBOLS[j % 3], "symbolSize": 9,
                    "itemStyle": {"color": colour, "borderWidth": 1.5}, "tooltip": _TIP,
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
) -> list[dict[str, Any]]:
    """One ECharts option per scenario in ``names`` for ``region`` (the panels share their
    y axis, set by :func:`~sahelsim.viz.fans.axis_top` from the central quantiles and the
    observations); ``series``: (variable, legend label, colour); ``subtitles``: a line under
    each panel's title (default: the region)."""
    share = all(FAN_VARS[var] == "share" for var, _, _ in series)
    qs = [runs.fans[(n, var, region)][1] for n in names for var, _, _ in series]
    obs = [v for _, _, ys, *_ in (observed or {}).get(region, []) for v in ys]
    top = 1.0 if share else nice_top(axis_top(qs, obs))
    start = float(to_ms([month_label(runs.projection_start) + "-01"])[0])
    out = []
    for i, name in enumerate(names):
        data: list[dict[str, Any]] = []
        for k, (var, lab, colour) in enumerate(series):
            x, q = runs.fans[(name, var, region)]
            data += _series(x, q, k, lab, colour, FAN_VARS[var] == "flow", yformat,
                            len(series) > 1)  # fmt: skip
        data[0]["markLine"] = {
            "silent": True, "symbol": ["none", "none"],
            "lineStyle": {"type": "dashed", "color": INK, "width": 1},
            "label": {"formatter": "projection →", "position": "insideEndTop", "color": INK},
            "data": [{"xAxis": start}],
        }  # fmt: skip
        data += _observed(region, observed or {}, yformat)
        legend = list(dict.fromkeys(s["name"] for s in data if not s["name"].startswith("_")))
        sub = subtitles[i] if subtitles else COUNTRY_NAMES[region]
        x0 = min(float(runs.fans[(name, v, region)][0][0]) for v, _, _ in series)
        x1 = max(float(runs.fans[(name, v, region)][0][-1]) for v, _, _ in series)
        year = 365.25 * 86400e3
        out.append({
            "animation": False,
            "title": {"text": title, "subtext": sub, "left": 0, "textStyle": {"fontSize": 15}},
            "grid": {"left": 78, "right": 18, "top": 64, "bottom": 40 + 22 * _lines(legend)},
            "legend": {"data": legend, "bottom": 0, "left": 0, "itemGap": 12,
                       "textStyle": {"fontSize": 11}},
            "tooltip": {"trigger": "item", "confine": True},
            "xAxis": {"type": "time", "min": x0 - 0.5 * year, "max": x1 + 0.5 * year,
                      "splitLine": {"show": False}},
            "yAxis": {"type": "value", "min": 0, "max": top, "name": ytitle,
                      "nameLocation": "middle", "nameGap": 62},
            "series": data,
        })  # fmt: skip
    return out
