"""2. Clear and withdraw (article: "The Jihadist Adaptation").

Each state allocates its deployable force: ``garrison_share`` (share, default 0.6) guards urban
cores (regime survival first, by population), the rest runs ``ops_per_10k`` clearing operations
per 10,000 deployable (default 2) against the cells with most insurgents (cells under a local
accord are left alone). Deployable = national pool x ``state_force_scale`` + joint force +
intervention force + Russians not posted to cities. The national pool recovers 2 % a month
towards its nominal size (``force_mli``/``force_bfa``/``force_ner``, persons).

The insurgents' answer to an operation (slipping away, coming back) is :mod:`.mobility`.
The operations target the cells with most fighters at war with the state (jihadists, and the
northern movements when no northern accord holds).

Militias (VDP, Dozos, Dan Na Ambassagou...) grow with the violence: each month
``militia_mobilisation`` recruits per death in the country last month join, up to the ceiling
``militia_mli``/``militia_bfa``/``militia_ner`` (persons); they deploy in proportion to
population in the cells of their country where hostile fighters are (> 1).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sahelsim.model.cellsums import hostile_strength
from sahelsim.model.layout import BFA, MLI, NER, Cell, Ctry, Flow, Geo, Lever, P


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, ks, fl = state.cells, state.ctry, flows.cells
    lev = drivers.lev
    geo = geog.geo
    cptr, cidx, uptr, uidx = geog.country_ptr, geog.country_idx, geog.urban_ptr, geog.urban_idx
    K = ks.shape[1]
    cap_share = p[P.RUSSIA_CAPITAL_SHARE]
    n_ops_total = 0
    C = cs.shape[1]
    hostile = np.empty(C)  # per cell of the country: fighters at war with the state
    score = np.empty(C)  # ... the clearing target score
    chosen = np.empty(C, dtype=np.int64)  # the cells under an operation
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
        # clearing operations: the n most active cells (repeated arg-max, n is small). One pass
        # first keeps each cell's hostile strength, its target score (0 where an operation
        # already runs: never above the running best, as if skipped) and the militia weight;
        # the state does not change here, so every number is the one computed in each pass.
        j0 = cptr[k]
        n_k = cptr[k + 1] - j0
        peace = lev[Lever.NORTHERN_ACCORD, k]
        n_ops = min(math.floor(p[P.OPS_PER_10K] * ops_force / 1e4 + 0.5), n_k)
        had_op = False
        mk = 0.0
        for i in range(n_k):
            c = cidx[j0 + i]
            h = hostile_strength(cs, c, peace)
            hostile[i] = h
            if fl[Flow.OP, c] > 0:
                had_op = True
                score[i] = 0.0
            else:
                score[i] = h * (1.0 - cs[Cell.ACCORD, c])
            if h > 1:  # militias where insurgents are, by population
                mk += geo[Geo.POP0, c]
        n_real = 0
        for _ in range(n_ops):
            best, best_i = 0.0, -1
            for i in range(n_k):
                if score[i] > best:
                    best, best_i = score[i], i
            if best_i < 0:
                break
            c = cidx[j0 + best_i]
            fl[Flow.OP, c] = 1.0
            score[best_i] = 0.0
            chosen[n_real] = c
            n_real += 1
            n_ops_total += 1
        if n_real > 0:
            per_op = ops_force / n_real
            # the cells under an operation: the chosen ones, or (if some were marked before) all
            # marked ones in country order; each cell's sums are its own
            n_op_cells = n_real
            if had_op:
                n_op_cells = 0
                for j in range(cptr[k], cptr[k + 1]):
                    if fl[Flow.OP, cidx[j]] > 0:
                        chosen[n_op_cells] = cidx[j]
                        n_op_cells += 1
            for i in range(n_op_cells):
                c = chosen[i]
                fl[Flow.STATE_CELL, c] += per_op * national / deploy
                fl[Flow.EXTRA_CELL, c] += per_op * extra / deploy
                fl[Flow.RUSSIA_CELL, c] += per_op * russia_ops / deploy
        if mk > 0:
            for i in range(n_k):
                if hostile[i] > 1:
                    c = cidx[j0 + i]
                    fl[Flow.MILITIA_CELL, c] = ks[Ctry.MILITIA, k] * geo[Geo.POP0, c] / mk


SECTION = "The Jihadist Adaptation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("ctry.pool", "ctry.militia", "flow.state_cell", "flow.militia_cell", "flow.russia_cell",
          "flow.extra_cell", "flow.op")  # fmt: skip
