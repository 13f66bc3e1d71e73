"""Offline maps of scenario runs: PRIO-GRID cells and admin-1 units as Plotly ``choropleth``
traces with inline GeoJSON.

Plotly would fetch a world topojson for geo traces, so pages define :data:`GEO_STUB` before the
Plotly script, ``geo.visible`` is off and every polygon is wound clockwise
(``shapely.geometry.polygon.orient(g, -1)``), otherwise a polygon fills the whole globe.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
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
from sahelsim.viz.figures import FigureSet, layout_style
from sahelsim.viz.palette import INK, hold_colour, hold_key, hold_name
from sahelsim.viz.places import CellFrame, admin1_weights, cell_frame, label_traces
from sahelsim.viz.runs import CORE, COUNTRY_NAMES, ScenarioRuns
from sahelsim.viz.text import log_ticks, plotly_text

log = logging.getLogger(__name__)

__all__ = [
    "GEO_STUB",
    "MAP_SOURCE",
    "admin1_weights",
    "admin1_weights_for",
    "cell_geojson",
    "clockwise",
    "country_map",
    "load_admin1",
    "map_figures",
    "outline_trace",
]

#: The source line of every simulated map.
MAP_SOURCE = (
    "sahelsim ensemble on PRIO-GRID 0.5° cells; borders and admin-1 units: Natural Earth;"
    " towns: sahelsim/resources/urban_cores.csv"
)

#: The stub that keeps Plotly's geo module from fetching a world topojson from its CDN.
GEO_STUB = (
    "window.PlotlyGeoAssets = {topojson: {world_110m: "
    '{"type": "Topology", "objects": {}, "arcs": []}}};'
)
_MAP_HEIGHT = 560
_COUNTRY_MAP_HEIGHT = 520
_CELL_LINE = {"width": 0.2, "color": "#999"}

# Geometry that depends only on the grid and the admin-1 polygons (cell squares, unit outlines,
# the cells' area shares per unit) is computed once per content and kept: it was most of an
# explorer lever change's map time. Keys are hashes of the inputs, never object identities.
_MEMO: dict[tuple[str, str], Any] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 16


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str((p.dtype, p.shape)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        elif isinstance(p, pd.DataFrame):  # admin-1 units: names, countries, polygons
            h.update("\0".join(map(str, p["name"])).encode())
            h.update("\0".join(map(str, p["iso3"])).encode())
            h.update(b"".join(shapely.to_wkb(np.asarray(p["geometry"]))))
        else:
            h.update(repr(p).encode())
        h.update(b"|")
    return h.hexdigest()


def _memo(kind: str, key: str, make: Callable[[], Any]) -> Any:
    """``make()`` once per (kind, key); the value is shared: callers must not modify it."""
    with _MEMO_LOCK:
        if (kind, key) in _MEMO:
            return _MEMO[(kind, key)]
    value = make()
    with _MEMO_LOCK:
        while len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[(kind, key)] = value
    return value


def cell_geojson(gid: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    """A FeatureCollection of grid cells (clockwise squares), feature id = cell id (computed
    once per grid and shared: do not modify it)."""
    key = _digest(np.asarray(gid), np.asarray(lat), np.asarray(lon))
    return _memo("cells", key, lambda: _cell_geojson(gid, lat, lon))


def _cell_geojson(gid: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
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


def outline_trace(
    admin1: pd.DataFrame, countries: tuple[str, ...] = CORE, *, units: bool = False
) -> go.Scattergeo | None:
    """Borders of ``countries`` (or, with ``units``, of their admin-1 units) as one line trace."""
    lons: list[float | None] = []
    lats: list[float | None] = []
    if units:
        geoms = admin1.loc[admin1["iso3"].isin(countries), "geometry"].tolist()
        for g in geoms:
            for poly in getattr(g.simplify(0.02), "geoms", [g.simplify(0.02)]):
                xs, ys = poly.exterior.coords.xy
                lons += [round(v, 3) for v in xs] + [None]
                lats += [round(v, 3) for v in ys] + [None]
    for c in () if units else countries:
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
        line={"color": "#777" if units else "#333", "width": 0.6 if units else 1},
        hoverinfo="skip",
        showlegend=False,
        name="borders",
    )


_GEO_LAYOUT = {
    "visible": False,
    "fitbounds": "locations",
    "projection": {"type": "equirectangular"},
    "bgcolor": "rgba(0,0,0,0)",
}


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


def _choropleth(
    fig: go.Figure,
    outline: go.Scattergeo | None,
    title: str,
    labels: list[go.Scattergeo] | None = None,
    height: int = _MAP_HEIGHT,
) -> go.Figure:
    """``fig``'s traces with the outline and labels over them and the map layout, assembled as
    Plotly JSON without validating it again (the traces are validated when made)."""
    data = [t.to_plotly_json() for t in (*fig.data, outline, *(labels or [])) if t is not None]
    for t in data:
        t.pop("uid", None)
    layout = {
        "geo": dict(_GEO_LAYOUT),
        "modebar": {"orientation": "v"},
        **layout_style(title, height=height, margin={"l": 10, "r": 10, "t": 60, "b": 20}),
    }
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _violence(
    runs: ScenarioRuns, geo: str, cells: CellFrame, keep: np.ndarray | None = None
) -> go.Figure:
    dmed = runs.cell_deaths_median
    assert dmed is not None
    keep = np.ones(len(dmed), dtype=bool) if keep is None else keep
    dmed = dmed[keep]
    z = np.log10(1.0 + dmed)
    tickvals, ticktext = log_ticks(max(float(dmed.max()) if len(dmed) else 0.0, 9.0))
    return go.Figure(
        go.Choropleth(
            geojson=geo,
            locations=[loc for loc, k in zip(cells["locs"], keep, strict=True) if k],
            z=z,
            featureidkey="id",
            colorscale="YlOrRd",
            zmin=0,
            zmax=tickvals[-1],
            marker={"line": _CELL_LINE},
            colorbar={
                "title": {"text": "deaths<br>(log scale)"},
                "tickvals": tickvals,
                "ticktext": ticktext,
            },
            customdata=np.stack([dmed, cells["lat"][keep], cells["lon"][keep]], axis=1),
            hovertemplate="cell %{location} (%{customdata[1]:.2f}, %{customdata[2]:.2f})<br>"
            "median deaths %{customdata[0]:,.0f}<extra></extra>",
        )
    )


def _cell_data(
    runs: ScenarioRuns, cells: CellFrame, keep: np.ndarray | None = None
) -> pd.DataFrame:
    """The cell maps' table for the CSV download (one share column per control holder)."""
    df = pd.DataFrame(
        {
            "priogrid_gid": runs.cell_gid,
            "lat": cells["lat"],
            "lon": cells["lon"],
            "country": [COUNTRY_NAMES.get(str(c), "") if c else "" for c in cells["iso"]],
            "median_deaths_projection": runs.cell_deaths_median,
            "share_of_members_state_holds_last_month": runs.cell_state_share,
        }
    )
    for code, share in runs.cell_hold_shares.items():
        label = runs.hold_labels.get(code, str(code))
        if label != "state":
            col = "share_of_members_" + hold_name(label).replace(" ", "_") + "_last_month"
            df[col] = share
    return df if keep is None else df[keep]


