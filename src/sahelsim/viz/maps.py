"""Offline maps of scenario runs: PRIO-GRID cells and admin-1 units as Plotly ``choropleth``
traces with inline GeoJSON.

Plotly would fetch a world topojson for geo traces, so pages define :data:`GEO_STUB` before the
Plotly script, ``geo.visible`` is off and every polygon is wound clockwise
(``shapely.geometry.polygon.orient(g, -1)``), otherwise a polygon fills the whole globe.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.polygon import orient

from sahelsim.core.canon import CELL_DEG
from sahelsim.grid.build import build_grid
from sahelsim.scenarios.run import month_label
from sahelsim.viz.figures import FigureSet, style_layout
from sahelsim.viz.palette import INK
from sahelsim.viz.runs import CORE, ScenarioRuns
from sahelsim.viz.text import plotly_text

log = logging.getLogger(__name__)

__all__ = [
    "GEO_STUB",
    "admin1_weights",
    "cell_geojson",
    "clockwise",
    "load_admin1",
    "map_figures",
    "outline_trace",
]

#: The stub that keeps Plotly's geo module from fetching a world topojson from its CDN.
GEO_STUB = (
    "window.PlotlyGeoAssets = {topojson: {world_110m: "
    '{"type": "Topology", "objects": {}, "arcs": []}}};'
)
_MAP_HEIGHT = 560
_CELL_LINE = {"width": 0.2, "color": "#999"}


def cell_geojson(gid: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    """A FeatureCollection of grid cells (clockwise squares), feature id = cell id."""
    h = CELL_DEG / 2
    feats = []
    for g, y, x in zip(gid, lat, lon, strict=True):
        poly = orient(box(float(x) - h, float(y) - h, float(x) + h, float(y) + h), -1)
        feats.append(
            {"type": "Feature", "id": str(int(g)), "properties": {}, "geometry": mapping(poly)}
        )
    return {"type": "FeatureCollection", "features": feats}


def clockwise(geom: Any, tolerance: float = 0.01) -> Any:
    """Simplified geometry with every polygon wound clockwise (Plotly's geo convention)."""
    g = shapely.set_precision(geom.simplify(tolerance, preserve_topology=True), 0.001)
    polys = (
        [g]
        if isinstance(g, Polygon)
        else [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon)]
    )
    polys = [orient(p, -1) for p in polys if not p.is_empty]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def outline_trace(admin1: pd.DataFrame) -> go.Scattergeo | None:
    """Country borders of the three states as one line trace."""
    lons: list[float | None] = []
    lats: list[float | None] = []
    for c in CORE:
        geoms = admin1.loc[admin1["iso3"] == c, "geometry"].tolist()
        if not geoms:
            continue
        u = shapely.union_all(geoms).simplify(0.02)
        for poly in getattr(u, "geoms", [u]):
            xs, ys = poly.exterior.coords.xy
            lons += [round(v, 3) for v in xs] + [None]
            lats += [round(v, 3) for v in ys] + [None]
    if not lons:
        return None
    return go.Scattergeo(
        lon=lons,
        lat=lats,
        mode="lines",
        line={"color": "#333", "width": 1},
        hoverinfo="skip",
        showlegend=False,
        name="borders",
    )


