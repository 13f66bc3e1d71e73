"""11. Regime survival (article: "What Comes After", "The Sovereignty Paradox").

Legitimacy L (0..1) drifts towards 0.5 at ``legit_drift`` per month, falls by ``legit_loss`` x
log10(1 + deaths in the country this month / 100), rises by ``legit_performance`` with each
performative sovereignty event (the charter, the confederation, the joint force), and takes the
``legitimacy_shock`` lever. Coups from the timeline are forced during history; in projections
the monthly coup hazard of each AES member is

    h = coup_base * exp(coup_slope * (0.5 - L))

A coup resets legitimacy to 0.6 (a new junta's honeymoon). Under the default rule the new junta
stays in the AES and keeps its policies (the article's reading); under ``coup_rule =
"transition"`` it opens a political transition with probability 1 - dependency (a regime that
depends on Russia rarely changes course), which raises the external constraint
(:mod:`.schedule`). Also stores this month's deaths for next month's targeting.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sahelsim.model.layout import (
    COUPS,
    D_FORCED_COUP,
    D_PERFORMATIVE,
    DEATHS_LAST,
    DEATHS_LAST_K,
    DEPEND,
    F_CIV_ISSP,
    F_CIV_JNIM,
    F_CIV_STATE,
    F_NS,
    F_SB,
    FK_COUP,
    FLAG_STOCHASTIC_COUPS,
    FLAG_TRANSITION,
    L_SHOCK,
    LEGIT,
    P_COUP_BASE,
    P_COUP_SLOPE,
    P_LEGIT_DRIFT,
    P_LEGIT_LOSS,
    P_LEGIT_PERFORMANCE,
    S_COUP,
    S_TRANSITION,
    TRANS,
)
from sahelsim.model.rng import country_idx, uniform


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    drv, flags, lev = D
    country = G[1]
    K = ks.shape[1]
    deaths_k = np.zeros(K)
    for c in range(cs.shape[1]):
        d = fl[F_SB, c] + fl[F_NS, c] + fl[F_CIV_STATE, c] + fl[F_CIV_JNIM, c] + fl[F_CIV_ISSP, c]
        cs[DEATHS_LAST, c] = d
        if country[c] >= 0:
            deaths_k[country[c]] += d
    for k in range(K):
        L = ks[LEGIT, k]
        L += p[P_LEGIT_DRIFT] * (0.5 - L)
        L -= p[P_LEGIT_LOSS] * math.log10(1.0 + deaths_k[k] / 100.0)
        L += p[P_LEGIT_PERFORMANCE] * drv[D_PERFORMATIVE, k] + lev[L_SHOCK, k]
        L = min(max(L, 0.0), 1.0)
        coup = drv[D_FORCED_COUP, k] > 0
        if flags[FLAG_STOCHASTIC_COUPS] and k < 3:
            h = min(max(p[P_COUP_BASE] * math.exp(p[P_COUP_SLOPE] * (0.5 - L)), 0.0), 1.0)
            if uniform(key, t, S_COUP, country_idx(k)) < h:
                coup = True
        if coup:
            ks[COUPS, k] += 1.0
            L = 0.6
            fk[FK_COUP, k] += 1.0
            if (
                flags[FLAG_TRANSITION]
                and uniform(key, t, S_TRANSITION, country_idx(k)) < 1.0 - ks[DEPEND, k]
            ):
                ks[TRANS, k] = 1.0
        ks[LEGIT, k] = L
        ks[DEATHS_LAST_K, k] = deaths_k[k]
