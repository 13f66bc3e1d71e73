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

from sahelsim.model.layout import (
    DEATHS_LAST,
    DEPEND,
    F_RUSSIA,
    G_POP0,
    L_RUSSIA,
    P_DEPENDENCY_FAIL,
    P_DEPENDENCY_GAIN,
    P_RUSSIA_CAPITAL_SHARE,
    POOL,
    RUSSIA,
)


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    lev = D[2]
    geo, uptr, uidx = G[0], G[7], G[8]
    for k in range(ks.shape[1]):
        ks[RUSSIA, k] = lev[L_RUSSIA, k]
        wk = 0.0
        dead = 0.0
        for j in range(uptr[k], uptr[k + 1]):
            c = uidx[j]
            wk += geo[G_POP0, c]
            dead += cs[DEATHS_LAST, c]
        if wk > 0:
            posted = ks[RUSSIA, k] * p[P_RUSSIA_CAPITAL_SHARE]
            for j in range(uptr[k], uptr[k + 1]):
                c = uidx[j]
                fl[F_RUSSIA, c] = posted * geo[G_POP0, c] / wk
        share = ks[RUSSIA, k] / max(ks[RUSSIA, k] + ks[POOL, k], 1.0)
        growth = p[P_DEPENDENCY_GAIN] * share + p[P_DEPENDENCY_FAIL] * dead
        d = ks[DEPEND, k] + growth * (1 - ks[DEPEND, k])
        ks[DEPEND, k] = min(max(d, 0.0), 1.0)