def _control(runs: ScenarioRuns, geo: str, cells: CellFrame) -> go.Figure:
    """Who holds each cell in most members (categories from the model's control codes, one
    colour each; ungoverned never drawn like state-held), hover: the shares of members."""
    codes = sorted(runs.cell_hold_shares)
    if not codes:  # no control recorded: the state's share alone
        codes = [1]
        runs.cell_hold_shares = {1: np.asarray(runs.cell_state_share, dtype=float)}
        runs.hold_labels = {1: "state"}
    shares = np.stack([runs.cell_hold_shares[c] for c in codes])  # (codes, cells)
    mode = shares.argmax(axis=0)
    names = [hold_name(runs.hold_labels.get(c, str(c))) for c in codes]
    colours = [hold_colour(runs.hold_labels.get(c, str(c))) for c in codes]
    n = len(codes)
    scale = []  # a stepped colour scale: category k fills [k/n, (k+1)/n]
    for k, col in enumerate(colours):
        scale += [[k / n, col], [(k + 1) / n, col]]
    text = [names[k] for k in mode]
    state = np.asarray(runs.cell_state_share, dtype=float)
    top = shares[mode, np.arange(shares.shape[1])]
    return go.Figure(
        go.Choropleth(
            geojson=geo,
            locations=cells["locs"],
            z=mode + 0.5,
            featureidkey="id",
            colorscale=scale,
            zmin=0,
            zmax=n,
            marker={"line": _CELL_LINE},
            colorbar={
                "title": {"text": "held in most<br>members by"},
                "tickvals": [k + 0.5 for k in range(n)],
                "ticktext": [plotly_text(x) for x in names],
            },
            text=text,
            customdata=np.stack([cells["lat"], cells["lon"], top, state], axis=1),
            hovertemplate="cell %{location} (%{customdata[0]:.2f}, %{customdata[1]:.2f})<br>"
            "held by %{text} in %{customdata[2]:.0%} of members<br>"
            "the state holds it in %{customdata[3]:.0%}<extra></extra>",
        )
    )