def _geo_layout(fig: go.Figure) -> None:
    fig.update_geos(
        visible=False,
        fitbounds="locations",
        projection_type="equirectangular",
        bgcolor="rgba(0,0,0,0)",
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


def load_admin1(data_dir: Path | None) -> pd.DataFrame | None:
    """The core countries' admin-1 units (Natural Earth, from the study grid inputs), index
    0..n-1; None without a data directory or when the polygons are missing (logged)."""
    if data_dir is None:
        return None
    try:
        admin1 = build_grid(Path(data_dir)).admin1
    except (FileNotFoundError, OSError, ValueError) as exc:
        log.warning("no admin-1 polygons (%s)", exc)
        return None
    return admin1[admin1["iso3"].isin(CORE)].reset_index(drop=True)


def _choropleth(fig: go.Figure, outline: go.Scattergeo | None, title: str) -> go.Figure:
    if outline is not None:
        fig.add_trace(outline)
    _geo_layout(fig)
    return style_layout(fig, title, height=_MAP_HEIGHT)


def _violence(runs: ScenarioRuns, geo: str, cells: dict[str, Any]) -> go.Figure:
    dmed = runs.cell_deaths_median
    assert dmed is not None
    z = np.log10(1.0 + dmed)
    top = max(float(z.max()), 1.0)
    ticks = list(range(math.ceil(top) + 1))
    return go.Figure(
        go.Choropleth(
            geojson=geo,
            locations=cells["locs"],
            z=z,
            featureidkey="id",
            colorscale="YlOrRd",
            zmin=0,
            zmax=top,
            marker={"line": _CELL_LINE},
            colorbar={
                "title": {"text": "deaths"},
                "tickvals": ticks,
                "ticktext": [f"{10**t - 1:,.0f}" if t else "0" for t in ticks],
            },
            customdata=np.stack([dmed, cells["lat"], cells["lon"]], axis=1),
            hovertemplate="cell %{location} (%{customdata[1]:.2f}, %{customdata[2]:.2f})<br>"
            "median deaths %{customdata[0]:,.0f}<extra></extra>",
        )
    )


def _control(runs: ScenarioRuns, geo: str, cells: dict[str, Any]) -> go.Figure:
    return go.Figure(
        go.Choropleth(
            geojson=geo,
            locations=cells["locs"],
            z=runs.cell_state_share,
            featureidkey="id",
            colorscale="RdBu",
            zmin=0,
            zmax=1,
            marker={"line": _CELL_LINE},
            colorbar={"title": {"text": "state holds"}, "tickformat": ".0%"},
            customdata=np.stack([cells["lat"], cells["lon"]], axis=1),
            hovertemplate="cell %{location} (%{customdata[0]:.2f}, %{customdata[1]:.2f})<br>"
            "state holds in %{z:.0%} of members<extra></extra>",
        )
    )


def _admin1_map(
    runs: ScenarioRuns, units: pd.DataFrame, cells: dict[str, Any], figs: FigureSet, span: str
) -> go.Figure:
    assert runs.cell_gid is not None and runs.cell_idp_last is not None
    w = admin1_weights(units, runs.cell_gid, cells["lat"], cells["lon"], cells["iso"])
    idp_units = np.median(runs.cell_idp_last @ w, axis=0)
    deaths_units = (
        np.median(runs.cell_deaths_members @ w, axis=0)
        if runs.cell_deaths_members is not None
        else np.zeros(len(units))
    )
    feats = [
        {"type": "Feature", "id": f"u{i}", "properties": {}, "geometry": mapping(clockwise(g))}
        for i, g in enumerate(units["geometry"])
    ]
    ugeo = figs.add_geo("admin1", {"type": "FeatureCollection", "features": feats})
    names = [
        f"{plotly_text(n)} ({plotly_text(c)})"
        for n, c in zip(units["name"], units["iso3"], strict=True)
    ]
    return go.Figure(
        go.Choropleth(
            geojson=ugeo,
            locations=[f"u{i}" for i in range(len(units))],
            z=idp_units,
            featureidkey="id",
            colorscale="Purples",
            marker={"line": {"width": 0.5, "color": INK}},
            colorbar={"title": {"text": "IDPs hosted"}},
            text=names,
            customdata=np.stack([deaths_units], axis=1),
            hovertemplate="%{text}<br>median IDPs hosted %{z:,.0f}<br>median deaths "
            f"{span}: %{{customdata[0]:,.0f}}<extra></extra>",
        )
    )


def map_figures(runs: ScenarioRuns, admin1: pd.DataFrame | None, figs: FigureSet) -> dict[str, str]:
    """Add the maps of ``runs``' map scenario to ``figs``: ``map_violence`` (median deaths per
    cell over the projection), ``map_control`` (share of members where the state holds each
    cell in the last month) and, with ``admin1`` (:func:`load_admin1`), ``map_admin1`` (IDPs
    hosted per unit). Returns figure id -> the HTML ``<figure>``; empty without map data."""
    if not runs.has_maps:
        return {}
    space = runs.space
    pos = {int(g): i for i, g in enumerate(space.gid)}
    gid = runs.cell_gid
    assert gid is not None
    idx = np.array([pos[int(g)] for g in gid])
    cells = {
        "lat": space.lat[idx],
        "lon": space.lon[idx],
        "iso": np.array(
            [space.countries[k] if k >= 0 else None for k in space.country[idx]], dtype=object
        ),
        "locs": [str(int(g)) for g in gid],
    }
    geo = figs.add_geo("cells", cell_geojson(gid, cells["lat"], cells["lon"]))
    outline = outline_trace(admin1) if admin1 is not None else None
    sc = plotly_text(runs.titles.get(runs.map_scenario, runs.map_scenario))
    start = month_label(runs.projection_start)
    span = f"{start} to {runs.last_month}"
    out = {}
    fig = _violence(runs, geo, cells)
    out["map_violence"] = figs.add(
        "map_violence",
        _choropleth(fig, outline, f"Simulated violence: median deaths per cell {span} ({sc})"),
        is_map=True,
        caption="Median over members of each cell's total deaths over the projection"
        " (log colour scale).",
    )
    fig = _control(runs, geo, cells)
    out["map_control"] = figs.add(
        "map_control",
        _choropleth(
            fig,
            outline,
            f"Simulated control in {runs.last_month}: share of members where the state holds"
            f" the cell ({sc})",
        ),
        is_map=True,
        caption="Blue: the state holds the cell in most members; red: JNIM, IS Sahel or"
        " contested in most members.",
    )
    if admin1 is None or runs.cell_idp_last is None:
        return out
    fig = _admin1_map(runs, admin1, cells, figs, span)
    out["map_admin1"] = figs.add(
        "map_admin1",
        _choropleth(
            fig, None, f"Displaced people hosted per admin-1 unit in {runs.last_month} ({sc})"
        ),
        is_map=True,
        caption="Natural Earth admin-1 units of the three states; cell values split by the share"
        " of the cell's area in each unit of its country; median over members (hover for"
        " deaths over the projection).",
    )
    return out
