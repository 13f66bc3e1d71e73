"""2. Clear and withdraw (article: "The Jihadist Adaptation").

Each state allocates its deployable force: ``garrison_share`` (share, default 0.6) guards urban
cores (regime survival first, by population), the rest runs ``ops_per_10k`` clearing operations
per 10,000 deployable (default 2) against the cells with most insurgents (cells under a local
accord are left alone). Deployable = national pool x ``state_force_scale`` + joint force +
intervention force + Russians not posted to cities. The national pool recovers 2 % a month
towards its nominal size (``force_mli``/``force_bfa``/``force_ner``, persons).

In an operation cell ``disperse_frac`` (default 0.6) of the insurgents flee, equally, to the
neighbouring cells; the force leaves at the end of the month, and from then on ``return_frac``
(default 0.5 per month) of those cleared fighters come back from the neighbours (as many as are
still there). Every month ``move_frac`` (default 0.15) of the fighters in each cell move among
the cell and its neighbours in proportion to attractiveness (fractions below 0.01 fighter are
cleared)

    A = sqrt(pop0 / mean pop0) * (1 + gov) / (1 + forces present / 100)

Militias (VDP, Dozos, Dan Na Ambassagou...) grow with the violence: each month
``militia_mobilisation`` recruits per death in the country last month join, up to the ceiling
``militia_mli``/``militia_bfa``/``militia_ner`` (persons); they deploy in proportion to
population in the cells of their country where insurgents are (> 1 fighter).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sahelsim.model.cellsums import share_with_neighbours, state_side_presence
from sahelsim.model.layout import BFA, MLI, NER, Cell, Ctry, Flow, Geo, Lever, P


@njit(cache=True)
def _disperse_and_return(arr, away, op, nptr, nidx, frac, ret_frac):
    C = arr.shape[0]
    out = np.empty(C)
    for c in range(C):
        out[c] = arr[c] * op[c] * frac
        arr[c] -= out[c]
        away[c] += out[c]
    for c in range(C):
        share_with_neighbours(out[c], c, nptr, nidx, arr)
    # return of the cleared where no operation runs
    ret = np.empty(C)
    want = np.zeros(C)
    for c in range(C):
        ret[c] = away[c] * (1.0 - op[c]) * ret_frac
        share_with_neighbours(ret[c], c, nptr, nidx, want)
    avail = np.zeros(C)
    for j in range(C):
        if want[j] > 0:
            avail[j] = min(want[j], arr[j]) / want[j]
    for j in range(C):
        arr[j] -= want[j] * avail[j]
    for c in range(C):
        deg = nptr[c + 1] - nptr[c]
        if ret[c] > 0 and deg > 0:
            s = 0.0
            for j in range(nptr[c], nptr[c + 1]):
                s += avail[nidx[j]]
            arr[c] += ret[c] * s / deg
        away[c] -= ret[c]
        if away[c] < 0.01:
            away[c] = 0.0


@njit(cache=True)
def _move(jn, isp, attract, denom, nptr, nidx, frac):
    """Move ``frac`` of both fighter pools among each cell and its neighbours by
    attractiveness (scatter from occupied cells only); counts below 0.01 fighter are cleared."""
    C = jn.shape[0]
    inj = np.zeros(C)
    ini = np.zeros(C)
    for c in range(C):
        if denom[c] <= 0 or (jn[c] <= 0 and isp[c] <= 0):
            continue
        sj = jn[c] * frac / denom[c]
        si = isp[c] * frac / denom[c]
        inj[c] += sj
        ini[c] += si
        for j in range(nptr[c], nptr[c + 1]):
            n = nidx[j]
            inj[n] += sj
            ini[n] += si
        jn[c] -= jn[c] * frac
        isp[c] -= isp[c] * frac
    for c in range(C):
        a = attract[c]
        x = jn[c] + a * inj[c]
        y = isp[c] + a * ini[c]
        jn[c] = x if x >= 0.01 else 0.0
        isp[c] = y if y >= 0.01 else 0.0


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, ks, fl = state.cells, state.ctry, flows.cells
    lev = drivers.lev
    geo, nptr, nidx = geog.geo, geog.nbr_ptr, geog.nbr_idx
    cptr, cidx, uptr, uidx = geog.country_ptr, geog.country_idx, geog.urban_ptr, geog.urban_idx
    K = ks.shape[1]
    C = cs.shape[1]
    cap_share = p[P.RUSSIA_CAPITAL_SHARE]
    n_ops_total = 0
    for k in range(K):
        nominal = 0.0
        ceiling = 0.0
        if k == MLI:
            nominal, ceiling = p[P.FORCE_MLI], p[P.MILITIA_MLI]
        elif k == BFA:
            nominal, ceiling = p[P.FORCE_BFA], p[P.MILITIA_BFA]
        elif k == NER:
            nominal, ceiling = p[P.FORCE_NER], p[P.MILITIA_NER]
        ks[Ctry.POOL, k] += 0.02 * (nominal - ks[Ctry.POOL, k])
        if ceiling > 0 and ks[Ctry.MILITIA, k] < ceiling:
            grow = (
                p[P.MILITIA_MOBILISATION]
                * ks[Ctry.DEATHS_LAST_K, k]
                * (1.0 - ks[Ctry.MILITIA, k] / ceiling)
            )
            ks[Ctry.MILITIA, k] = min(ks[Ctry.MILITIA, k] + grow, ceiling)
        scale = lev[Lever.STATE_FORCE_SCALE, k]
        extra = ks[Ctry.JOINT, k] + lev[Lever.INTERVENTION_FORCE, k]
        russia_ops = ks[Ctry.RUSSIA, k] * (1 - cap_share)
        national = ks[Ctry.POOL, k] * scale
        deploy = national + extra + russia_ops
        if deploy <= 0:
            continue
        garrison = p[P.GARRISON_SHARE] * deploy
        ops_force = deploy - garrison
        extra_share = extra / deploy
        wk = 0.0
        for j in range(uptr[k], uptr[k + 1]):
            wk += geo[Geo.POP0, uidx[j]]
        if wk > 0:
            for j in range(uptr[k], uptr[k + 1]):
                c = uidx[j]
                g = garrison * geo[Geo.POP0, c] / wk
                fl[Flow.STATE_CELL, c] += g * (1 - extra_share)
                fl[Flow.EXTRA_CELL, c] += g * extra_share
        # clearing operations: the n most active cells (repeated arg-max, n is small)
        n_k = cptr[k + 1] - cptr[k]
        n_ops = min(math.floor(p[P.OPS_PER_10K] * ops_force / 1e4 + 0.5), n_k)
        n_real = 0
        for _ in range(n_ops):
            best, best_c = 0.0, -1
            for j in range(cptr[k], cptr[k + 1]):
                c = cidx[j]
                if fl[Flow.OP, c] > 0:
                    continue
                s = (cs[Cell.JNIM, c] + cs[Cell.ISSP, c]) * (1.0 - cs[Cell.ACCORD, c])
                if s > best:
                    best, best_c = s, c
            if best_c < 0:
                break
            fl[Flow.OP, best_c] = 1.0
            n_real += 1
            n_ops_total += 1
        if n_real > 0:
            per_op = ops_force / n_real
            for j in range(cptr[k], cptr[k + 1]):
                c = cidx[j]
                if fl[Flow.OP, c] > 0:
                    fl[Flow.STATE_CELL, c] += per_op * national / deploy
                    fl[Flow.EXTRA_CELL, c] += per_op * extra / deploy
                    fl[Flow.RUSSIA_CELL, c] += per_op * russia_ops / deploy
        # militias where insurgents are, by population
        mk = 0.0
        for j in range(cptr[k], cptr[k + 1]):
            c = cidx[j]
            if cs[Cell.JNIM, c] + cs[Cell.ISSP, c] > 1:
                mk += geo[Geo.POP0, c]
        if mk > 0:
            for j in range(cptr[k], cptr[k + 1]):
                c = cidx[j]
                if cs[Cell.JNIM, c] + cs[Cell.ISSP, c] > 1:
                    fl[Flow.MILITIA_CELL, c] = ks[Ctry.MILITIA, k] * geo[Geo.POP0, c] / mk
    # dispersal out of cleared cells and return once the force has left
    op = fl[Flow.OP]
    _disperse_and_return(
        cs[Cell.JNIM], cs[Cell.JNIM_AWAY], op, nptr, nidx, p[P.DISPERSE_FRAC], p[P.RETURN_FRAC]
    )
    _disperse_and_return(
        cs[Cell.ISSP], cs[Cell.ISSP_AWAY], op, nptr, nidx, p[P.DISPERSE_FRAC], p[P.RETURN_FRAC]
    )
    # movement towards attractive cells
    attract = np.empty(C)
    for c in range(C):
        present = state_side_presence(fl, c)
        attract[c] = geo[Geo.ATTRACT, c] * (1.0 + cs[Cell.GOV, c]) / (1.0 + present / 100.0)
    denom = np.empty(C)
    for c in range(C):
        s = attract[c]
        for j in range(nptr[c], nptr[c + 1]):
            s += attract[nidx[j]]
        denom[c] = s
    _move(cs[Cell.JNIM], cs[Cell.ISSP], attract, denom, nptr, nidx, p[P.MOVE_FRAC])


SECTION = "The Jihadist Adaptation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.jnim", "cell.issp", "cell.jnim_away", "cell.issp_away", "ctry.pool",
          "ctry.militia", "flow.state_cell", "flow.militia_cell", "flow.russia_cell",
          "flow.extra_cell", "flow.op")  # fmt: skip
