"""7. Governance competition (article: "The Jihadist Adaptation": courts, taxes and schools
where JNIM dominates; state services collapse under insecurity).

    gov <- gov + gov_mature * [share_jnim > 0.5] * (1 + accord_gov_boost * accord) * (1 - gov)
               - gov_decay * [share_jnim <= 0.5] * gov
    services <- services + services_up * share_state * governance_investment * (1 - services)
                         - services_down * (1 - share_state) * services

Rates in 1/month; ``governance_investment`` is a lever (0..1). Both stay in [0, 1].
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import (
    ACCORD,
    GOV,
    L_INVEST,
    P_ACCORD_GOV_BOOST,
    P_GOV_DECAY,
    P_GOV_MATURE,
    P_SERVICES_DOWN,
    P_SERVICES_UP,
    SERV,
    SH_JNIM,
    SH_STATE,
)


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    lev, country = D[2], G[1]
    for c in range(cs.shape[1]):
        gov = cs[GOV, c]
        if cs[SH_JNIM, c] > 0.5:
            gov += p[P_GOV_MATURE] * (1.0 + p[P_ACCORD_GOV_BOOST] * cs[ACCORD, c]) * (1.0 - gov)
        else:
            gov -= p[P_GOV_DECAY] * gov
        cs[GOV, c] = min(max(gov, 0.0), 1.0)
        k = country[c]
        inv = lev[L_INVEST, k] if k >= 0 else 0.0
        s = cs[SERV, c]
        sh = cs[SH_STATE, c]
        s += p[P_SERVICES_UP] * sh * inv * (1.0 - s) - p[P_SERVICES_DOWN] * (1.0 - sh) * s
        cs[SERV, c] = min(max(s, 0.0), 1.0)