def _admin1_map(
    runs: ScenarioRuns, units: pd.DataFrame, cells: CellFrame, figs: FigureSet, span: str
) -> tuple[go.Figure, pd.DataFrame]:
    assert runs.cell_gid is not None and runs.cell_idp_last is not None
    w = admin1_weights_for(runs, units)
    idp_units = np.median(runs.cell_idp_last @ w, axis=0)
    deaths_units = (
        np.median(runs.cell_deaths_members @ w, axis=0)
        if runs.cell_deaths_members is not None
        else np.zeros(len(units))
    )
    ugeo = figs.add_geo("admin1", _admin1_geojson(units))
    names = [
        f"{plotly_text(n)} ({plotly_text(COUNTRY_NAMES.get(str(c), c))})"
        for n, c in zip(units["name"], units["iso3"], strict=True)
    ]
    data = pd.DataFrame(
        {
            "country": [COUNTRY_NAMES.get(str(c), str(c)) for c in units["iso3"]],
            "admin1_unit": units["name"].astype(str),
            "median_idps_hosted_last_month": idp_units,
            "median_deaths_projection": deaths_units,
        }
    )
    fig = go.Figure(
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
    return fig, data


def _admin1_geojson(units: pd.DataFrame) -> dict[str, Any]:
    """The units as a FeatureCollection (ids ``u0``, ``u1``...), computed once per polygons."""

    def make() -> dict[str, Any]:
        feats = [
            {"type": "Feature", "id": f"u{i}", "properties": {}, "geometry": mapping(clockwise(g))}
            for i, g in enumerate(units["geometry"])
        ]
        return {"type": "FeatureCollection", "features": feats}

    return _memo("admin1", _digest(units), make)


def map_figures(runs: ScenarioRuns, admin1: pd.DataFrame | None, figs: FigureSet) -> dict[str, str]:
    """Add the maps of ``runs``' map scenario to ``figs``: ``map_violence`` (median deaths per
    cell over the projection), ``map_control`` (share of members where the state holds each
    cell in the last month) and, with ``admin1`` (:func:`load_admin1`), ``map_admin1`` (IDPs
    hosted per unit). Returns figure id -> the HTML ``<figure>``; empty without map data."""
    if not runs.has_maps:
        return {}
    gid = runs.cell_gid
    assert gid is not None
    cells = cell_frame(runs)
    geo = figs.add_geo("cells", cell_geojson(gid, cells["lat"], cells["lon"]))
    outline = (
        _memo("outline", _digest(admin1), lambda: outline_trace(admin1))
        if admin1 is not None
        else None
    )
    labels = _memo("labels", _digest(gid, cells["lat"], cells["lon"]),
                   lambda: label_traces(cells, height=_MAP_HEIGHT))  # fmt: skip
    sc = plotly_text(runs.titles.get(runs.map_scenario, runs.map_scenario))
    start = month_label(runs.projection_start)
    span = f"{start} to {runs.last_month}"
    out = {}
    drawn = (
        (
            "map_violence",
            _violence(runs, geo, cells),
            f"Simulated violence: median deaths per cell {span} ({sc})",
            "Median over members of each cell's total deaths over the projection"
            " (log colour scale: 0, 1, 10, 100, 1 k).",
            "deaths per 0.5° cell over the projection (median of members)",
        ),
        (
            "map_control",
            _control(runs, geo, cells),
            f"Simulated control in {runs.last_month}: who holds each cell in most members ({sc})",
            "Each cell is coloured by the holder it has in most members (the model's control"
            " codes: " + ", ".join(hold_name(v) for v in runs.hold_labels.values()) + ");"
            " hover for the shares of members."
            + (
                " Ungoverned cells are pale yellow, never drawn like state-held ones."
                if any(hold_key(v) == "ungoverned" for v in runs.hold_labels.values())
                else ""
            ),
            "holder in most ensemble members; shares of members in the CSV",
        ),
    )
    for fid, fig, title, caption, units in drawn:
        out[fid] = figs.add(
            fid,
            _choropleth(fig, outline, title, labels),
            is_map=True,
            caption=caption,
            units=units,
            source=MAP_SOURCE,
            data=_cell_data(runs, cells),
        )
    if admin1 is None or runs.cell_idp_last is None:
        return out
    fig, data = _admin1_map(runs, admin1, cells, figs, span)
    out["map_admin1"] = figs.add(
        "map_admin1",
        _choropleth(
            fig,
            None,
            f"Displaced people hosted per admin-1 unit in {runs.last_month} ({sc})",
            labels,
        ),
        is_map=True,
        caption="Natural Earth admin-1 units of the three states; cell values split by the share"
        " of the cell's area in each unit of its country; median over members (hover for"
        " deaths over the projection).",
        units="people (internally displaced, hosted in the unit; median of members)",
        source=MAP_SOURCE,
        data=data,
    )
    return out


def country_map(runs: ScenarioRuns, admin1: pd.DataFrame | None, figs: FigureSet, iso3: str) -> str:
    """The violence map of one country (its cells, admin-1 borders, capital and regional
    capitals labelled) as ``map_<iso3>``; "" without map data. Call after :func:`map_figures`
    (it shares the cell polygons)."""
    if not runs.has_maps:
        return ""
    cells = cell_frame(runs)
    keep = cells["iso"] == iso3
    if not keep.any():
        return ""
    geo = (
        "@cells"
        if "cells" in figs.geo
        else figs.add_geo("cells", cell_geojson(runs.cell_gid, cells["lat"], cells["lon"]))
    )
    outline = outline_trace(admin1, (iso3,), units=True) if admin1 is not None else None
    sc = plotly_text(runs.titles.get(runs.map_scenario, runs.map_scenario))
    span = f"{month_label(runs.projection_start)} to {runs.last_month}"
    name = COUNTRY_NAMES[iso3]
    fig = _violence(runs, geo, cells, keep)
    fid = f"map_{iso3.lower()}"
    return figs.add(
        fid,
        _choropleth(
            fig,
            outline,
            f"{name}: median simulated deaths per cell, {span} ({sc})",
            label_traces(cells, (iso3,), height=_COUNTRY_MAP_HEIGHT),
            height=_COUNTRY_MAP_HEIGHT,
        ),
        is_map=True,
        caption="Grey lines: admin-1 units; star: the capital; dots: regional capitals.",
        units="deaths per 0.5° cell over the projection (median of members; log colour scale)",
        source=MAP_SOURCE,
        data=_cell_data(runs, cells, keep),
    )


def admin1_weights_for(runs: ScenarioRuns, admin1: pd.DataFrame) -> np.ndarray:
    """:func:`~sahelsim.viz.places.admin1_weights` of the run's map cells."""
    cells = cell_frame(runs)
    gid = runs.cell_gid
    assert gid is not None
    key = _digest(admin1, gid, cells["lat"], cells["lon"], cells["iso"].astype(str))
    w = _memo("weights", key,
              lambda: admin1_weights(admin1, gid, cells["lat"], cells["lon"], cells["iso"]))  # fmt: skip
    return w.copy()
