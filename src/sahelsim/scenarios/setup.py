"""Setting up a model run from the project's data: the space from the study grid and the drivers
from the dated timeline. The model layer itself (:mod:`sahelsim.model`) takes plain arrays; this
module is where pandas frames (the grid's cells, the timeline) become them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sahelsim.evidence.timeline import load_timeline
from sahelsim.grid.build import Grid
from sahelsim.model.drivers import EFFECT_TAGS, Drivers, Event, make_drivers
from sahelsim.model.layout import CORE
from sahelsim.model.space import Space

__all__ = ["build_drivers", "space_from_grid", "timeline_events"]


def space_from_grid(grid: Grid, start_year: float = 2012.0) -> Space:
    """The model space of a :class:`sahelsim.grid.build.Grid`: core three countries first, then
    the neighbours with cells; population grown exponentially from the WorldPop 2000 and 2020
    values to ``start_year`` (people)."""
    cells = grid.cells
    iso = cells["iso3"].astype(object).where(cells["iso3"].notna(), None).to_numpy()
    others = sorted({c for c in iso if c is not None and c not in CORE})
    countries = CORE + tuple(others)
    index = {c: i for i, c in enumerate(countries)}
    country = np.array([index.get(c, -1) if c is not None else -1 for c in iso])
    p00 = cells["pop_2000"].to_numpy(dtype=float)
    p20 = cells["pop_2020"].to_numpy(dtype=float)
    annual = np.where(
        (p00 > 0) & (p20 > 0), (np.maximum(p20, 1) / np.maximum(p00, 1)) ** (1 / 20) - 1, 0.025
    )
    annual = np.clip(annual, -0.02, 0.06)
    pop0 = np.where(p20 > 0, p20 * (1 + annual) ** (start_year - 2020), p00)
    growth = (1 + annual) ** (1 / 12) - 1
    capital = _capitals(countries, country, cells["capital_distance_km"].to_numpy(dtype=float))
    return Space(
        gid=cells["priogrid_gid"].to_numpy(dtype=np.int64),
        lat=cells["lat"].to_numpy(dtype=float),
        lon=cells["lon"].to_numpy(dtype=float),
        country=country,
        countries=countries,
        core=cells["core"].to_numpy(dtype=bool),
        area_km2=cells["area_km2"].to_numpy(dtype=float),
        pop0=np.maximum(pop0, 0.0),
        growth=growth,
        urban=cells["urban_core"].to_numpy(dtype=bool),
        capital=capital,
        adj=sp.csr_matrix(grid.adjacency, dtype=float),
    )


def _capitals(countries: tuple[str, ...], country: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Each country's cell nearest to its capital (-1 when it has none with a distance)."""
    cap = np.full(len(countries), -1)
    for k in range(len(countries)):
        idx = np.nonzero((country == k) & np.isfinite(dist))[0]
        if idx.size:
            cap[k] = idx[np.argmin(dist[idx])]
    return cap


def timeline_events(timeline: pd.DataFrame | None = None) -> list[Event]:
    """The timeline (default: the packaged one) as the model's plain :class:`Event` records."""
    tl = load_timeline() if timeline is None else timeline
    out = []
    for row in tl.itertuples(index=False):
        iso = getattr(row, "iso3", None)
        if isinstance(iso, str):
            out.append(Event(iso, int(row.month_id), _effects(row)))
    return out


def _effects(row: object) -> dict[str, float]:
    eff = getattr(row, "effects", None)
    if isinstance(eff, str) and eff.strip().startswith("{"):
        eff = json.loads(eff)
    if isinstance(eff, dict):
        return {k: float(v) for k, v in eff.items()}
    out: dict[str, float] = {}
    for tag in EFFECT_TAGS:
        v = getattr(row, tag, None)
        if v is not None and v == v and v != 0:
            out[tag] = float(v)
    return out


def build_drivers(
    space: Space,
    start_month: int,
    months: int,
    *,
    timeline: pd.DataFrame | None = None,
    levers: Mapping[str, np.ndarray] | None = None,
    flags: Mapping[str, object] | None = None,
    projection_start: int | None = None,
) -> Drivers:
    """:func:`sahelsim.model.drivers.make_drivers` with the events of ``timeline`` (default: the
    packaged timeline). ``levers`` maps lever names to (months, 3) arrays (a scenario's
    ``lever_series``); missing levers take their one default (``fields_table.LEVERS``)."""
    return make_drivers(space, start_month, months, events=timeline_events(timeline),
                        levers=levers, flags=flags, projection_start=projection_start)  # fmt: skip
