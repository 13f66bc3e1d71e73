"""Fan charts of scenario runs: median line, 50 % and 90 % bands, observed points, a menu that
shows the three states together or one of them, the projection start marked."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from sahelsim.scenarios.run import month_label
from sahelsim.viz.figures import layout_style
from sahelsim.viz.palette import INK, OBSERVED_COLOUR, VARIABLE_COLOURS, rgba
from sahelsim.viz.runs import COUNTRY_NAMES, FAN_VARS, REGIONS, ScenarioRuns
from sahelsim.viz.text import plotly_text

__all__ = ["BANDS", "FAN_SERIES", "Observed", "axis_top", "fan_figure", "fan_table"]

#: The fan charts' series: chart id -> ((variable, legend label, colour), ...).
FAN_SERIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "deaths": (("deaths_total", "fatalities", VARIABLE_COLOURS["deaths_total"]),),
    "civilians": (
        (
            "civilians_killed_by_state_side",
            "state side",
            VARIABLE_COLOURS["civilians_killed_by_state_side"],
        ),
        ("civilians_killed_by_jnim", "JNIM", VARIABLE_COLOURS["civilians_killed_by_jnim"]),
        ("civilians_killed_by_issp", "IS Sahel", VARIABLE_COLOURS["civilians_killed_by_issp"]),
    ),
    "territory": (("territory_state", "state-held share", VARIABLE_COLOURS["territory_state"]),),
    "idps": (("idps", "IDPs hosted", VARIABLE_COLOURS["idps"]),),
}

#: Observed points per region: (label, x (Plotly date numbers), values) or, to colour the
#: markers (e.g. by perpetrator), (label, x, values, colour); without a colour they are
#: :data:`~sahelsim.viz.palette.OBSERVED_COLOUR`.
Observed = dict[str, list[tuple[Any, ...]]]
#: The bands of every fan chart (report and explorer): (lower quantile row, upper row, fill
#: opacity, name) of the (5, T) quantiles 5/25/50/75/95 %.
BANDS = ((0, 4, 0.15, "90 %"), (1, 3, 0.3, "50 %"))
_OBS_SYMBOLS = ("circle-open", "diamond-open", "square-open")

# The figures are built as Plotly JSON (dicts) and wrapped in a ``go.Figure`` without
# validation: Plotly's validation of every trace and layout property took most of the time of
# an explorer lever change (0.4-0.9 s for the four fan charts, against ~0.05 s), and these
# figures are always the same few trace kinds. tests/test_viz.py validates them in full.


class _Traces:
    """Traces of a subplot grid, with the region each belongs to (for the menu)."""

    def __init__(self, regions: Sequence[str]) -> None:
        self.regions = tuple(regions)
        self.data: list[dict[str, Any]] = []
        self.region_of: list[str] = []
        self.legend_of: list[bool] = []  # the trace carries the legend entry when shown
        self.tops: dict[str, float] = {}  # region -> upper end of the y axis

    def add(self, trace: dict[str, Any], axes: tuple[str, str], region: str, legend: bool) -> None:
        trace["xaxis"], trace["yaxis"] = axes
        self.data.append(trace)
        self.region_of.append(region)
        self.legend_of.append(legend)

    def menu(self, yaxes: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {
                "label": COUNTRY_NAMES[r],
                "method": "update",
                "args": [
                    {
                        "visible": [reg == r for reg in self.region_of],
                        "showlegend": [
                            reg == r and leg
                            for reg, leg in zip(self.region_of, self.legend_of, strict=True)
                        ],
                    },
                    {f"{ax}.range": [0, self.tops[r]] for ax in yaxes if r in self.tops},
                ],
            }
            for r in self.regions
        ]


def axis_top(quantiles: Sequence[np.ndarray], observed: Sequence[float] = ()) -> float:
    """Upper end of a fan chart's y axis from the central quantiles, not the extreme members:
    1.25 x the largest upper quartile or observed value, at least 1.3 x the largest median and
    at most a little above the largest 95th percentile (``quantiles``: (5, T) arrays)."""
    q75 = max((float(np.nanmax(q[3])) for q in quantiles), default=0.0)
    q50 = max((float(np.nanmax(q[2])) for q in quantiles), default=0.0)
    q95 = max((float(np.nanmax(q[4])) for q in quantiles), default=0.0)
    obs = [v for v in observed if v is not None and math.isfinite(v)]
    top = max(1.25 * max([q75, *obs]), 1.3 * q50)
    top = min(top, 1.05 * max(q95, *obs, 0.0)) if q95 > 0 else top
    return top if top > 0 else 1.0


def _hover(region: str, lab: str, when: str, yformat: str) -> str:
    return (
        f"{COUNTRY_NAMES[region]} {plotly_text(lab)} {when}<br>median %{{y:{yformat}}}"
        f"<br>50 %: %{{customdata[1]:{yformat}}} - "
        f"%{{customdata[2]:{yformat}}}<br>90 %: "
        f"%{{customdata[0]:{yformat}}} - %{{customdata[3]:{yformat}}}"
        "<extra></extra>"
    )


def _add_series(
    tr: _Traces,
    runs: ScenarioRuns,
    name: str,
    first_panel: bool,
    axes: tuple[str, str],
    region: str,
    series: Sequence[tuple[str, str, str]],
    yformat: str,
) -> None:
    first = first_panel and region == tr.regions[0]
    vis = region == tr.regions[0]
    for k, (var, lab, colour) in enumerate(series):
        x, q = runs.fans[(name, var, region)]
        xx = np.concatenate([x, x[::-1]])
        when = "%{x|%Y}" if FAN_VARS[var] == "flow" else "%{x|%Y-%m}"
        for lo, hi, alpha, band in BANDS:
            band_trace = {
                "type": "scatter",
                "x": xx,
                "y": np.concatenate([q[lo], q[hi][::-1]]),
                "fill": "toself",
                "fillcolor": rgba(colour, alpha),
                "line": {"width": 0},
                "mode": "lines",
                "name": f"{band} interval" if len(series) > 1 else f"{lab}: {band} interval",
                "legendgroup": f"{k}{band}",
                "showlegend": first and k == 0,
                "hoverinfo": "skip",
                "visible": vis,
            }
            tr.add(band_trace, axes, region, first_panel and k == 0)
        median = {
            "type": "scatter",
            "x": x,
            "y": q[2],
            "mode": "lines",
            "line": {"color": colour, "width": 2},
            "name": f"{lab}: median",
            "legendgroup": f"{k}m",
            "showlegend": first,
            "customdata": np.stack([q[0], q[1], q[3], q[4]], axis=1).astype(np.float32),
            "hovertemplate": _hover(region, lab, when, yformat),
            "visible": vis,
        }
        tr.add(median, axes, region, first_panel)


def _add_observed(
    tr: _Traces,
    first_panel: bool,
    axes: tuple[str, str],
    region: str,
    observed: Observed,
    yformat: str,
) -> None:
    for j, (lab, x, y, *rest) in enumerate(observed.get(region, [])):
        colour = rest[0] if rest and rest[0] else OBSERVED_COLOUR
        trace = {
            "type": "scatter",
            "x": x,
            "y": y,
            "mode": "markers",
            # open symbols (told apart without colour), in the series' colour, a little bolder
            # than Plotly's default outline so a coloured marker reads over a band
            "marker": {
                "color": colour,
                "size": 7,
                "symbol": _OBS_SYMBOLS[j % 3],
                "line": {"width": 1.5},
            },
            "name": f"observed: {lab}",
            "legendgroup": f"obs{lab}",
            "showlegend": first_panel and region == tr.regions[0],
            "hovertemplate": f"{COUNTRY_NAMES[region]} observed {lab} %{{x|%Y}}: "
            f"%{{y:{yformat}}}<extra></extra>",
            "visible": region == tr.regions[0],
        }
        tr.add(trace, axes, region, first_panel)


@lru_cache(maxsize=32)
def _grid_json(nrows: int, ncols: int, n: int) -> str:
    """The layout of a grid of ``n`` panels (axes, domains, title annotations) as JSON, from
    ``make_subplots`` (shared axes), computed once per shape."""
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        shared_yaxes=True,
        shared_xaxes=True,
        subplot_titles=[f"panel {i}" for i in range(n)],
        vertical_spacing=0.16 if nrows > 1 else 0.1,
        horizontal_spacing=0.03,
    )
    layout = fig.to_plotly_json()["layout"]
    layout.pop("template", None)
    return pio.to_json(layout, validate=False)


def panel_title(text: str, width: int = 40) -> str:
    """A panel's title, escaped for Plotly and wrapped onto lines of at most ``width``
    characters (three panels a row: a long scenario title would run into its neighbour's)."""
    lines = textwrap.wrap(str(text), width) or [""]
    return "<br>".join(plotly_text(x) for x in lines)


def _axes(i: int) -> tuple[str, str]:
    """The axes of panel ``i`` (row-major, as ``make_subplots`` numbers them)."""
    k = "" if i == 0 else str(i + 1)
    return f"x{k}", f"y{k}"


def fan_figure(
    runs: ScenarioRuns,
    names: Sequence[str],
    series: Sequence[tuple[str, str, str]],
    *,
    title: str,
    ytitle: str,
    observed: Observed | None = None,
    yformat: str = ",.0f",
    regions: Sequence[str] = REGIONS,
    figure_class: type[go.Figure] = go.Figure,
) -> go.Figure:
    """One panel per scenario in ``names`` (three per row); ``series``: (variable of
    :data:`~sahelsim.viz.runs.FAN_VARS`, legend label, colour) drawn in every panel.
    ``regions``: the regions drawn (the first shown; a menu switches when there are several).
    The y axis ends where the central quantiles and the observations need
    (:func:`axis_top`); a 90 % band may run past it. ``observed`` markers take the colour of
    their entry (:data:`Observed`). ``figure_class``: the ``go.Figure`` (sub)class made from
    the figure's JSON, without validation (e.g. the explorer's figures serialised once)."""
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    layout: dict[str, Any] = json.loads(_grid_json(nrows, ncols, len(names)))
    for ann, n in zip(layout.get("annotations", []), names, strict=True):
        ann["text"] = panel_title(runs.titles.get(n, n))
    top, bottom = 100, 110
    height = 330 * nrows + top + bottom
    start = month_label(runs.projection_start) + "-01"
    tr = _Traces(regions)
    share = all(FAN_VARS[var] == "share" for var, _, _ in series)
    for region in regions:
        qs = [runs.fans[(n, var, region)][1] for n in names for var, _, _ in series]
        obs = [v for _, _, ys, *_ in (observed or {}).get(region, []) for v in ys]
        tr.tops[region] = 1.0 if share else axis_top(qs, obs)
    shapes = []
    for i, name in enumerate(names):
        axes = _axes(i)
        for region in regions:
            _add_series(tr, runs, name, i == 0, axes, region, series, yformat)
            _add_observed(tr, i == 0, axes, region, observed or {}, yformat)
        shapes.append({"type": "line", "x0": start, "x1": start, "xref": axes[0], "y0": 0,
                       "y1": 1, "yref": f"{axes[1]} domain",
                       "line": {"color": INK, "width": 1, "dash": "dash"}})  # fmt: skip
    layout["shapes"] = shapes
    layout.setdefault("annotations", []).append(
        {
            "x": start,
            "xref": "x",
            "yref": "y domain",
            "y": 0.98,
            "text": "projection →",
            "showarrow": False,
            "xanchor": "left",
            "font": {"size": 11, "color": INK},
        }
    )
    yaxes = [k for k in layout if k.startswith("yaxis")]
    if len(regions) > 1:
        layout["updatemenus"] = [
            {
                "buttons": tr.menu(yaxes),
                "direction": "down",
                "x": 1.0,
                "xanchor": "right",
                "y": 1 + (top - 12) / (height - top - bottom),
                "yanchor": "top",
                "showactive": True,
            }
        ]
    for ax in yaxes:
        layout[ax]["range"] = [0, tr.tops[regions[0]]]
        if layout[ax].get("anchor") in {_axes(i)[0] for i in range(0, nrows * ncols, ncols)}:
            layout[ax]["title"] = {"text": ytitle}  # the first column
    for ax in (k for k in layout if k.startswith("xaxis")):
        layout[ax]["type"] = "date"
    layout.update(layout_style(title, height=height,
                               margin={"l": 70, "r": 20, "t": top, "b": bottom}))  # fmt: skip
    return figure_class({"data": tr.data, "layout": layout}, _validate=False)


def fan_table(
    runs: ScenarioRuns,
    names: Sequence[str],
    series: Sequence[tuple[str, str, str]],
    *,
    regions: Sequence[str] = REGIONS,
    observed: Observed | None = None,
) -> pd.DataFrame:
    """A fan chart's data for download: one row per scenario, region, series and year with the
    5, 25, 50, 75 and 95 % quantiles over members (flows: the year's sum; stocks and shares:
    December, the chart's monthly points being in the figure), then the observed points
    (``observed``, scenario "observed", column ``value``)."""
    frames = []
    for name in names:
        for var, lab, _ in series:
            for region in regions:
                x, q = runs.fans[(name, var, region)]
                if FAN_VARS[var] != "flow":
                    dec = np.array([d.endswith("-12") for d in _dates(x, False)], dtype=bool)
                    x, q = x[dec], q[:, dec]
                frames.append(
                    pd.DataFrame(
                        {
                            "scenario": name,
                            "region": COUNTRY_NAMES[region],
                            "series": lab,
                            "date": _dates(x, FAN_VARS[var] == "flow"),
                            "q05": q[0],
                            "q25": q[1],
                            "median": q[2],
                            "q75": q[3],
                            "q95": q[4],
                        }
                    )
                )
    for region in regions:
        for lab, x, ys, *_ in (observed or {}).get(region, []):
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": "observed",
                        "region": COUNTRY_NAMES[region],
                        "series": lab,
                        "date": _dates(np.asarray(x), True),
                        "value": ys,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _dates(x: np.ndarray, yearly: bool) -> list[str]:
    """Plotly date numbers as years (``yearly``) or YYYY-MM."""
    days = np.round(np.asarray(x, dtype=np.float64) / 86_400_000).astype("int64")
    text = [str(d) for d in days.astype("datetime64[D]")]
    return [t[:4] if yearly else t[:7] for t in text]
