"""10. Patron dependency (article: "The Russian Calculation").

Russian personnel (lever ``russia_personnel``, persons per country) protect regimes and sites
rather than hold ground: ``russia_capital_share`` (share, default 0.7) is posted to the capital
and urban cores (by population); the rest joins clearing operations (:mod:`.operations`).
Dependency D (0..1) grows with the Russian share of force and with every failed defence
(deaths in urban cores last month):

    D <- D + (dependency_gain * R / (R + pool) + dependency_fail * deaths_urban) * (1 - D)
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import Cell, Ctry, Flow, Geo, Lever, P


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, ks, fl = state.cells, state.ctry, flows.cells
    lev = drivers.lev
    geo, uptr, uidx = geog.geo, geog.urban_ptr, geog.urban_idx
    for k in range(ks.shape[1]):
        ks[Ctry.RUSSIA, k] = lev[Lever.RUSSIA_PERSONNEL, k]
        wk = 0.0
        dead = 0.0
        for j in range(uptr[k], uptr[k + 1]):
            c = uidx[j]
            wk += geo[Geo.POP0, c]
            dead += cs[Cell.DEATHS_LAST, c]
        if wk > 0:
            posted = ks[Ctry.RUSSIA, k] * p[P.RUSSIA_CAPITAL_SHARE]
            for j in range(uptr[k], uptr[k + 1]):
                c = uidx[j]
                fl[Flow.RUSSIA_CELL, c] = posted * geo[Geo.POP0, c] / wk
        share = ks[Ctry.RUSSIA, k] / max(ks[Ctry.RUSSIA, k] + ks[Ctry.POOL, k], 1.0)
        growth = p[P.DEPENDENCY_GAIN] * share + p[P.DEPENDENCY_FAIL] * dead
        d = ks[Ctry.DEPENDENCY, k] + growth * (1 - ks[Ctry.DEPENDENCY, k])
        ks[Ctry.DEPENDENCY, k] = min(max(d, 0.0), 1.0)


SECTION = "The Russian Calculation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("ctry.russia", "ctry.dependency", "flow.russia_cell")  # fmt: skip
