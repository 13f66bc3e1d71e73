"""Places a reader needs on a map and in a watchlist: capitals and towns as labels, country names,
and admin-1 units ranked by projected deaths (cells apportioned to Natural Earth admin-1
polygons by area)."""

from __future__ import annotations

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

__all__ = ["CellFrame", "admin1_weights", "cell_frame", "label_traces", "watchlist"]

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


def label_traces(cells: CellFrame, countries: tuple[str, ...] = CORE) -> list[go.Scattergeo]:
    """Text traces: the country names (at the centre of their cells) and the capitals (a star);
    on a one-country map also its regional capitals (a dot)."""
    towns = load_urban_cores()
    kinds = _COUNTRY_TOWNS if len(countries) == 1 else ("capital",)
    towns = towns[towns["iso3"].isin(countries) & towns["kind"].isin(kinds)]
    traces = []
    for kind, symbol, size in (("regional_capital", "circle", 5), ("capital", "star", 11)):
        t = towns[towns["kind"] == kind]
        if len(t) == 0:
            continue
        traces.append(
            go.Scattergeo(
                lon=t["lon"].astype(float).tolist(),
                lat=t["lat"].astype(float).tolist(),
                text=[plotly_text(n) for n in t["name"]],
                mode="markers+text",
                textposition="top center",
                marker={
                    "symbol": symbol,
                    "size": size,
                    "color": "#111",
                    "line": {"width": 1, "color": "#fff"},
                },
                textfont={"size": 13 if kind == "capital" else 10, "color": "#111"},
                name="capital" if kind == "capital" else "regional capitals",
                hoverinfo="skip",
                showlegend=False,
            )
        )
    caps = {str(i): (float(a), float(o)) for i, a, o, k in
            zip(towns["iso3"], towns["lat"], towns["lon"], towns["kind"], strict=True)
            if k == "capital"}  # fmt: skip
    lon, lat, text = [], [], []
    for c in countries:
        m = cells["iso"] == c
        if m.any():
            y, x = float(np.median(cells["lat"][m])) + 1.0, float(np.median(cells["lon"][m]))
            cy, cx = caps.get(c, (math.inf, math.inf))
            if abs(y - cy) < 1.5 and abs(x - cx) < 3.0:  # keep clear of the capital's label
                y = cy + 1.6
            lon.append(x)
            lat.append(y)
            text.append(COUNTRY_NAMES[c].upper())
    if text:
        traces.append(
            go.Scattergeo(
                lon=lon,
                lat=lat,
                text=text,
                mode="text",
                textfont={"size": 15, "color": "rgba(20,20,20,0.75)"},
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
