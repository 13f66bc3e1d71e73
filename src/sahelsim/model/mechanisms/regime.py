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

from sahelsim.model.cellsums import cell_deaths
from sahelsim.model.layout import N_CORE, Cell, Ctry, Drv, Flag, FlowK, Lever, P, Stream
from sahelsim.model.rng import country_idx, uniform


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, ks, fl, fk = state.cells, state.ctry, flows.cells, flows.ctry
    drv, flags, lev = drivers.drv, drivers.flags, drivers.lev
    country = geog.country
    K = ks.shape[1]
    deaths_k = np.zeros(K)
    for c in range(cs.shape[1]):
        d = cell_deaths(fl, c)
        cs[Cell.DEATHS_LAST, c] = d
        if country[c] >= 0:
            deaths_k[country[c]] += d
    for k in range(K):
        L = ks[Ctry.LEGITIMACY, k]
        L += p[P.LEGIT_DRIFT] * (0.5 - L)
        L -= p[P.LEGIT_LOSS] * math.log10(1.0 + deaths_k[k] / 100.0)
        L += p[P.LEGIT_PERFORMANCE] * drv[Drv.PERFORMATIVE, k] + lev[Lever.LEGITIMACY_SHOCK, k]
        L = min(max(L, 0.0), 1.0)
        coup = drv[Drv.FORCED_COUP, k] > 0
        if flags[Flag.STOCHASTIC_COUPS] and k < N_CORE:
            h = min(max(p[P.COUP_BASE] * math.exp(p[P.COUP_SLOPE] * (0.5 - L)), 0.0), 1.0)
            if uniform(key, t, Stream.COUP, country_idx(k)) < h:
                coup = True
        if coup:
            ks[Ctry.COUPS, k] += 1.0
            L = 0.6
            fk[FlowK.COUP, k] += 1.0
            if (
                flags[Flag.TRANSITION]
                and uniform(key, t, Stream.TRANSITION, country_idx(k))
                < 1.0 - ks[Ctry.DEPENDENCY, k]
            ):
                ks[Ctry.TRANSITION, k] = 1.0
        ks[Ctry.LEGITIMACY, k] = L
        ks[Ctry.DEATHS_LAST_K, k] = deaths_k[k]


SECTION = "What Comes After; The Sovereignty Paradox"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.deaths_last", "ctry.legitimacy", "ctry.coups", "ctry.transition",
          "ctry.deaths_last_k", "flowk.coup")  # fmt: skip
