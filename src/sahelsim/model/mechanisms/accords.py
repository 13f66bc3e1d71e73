"""Local accords with JNIM (article: "Three Futures", second path: negotiated accommodation;
FIELD.md: dozens of local accords in central Mali since 2020).

Where JNIM dominates a cell (contest share > 0.5), a local accord forms each month with
probability ``negotiation_propensity`` (lever, 1/month). An accord ends when the state holds
the cell again. Under an accord clearing operations avoid the cell, ``accord_battle_cut``
(share, default 0.8) of engagements do not happen, mass-casualty risk falls by
``accord_massacre_cut`` (default 0.5) and jihadist governance matures ``1 + accord_gov_boost``
times faster (see :mod:`.combat`, :mod:`.civilian_harm`, :mod:`.governance`).
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import ACCORD, HOLD, L_NEGOT, S_ACCORD, SH_JNIM
from sahelsim.model.rng import uniform


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    lev, country = D[2], G[1]
    for c in range(cs.shape[1]):
        k = country[c]
        if cs[HOLD, c] == 1.0:
            cs[ACCORD, c] = 0.0
            continue
        if k < 0 or cs[ACCORD, c] > 0:
            continue
        if cs[SH_JNIM, c] > 0.5 and uniform(key, t, S_ACCORD, c) < lev[L_NEGOT, k]:
            cs[ACCORD, c] = 1.0
