"""9. Displacement and population (article: "Fragmentation's Feedback Loops": over two million
displaced; borders that hardened when ECOWAS free movement ended).

    leave = floor(residents * min(0.3, flee_per_death * deaths / (residents / 10,000)
                                       + flee_control * (share_jnim + share_issp)))

A share ``abroad_share * border_openness`` of leavers crosses a border (refugees of the
country); the rest go to the state-held urban cores of the same country in proportion to their
population (to the capital when none is held). Displaced people hosted in a cell return or
settle at ``idp_return`` per month. Residents grow at the cell's WorldPop growth rate; the
growth is counted so that residents + displaced + refugees + dead = initial + growth exactly.
Cells without a country (the ring over Algeria, Mauritania, Chad) do not displace.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sahelsim.model.layout import (
    F_CIV_ISSP,
    F_CIV_JNIM,
    F_CIV_STATE,
    F_DISPLACED,
    F_NS,
    F_SB,
    G_GROWTH,
    G_POP0,
    HOLD,
    IDP,
    L_BORDER,
    P_ABROAD_SHARE,
    P_FLEE_CONTROL,
    P_FLEE_PER_DEATH,
    P_IDP_RETURN,
    POP,
    REFUG,
    SH_ISSP,
    SH_JNIM,
)


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    lev = D[2]
    geo, country, capital, _np, _ni, cptr, cidx, uptr, uidx = G
    K = ks.shape[1]
    internal = np.zeros(K)
    for c in range(cs.shape[1]):
        k = country[c]
        if k < 0:
            continue
        pop = max(cs[POP, c], 0.0)
        if pop <= 0:
            continue
        deaths = (
            fl[F_SB, c] + fl[F_NS, c] + fl[F_CIV_STATE, c] + fl[F_CIV_JNIM, c] + fl[F_CIV_ISSP, c]
        )
        rate = p[P_FLEE_PER_DEATH] * deaths / (max(pop, 1.0) / 1e4)
        rate += p[P_FLEE_CONTROL] * (cs[SH_JNIM, c] + cs[SH_ISSP, c])
        leave = math.floor(pop * min(rate, 0.3))
        if leave <= 0:
            continue
        border = min(max(lev[L_BORDER, k], 0.0), 1.0)
        abroad = math.floor(leave * p[P_ABROAD_SHARE] * border)
        cs[POP, c] -= leave
        fl[F_DISPLACED, c] += leave
        ks[REFUG, k] += abroad
        internal[k] += leave - abroad
    for k in range(K):
        if internal[k] <= 0:
            continue
        wk = 0.0
        for j in range(uptr[k], uptr[k + 1]):
            c = uidx[j]
            if cs[HOLD, c] == 1.0:
                wk += geo[G_POP0, c]
        if wk > 0:
            for j in range(uptr[k], uptr[k + 1]):
                c = uidx[j]
                if cs[HOLD, c] == 1.0:
                    cs[IDP, c] += internal[k] * geo[G_POP0, c] / wk
        elif capital[k] >= 0:
            cs[IDP, capital[k]] += internal[k]
        else:  # nowhere to go: they stay, counted back among the residents of a cell
            cs[POP, cidx[cptr[k]]] += internal[k]
    ret_rate = p[P_IDP_RETURN]
    g_sum = 0.0
    for c in range(cs.shape[1]):
        ret = cs[IDP, c] * ret_rate
        cs[IDP, c] -= ret
        cs[POP, c] += ret
        g = cs[POP, c] * geo[G_GROWTH, c]
        cs[POP, c] += g
        g_sum += g
    gc[0] += g_sum
