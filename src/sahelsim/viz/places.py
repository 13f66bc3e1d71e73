"""Places a reader needs on a map and in a watchlist: capitals and towns as labels, country names,
and admin-1 units ranked by projected deaths (cells apportioned to Natural Earth admin-1
polygons by area)."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from shapely.geometry import box

from sahelsim.core.canon import CELL_DEG
from sahelsim.grid.build import load_urban_cores
from sahelsim.viz.runs import CORE, COUNTRY_NAMES, ScenarioRuns
from sahelsim.viz.text import plotly_text

__all__ = [
    "LABEL_POSITIONS",
    "CellFrame",
    "admin1_weights",
    "cell_frame",
    "label_traces",
    "place_labels",
    "watchlist",
]

log = logging.getLogger(__name__)

#: Kinds of town labelled on a one-country map (the three-country maps show capitals only).
_COUNTRY_TOWNS = ("capital", "regional_capital")


class CellFrame(dict[str, Any]):
    """The map cells of a run: ``lat``, ``lon``, ``iso`` (country or None), ``locs`` (ids as
    text), in the order of ``runs.cell_gid``."""


def cell_frame(runs: ScenarioRuns) -> CellFrame:
    space = runs.space
    pos = {int(g): i for i, g in enumerate(space.gid)}
    gid = runs.cell_gid
    assert gid is not None
    idx = np.array([pos[int(g)] for g in gid])
    return CellFrame(
        lat=space.lat[idx],
        lon=space.lon[idx],
        iso=np.array(
            [space.countries[k] if k >= 0 else None for k in space.country[idx]], dtype=object
        ),
        locs=[str(int(g)) for g in gid],
    )


def admin1_weights(
    admin1: pd.DataFrame, gid: np.ndarray, lat: np.ndarray, lon: np.ndarray, cell_iso: np.ndarray
) -> np.ndarray:
    """(cells, units) share of each core cell's area in each core admin-1 unit; rows of cells
    that touch a unit sum to 1 (the part outside every unit is given to those it touches)."""
    h = CELL_DEG / 2
    geoms = list(admin1["geometry"])
    unit_iso = admin1["iso3"].to_numpy(dtype=object)
    tree = shapely.STRtree(geoms)
    w = np.zeros((len(gid), len(geoms)))
    for i in range(len(gid)):
        if cell_iso[i] not in CORE:
            continue
        b = box(lon[i] - h, lat[i] - h, lon[i] + h, lat[i] + h)
        for j in tree.query(b, predicate="intersects"):
            if unit_iso[j] == cell_iso[i]:
                w[i, j] = b.intersection(geoms[j]).area
    s = w.sum(axis=1, keepdims=True)
    return np.divide(w, s, out=np.zeros_like(w), where=s > 0)


#: Where a town's label may sit around its marker, in the order tried (Plotly textposition).
LABEL_POSITIONS = ("top center", "bottom center", "middle right", "middle left", "top right",
                   "top left", "bottom right", "bottom left")  # fmt: skip
#: Font size and marker size (px) of each kind of town label.
_TOWN_STYLE = {"capital": (13, 11, "star"), "regional_capital": (10, 5, "circle")}
_COUNTRY_FONT = 15
#: The plotting area the label boxes are estimated for (px): a map's height less its margins,
#: and a width on the narrow side of what the report and the explorer give a map (a narrower
#: map makes labels larger relative to the land, so the estimate errs towards more room).
_PLOT_WIDTH = 700
_MAP_MARGINS = 80
#: Plotly's geo fit leaves room around the locations: measured in Chromium, a fitted map is
#: drawn at about 0.7 of the scale the plotting area alone would give.
_FIT = 0.7

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in degrees


def _text_box(x: float, y: float, text: str, font: float, marker: float, pos: str,
              scale: float) -> Box:  # fmt: skip
    """The approximate box (degrees) of ``text`` at textposition ``pos`` around a marker at
    (``x``, ``y``): 0.6 em per character wide, 1.2 em high, ``scale`` px per degree."""
    w, h = 0.6 * font * len(text) / scale, 1.2 * font / scale
    off = (marker / 2 + 1) / scale
    vert, horiz = pos.split()
    x0 = x - w / 2 if horiz == "center" else (x + off if horiz == "right" else x - off - w)
    y0 = y - h / 2 if vert == "middle" else (y + off if vert == "top" else y - off - h)
    return (x0, y0, x0 + w, y0 + h)


def _overlaps(b: Box, boxes: list[Box]) -> bool:
    return any(b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3] for o in boxes)


def place_labels(
    towns: pd.DataFrame, scale: float, taken: list[Box] | None = None
) -> tuple[list[str], list[str]]:
    """Text and textposition of each town's label (rows of :func:`load_urban_cores`, capitals
    first, then by population): the first of :data:`LABEL_POSITIONS` whose box overlaps no
    marker and no label placed before; a label that fits nowhere is left out (text ``""``, the
    marker stays). ``scale``: px per degree of the map; ``taken``: boxes already used (extended
    with the placed labels)."""
    taken = taken if taken is not None else []
    style = [_TOWN_STYLE.get(str(k), _TOWN_STYLE["regional_capital"]) for k in towns["kind"]]
    xs, ys = towns["lon"].astype(float).to_numpy(), towns["lat"].astype(float).to_numpy()
    for x, y, (_, marker, _) in zip(xs, ys, style, strict=True):
        r = marker / 2 / scale
        taken.append((x - r, y - r, x + r, y + r))
    rank = sorted(range(len(towns)), key=lambda i: (towns["kind"].iloc[i] != "capital",
                  -float(towns["population_approx"].iloc[i] or 0)))  # fmt: skip
    text, where = [""] * len(towns), [LABEL_POSITIONS[0]] * len(towns)
    for i in rank:
        name = str(towns["name"].iloc[i])
        font, marker, _ = style[i]
        for pos in LABEL_POSITIONS:
            b = _text_box(xs[i], ys[i], name, font, marker, pos, scale)
            if not _overlaps(b, taken):
                taken.append(b)
                text[i], where[i] = plotly_text(name), pos
                break
        else:
            log.debug("map label %s left out: no room around its marker", name)
    return text, where


def _scale(cells: CellFrame, countries: tuple[str, ...], height: int) -> float:
    """Px per degree of a map fitted to the cells of ``countries`` (all cells when several)."""
    m = np.isin(cells["iso"].astype(str), countries) if len(countries) == 1 else slice(None)
    lat, lon = np.asarray(cells["lat"])[m], np.asarray(cells["lon"])[m]
    if len(lat) == 0:
        return 30.0
    span_y = float(lat.max() - lat.min()) + CELL_DEG
    span_x = float(lon.max() - lon.min()) + CELL_DEG
    return _FIT * min((height - _MAP_MARGINS) / span_y, _PLOT_WIDTH / span_x)


def label_traces(
    cells: CellFrame, countries: tuple[str, ...] = CORE, *, height: int = 540
) -> list[go.Scattergeo]:
    """Text traces: the country names (at the centre of their cells) and the capitals (a star);
    on a one-country map also its regional capitals (a dot). Labels are placed so that none
    overlaps another or a marker (:func:`place_labels`, for a map ``height`` px high); the
    country name keeps clear of the capital's label."""
    towns = load_urban_cores()
    kinds = _COUNTRY_TOWNS if len(countries) == 1 else ("capital",)
    towns = towns[towns["iso3"].isin(countries) & towns["kind"].isin(kinds)]
    scale = _scale(cells, countries, height)
    caps = {str(i): (float(a), float(o)) for i, a, o, k in
            zip(towns["iso3"], towns["lat"], towns["lon"], towns["kind"], strict=True)
            if k == "capital"}  # fmt: skip
    lon, lat, names = [], [], []
    for c in countries:
        m = cells["iso"] == c
        if m.any():
            y, x = float(np.median(cells["lat"][m])) + 1.0, float(np.median(cells["lon"][m]))
            cy, cx = caps.get(c, (math.inf, math.inf))
            if abs(y - cy) < 1.5 and abs(x - cx) < 3.0:  # keep clear of the capital's label
                y = cy + 1.6
            lon.append(x)
            lat.append(y)
            names.append(COUNTRY_NAMES[c].upper())
    # the country names are placed first (town labels avoid them)
    taken = [_text_box(x, y, t, _COUNTRY_FONT, 0, "middle center", scale)
             for x, y, t in zip(lon, lat, names, strict=True)]  # fmt: skip
    text, where = place_labels(towns, scale, taken)
    towns = towns.assign(_text=text, _pos=where)
    traces = []
    for kind in ("regional_capital", "capital"):
        t = towns[towns["kind"] == kind]
        if len(t) == 0:
            continue
        font, size, symbol = _TOWN_STYLE[kind]
        traces.append(
            go.Scattergeo(
                lon=t["lon"].astype(float).tolist(),
                lat=t["lat"].astype(float).tolist(),
                text=t["_text"].tolist(),
                mode="markers+text",
                textposition=t["_pos"].tolist(),
                marker={
                    "symbol": symbol,
                    "size": size,
                    "color": "#111",
                    "line": {"width": 1, "color": "#fff"},
                },
                textfont={"size": font, "color": "#111"},
                name="capital" if kind == "capital" else "regional capitals",
                hoverinfo="skip",
                showlegend=False,
            )
        )
    if names:
        traces.append(
            go.Scattergeo(
                lon=lon,
                lat=lat,
                text=names,
                mode="text",
                textfont={"size": _COUNTRY_FONT, "color": "rgba(20,20,20,0.75)"},
                name="countries",
                hoverinfo="skip",
                showlegend=False,
            )
        )
    return traces


def _interval_frame(per_unit: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    q = np.quantile(per_unit, (0.05, 0.5, 0.95), axis=0)
    return {f"{prefix}_q05": q[0], f"{prefix}_median": q[1], f"{prefix}_q95": q[2]}


def watchlist(runs: ScenarioRuns, admin1: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """Admin-1 units ranked by the median of projected deaths in the first 12 months of the
    projection (then over the whole projection), with 90 % intervals over members: columns
    ``iso3, country, unit, year1_q05, year1_median, year1_q95, all_q05, all_median, all_q95``."""
    year1 = runs.cell_deaths_year1_members
    allp = runs.cell_deaths_members
    assert year1 is not None and allp is not None
    df = pd.DataFrame(
        {
            "iso3": admin1["iso3"].astype(str).to_numpy(),
            "country": [COUNTRY_NAMES.get(str(c), str(c)) for c in admin1["iso3"]],
            "unit": admin1["name"].astype(str).to_numpy(),
            **_interval_frame(year1 @ weights, "year1"),
            **_interval_frame(allp @ weights, "all"),
        }
    )
    return df.sort_values(["year1_median", "all_median"], ascending=False, kind="stable")
