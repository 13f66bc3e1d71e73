"""3. Mobility of the armed groups' units (article: "The Jihadist Adaptation": fighters melt
away before a clearing operation and come back once the column has left; FIELD.md: violence in
hot spots, most cell-months zero).

Insurgents are discrete units (katibas, bands: :data:`~sahelsim.model.fields_table.UNIT_FIELDS`)
with a cell, a strength and a home cell. A pending unit appears in its home cell in its start
month with its founding strength times ``scale_<side>``. Each month a unit in a cell under a
clearing operation slips away with probability ``disperse_frac``; any other unit moves with
probability ``move_frac``. A moving unit goes to one neighbouring cell (or stays, unless
cleared) drawn with weight

    w(n) = A(n) * exp(-d(n, home) / home_range),
    A(n) = sqrt(pop0 / mean pop0) * (1 + gov) / (1 + state-side forces present / 100)

(``d`` in degrees between centroids; cells outside any country are closed). Whole units move,
so fighters stay concentrated where their units are. The cell fields ``jnim``, ``issp``,
``other`` and ``lake`` are then the sums of the units in each cell; the ``pre_*`` flows keep
them so :mod:`.franchise` can carry this month's losses and recruits back to the units.
"""

from __future__ import annotations

import math

from numba import njit

from sahelsim.model.cellsums import state_side_presence
from sahelsim.model.layout import (
    GROUP_SIDE,
    N_SIDES,
    Cell,
    Flow,
    Geo,
    P,
    Stream,
    Unit,
)
from sahelsim.model.rng import uniform


@njit(cache=True, inline="always")
def attractiveness(cs, fl, geo, c):
    """A(c): population, jihadist governance, and the state-side forces present."""
    return (
        geo[Geo.ATTRACT, c] * (1.0 + cs[Cell.GOV, c]) / (1.0 + state_side_presence(fl, c) / 100.0)
    )


@njit(cache=True, inline="always")
def move_weight(cs, fl, geo, n, home_lat, home_lon, home_range):
    """w(n) = A(n) * exp(-d(n, home) / home_range), d in degrees between centroids."""
    d = math.hypot(geo[Geo.LAT, n] - home_lat, geo[Geo.LON, n] - home_lon)
    return attractiveness(cs, fl, geo, n) * math.exp(-d / home_range)


@njit(cache=True)
def aggregate(cs, us):
    """Cell side fields = the sums of the active units' strengths."""
    C = cs.shape[1]
    for s in range(N_SIDES):
        for c in range(C):
            cs[s, c] = 0.0
    for u in range(us.shape[1]):
        c = int(us[Unit.CELL, u])
        if c >= 0:
            cs[GROUP_SIDE[int(us[Unit.GROUP, u])], c] += us[Unit.STRENGTH, u]


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, us, fl = state.cells, state.units, flows.cells
    geo, country, nptr, nidx = geog.geo, geog.country, geog.nbr_ptr, geog.nbr_idx
    rng_home = max(p[P.HOME_RANGE], 1e-6)
    for u in range(us.shape[1]):
        c = int(us[Unit.CELL, u])
        if c < 0:
            start = us[Unit.START, u]
            if start >= 0 and t >= start:  # a pending unit appears at home
                side = GROUP_SIDE[int(us[Unit.GROUP, u])]
                us[Unit.CELL, u] = us[Unit.HOME, u]
                us[Unit.STRENGTH, u] *= p[P.SCALE_JNIM + side]
                us[Unit.START, u] = -1.0
            continue
        cleared = fl[Flow.OP, c] > 0
        r = uniform(key, t, Stream.UNIT_MOVE, u)
        if not (r < (p[P.DISPERSE_FRAC] if cleared else p[P.MOVE_FRAC])):
            continue
        home = int(us[Unit.HOME, u])
        hl, ho = geo[Geo.LAT, home], geo[Geo.LON, home]
        total = 0.0
        if not cleared:
            total += move_weight(cs, fl, geo, c, hl, ho, rng_home)
        for j in range(nptr[c], nptr[c + 1]):
            n = nidx[j]
            if country[n] < 0:
                continue
            total += move_weight(cs, fl, geo, n, hl, ho, rng_home)
        if total <= 0:
            continue
        pick = uniform(key, t, Stream.UNIT_WHERE, u) * total
        dest = c
        acc = 0.0
        if not cleared:
            acc += move_weight(cs, fl, geo, c, hl, ho, rng_home)
        if acc < pick:
            for j in range(nptr[c], nptr[c + 1]):
                n = nidx[j]
                if country[n] < 0:
                    continue
                acc += move_weight(cs, fl, geo, n, hl, ho, rng_home)
                dest = n
                if acc >= pick:
                    break
        us[Unit.CELL, u] = dest
    aggregate(cs, us)
    for s in range(N_SIDES):
        for c in range(cs.shape[1]):
            fl[Flow.PRE_JNIM + s, c] = cs[s, c]


SECTION = "The Jihadist Adaptation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("unit.cell", "unit.strength", "unit.start", "cell.jnim", "cell.issp", "cell.other",
          "cell.lake", "flow.pre_jnim", "flow.pre_issp", "flow.pre_other", "flow.pre_lake")  # fmt: skip
