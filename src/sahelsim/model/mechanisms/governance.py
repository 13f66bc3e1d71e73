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

from sahelsim.model.layout import Cell, Lever, P


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs = state.cells
    lev, country = drivers.lev, geog.country
    for c in range(cs.shape[1]):
        gov = cs[Cell.GOV, c]
        if cs[Cell.SHARE_JNIM, c] > 0.5:
            gov += (
                p[P.GOV_MATURE] * (1.0 + p[P.ACCORD_GOV_BOOST] * cs[Cell.ACCORD, c]) * (1.0 - gov)
            )
        else:
            gov -= p[P.GOV_DECAY] * gov
        cs[Cell.GOV, c] = min(max(gov, 0.0), 1.0)
        k = country[c]
        inv = lev[Lever.GOVERNANCE_INVESTMENT, k] if k >= 0 else 0.0
        s = cs[Cell.SERVICES, c]
        sh = cs[Cell.SHARE_STATE, c]
        s += p[P.SERVICES_UP] * sh * inv * (1.0 - s) - p[P.SERVICES_DOWN] * (1.0 - sh) * s
        cs[Cell.SERVICES, c] = min(max(s, 0.0), 1.0)


SECTION = "The Jihadist Adaptation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.gov", "cell.services")  # fmt: skip
