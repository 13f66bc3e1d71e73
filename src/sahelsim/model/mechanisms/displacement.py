"""9. Displacement and population (article: "Fragmentation's Feedback Loops": over two million
displaced; borders that hardened when ECOWAS free movement ended).

    leave = floor(residents * min(0.3, flee_per_death * deaths / (residents / 10,000)
                                       + flee_control * (share_jnim + share_issp + share_other)))

A share ``abroad_share * border_openness`` of leavers crosses a border (refugees of the
country); the rest go to the state-held urban cores of the same country with weight
``pop0 * exp(-distance / flight_range)`` (degrees: most stay in their region, as IOM DTM
records them), to the capital when none is held. Displaced people hosted in a cell return or
settle at ``idp_return`` per month. Residents grow at the cell's WorldPop growth rate; the
growth is counted so that residents + displaced + refugees + dead = initial + growth exactly.
Cells without a country (the ring over Algeria, Mauritania, Chad) do not displace.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sahelsim.model.cellsums import CACHE_DECAY, CACHE_MARK, cache_rows, cell_deaths, has_cache
from sahelsim.model.layout import Cell, Ctry, Flow, Geo, Lever, P


@njit(cache=True, inline="always")
def _open_cache(fl, uptr, rng_flight):
    """The per-run cache of decays as a (cells, cores) array, or an empty one when ``fl`` does
    not carry the cache rows (:mod:`sahelsim.model.cellsums`); emptied when it was computed
    for another flight range."""
    C = fl.shape[1]
    if not has_cache(fl, uptr):
        return np.zeros((0, 0))
    if fl[CACHE_MARK, 0] != rng_flight:
        fl[CACHE_DECAY:, :] = 0.0
        fl[CACHE_MARK, 0] = rng_flight
    # the decay rows as one block, each cell's cores side by side
    R = cache_rows(uptr) - 1
    return fl[CACHE_DECAY : CACHE_DECAY + R].reshape((C, R))


@njit(cache=True, inline="always")
def _weights(ev, dec, c, geo, hptr0, hptr1, held_i, held_u, rng_flight):
    """``ev[h]`` = exp(-distance(c, u) / flight_range) for the state-held urban cores u =
    ``held_u[h]`` of c's country, and their sum weighted by population in that order. A decay
    is a pure function of the geography and the member's parameter, so it is computed once per
    run and kept in ``dec`` (0 = not yet; recomputed on underflow): the kept value is the very
    number computed again. The loop that reads the cache has no call in it; the misses (rare
    after the first months) are computed after, and the sum then taken again."""
    cached = dec.shape[0] > 0
    wk = 0.0
    missing = False
    for h in range(hptr0, hptr1):
        e = dec[c, held_i[h]] if cached else 0.0
        ev[h] = e
        missing |= e == 0.0
        wk += geo[Geo.POP0, held_u[h]] * e
    if not missing:
        return wk
    lat, lon = geo[Geo.LAT, c], geo[Geo.LON, c]
    wk = 0.0
    for h in range(hptr0, hptr1):
        u = held_u[h]
        if ev[h] == 0.0:
            d = math.hypot(geo[Geo.LAT, u] - lat, geo[Geo.LON, u] - lon)
            ev[h] = math.exp(-d / rng_flight)
            if cached:
                dec[c, held_i[h]] = ev[h]
        wk += geo[Geo.POP0, u] * ev[h]
    return wk


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, ks, fl, gc = state.cells, state.ctry, flows.cells, state.growth
    lev = drivers.lev
    geo, country, capital = geog.geo, geog.country, geog.capital
    cptr, cidx, uptr, uidx = geog.country_ptr, geog.country_idx, geog.urban_ptr, geog.urban_idx
    rng_flight = max(p[P.FLIGHT_RANGE], 1e-6)
    dec = _open_cache(fl, uptr, rng_flight)
    # the state-held urban cores of each country (the hold does not change here), in list order
    K = uptr.shape[0] - 1
    hptr = np.zeros(K + 1, dtype=np.int64)
    held_i = np.empty(uidx.shape[0], dtype=np.int64)  # position in the country's core list
    held_u = np.empty(uidx.shape[0], dtype=np.int64)  # the core's cell
    for k in range(K):
        h = hptr[k]
        for j in range(uptr[k], uptr[k + 1]):
            if cs[Cell.HOLD, uidx[j]] == 1.0:
                held_i[h] = j - uptr[k]
                held_u[h] = uidx[j]
                h += 1
        hptr[k + 1] = h
    ev = np.empty(uidx.shape[0])  # exp(-distance / flight_range) to each held core
    fpd_finite = math.isfinite(p[P.FLEE_PER_DEATH])
    for c in range(cs.shape[1]):
        k = country[c]
        if k < 0:
            continue
        pop = max(cs[Cell.POP, c], 0.0)
        if pop <= 0:
            continue
        deaths = cell_deaths(fl, c)
        rate = p[P.FLEE_PER_DEATH] * deaths
        if not (deaths == 0.0 and fpd_finite):  # else a zero: divided by pop / 10,000 the same
            rate /= max(pop, 1.0) / 1e4
        rate += p[P.FLEE_CONTROL] * (
            cs[Cell.SHARE_JNIM, c] + cs[Cell.SHARE_ISSP, c] + cs[Cell.SHARE_OTHER, c]
        )
        leave = math.floor(pop * min(rate, 0.3))
        if leave <= 0:
            continue
        border = min(max(lev[Lever.BORDER_OPENNESS, k], 0.0), 1.0)
        abroad = math.floor(leave * p[P.ABROAD_SHARE] * border)
        cs[Cell.POP, c] -= leave
        fl[Flow.DISPLACED_NEW, c] += leave
        ks[Ctry.REFUGEES, k] += abroad
        internal = leave - abroad
        if internal <= 0:
            continue
        # to the state-held urban cores of the country, the nearer and larger the likelier
        wk = _weights(ev, dec, c, geo, hptr[k], hptr[k + 1], held_i, held_u, rng_flight)
        if wk > 0:
            for h in range(hptr[k], hptr[k + 1]):
                u = held_u[h]
                cs[Cell.IDP, u] += internal * geo[Geo.POP0, u] * ev[h] / wk
        elif capital[k] >= 0:
            cs[Cell.IDP, capital[k]] += internal
        else:  # nowhere to go: they stay, counted back among the residents of a cell
            cs[Cell.POP, cidx[cptr[k]]] += internal
    ret_rate = p[P.IDP_RETURN]
    g_sum = 0.0
    for c in range(cs.shape[1]):
        ret = cs[Cell.IDP, c] * ret_rate
        cs[Cell.IDP, c] -= ret
        cs[Cell.POP, c] += ret
        g = cs[Cell.POP, c] * geo[Geo.GROWTH, c]
        cs[Cell.POP, c] += g
        g_sum += g
    gc[0] += g_sum


SECTION = "Fragmentation's Feedback Loops"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.pop", "cell.idp", "ctry.refugees", "flow.displaced_new", "state.growth")  # fmt: skip
