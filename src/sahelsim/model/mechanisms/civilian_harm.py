"""5. Civilian harm (article: "The Counterterrorism Illusion", "Fragmentation's Feedback
Loops"; FIELD.md: Moura, Nondin/Soro, Barsalogho).

State-side harm happens during operations and where militias and Russians deploy, grows with
population density and falls with restraint and with the external constraint:

    mean_state = harm_state * (op_force + 0.5 * militia + harm_russia_factor * russians)
                 * sqrt(density / 100 per km2) * (1 - restraint) * (1 - external_harm_cut * external)

Jihadist harm: ``harm_jnim`` and ``harm_issp`` deaths per fighter-month (ISSP more predatory)
x sqrt(density / 100) x (1 + ``harm_reprisal`` x militia share of forces present: reprisals
against communities that supply militias). Counts are over-dispersed (compound lognormal).
Only active cells (more than 5 fighters, or an operation) see harm. Mass-casualty events:
in an active cell, with probability
``massacre_rate`` per cell-month (cut under accords), a massacre of Pareto size (``massacre_min``
deaths, tail index ``massacre_alpha``; capped at 5 % of residents) is attributed to the state
side or the jihadists in proportion to their mean harm. Deaths are taken from the residents.
"""

from __future__ import annotations

import math

from numba import njit

from sahelsim.model.layout import (
    ACCORD,
    DEAD_CIV,
    EXTERNAL,
    F_CIV_ISSP,
    F_CIV_JNIM,
    F_CIV_STATE,
    F_EXTRA,
    F_MILITIA,
    F_OP,
    F_RUSSIA,
    F_STATE,
    G_AREA,
    ISSP,
    JNIM,
    L_RESTRAINT,
    P_ACCORD_MASSACRE_CUT,
    P_EXTERNAL_HARM_CUT,
    P_HARM_ISSP,
    P_HARM_JNIM,
    P_HARM_REPRISAL,
    P_HARM_RUSSIA_FACTOR,
    P_HARM_STATE,
    P_MASSACRE_ALPHA,
    P_MASSACRE_MIN,
    P_MASSACRE_RATE,
    P_OVERDISPERSION,
    POP,
    S_HARM_JIHAD_NOISE,
    S_HARM_JIHAD_ROUND,
    S_HARM_STATE_NOISE,
    S_HARM_STATE_ROUND,
    S_MASSACRE,
    S_MASSACRE_SIZE,
)
from sahelsim.model.rng import compound_count, pareto, uniform


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    lev = D[2]
    geo, country = G[0], G[1]
    sigma = p[P_OVERDISPERSION]
    for c in range(cs.shape[1]):
        J = cs[JNIM, c]
        Is = cs[ISSP, c]
        op = fl[F_OP, c]
        if not (J + Is > 5 or op > 0):
            continue
        pop = max(cs[POP, c], 0.0)
        dens = math.sqrt(pop / max(geo[G_AREA, c], 1.0) / 100.0)
        k = country[c]
        restraint = lev[L_RESTRAINT, k] if k >= 0 else 0.0
        ext = ks[EXTERNAL, k] if k >= 0 else 0.0
        exposure = (
            fl[F_STATE, c] * op + 0.5 * fl[F_MILITIA, c] + p[P_HARM_RUSSIA_FACTOR] * fl[F_RUSSIA, c]
        )
        m_state = (
            p[P_HARM_STATE] * exposure * dens * (1 - restraint) * (1 - p[P_EXTERNAL_HARM_CUT] * ext)
        )
        pres = fl[F_STATE, c] + fl[F_MILITIA, c] + fl[F_RUSSIA, c] + fl[F_EXTRA, c]
        reprisal = 1.0 + p[P_HARM_REPRISAL] * (fl[F_MILITIA, c] / pres if pres > 0 else 0.0)
        m_j = p[P_HARM_JNIM] * J * dens * reprisal
        m_i = p[P_HARM_ISSP] * Is * dens * reprisal
        d_state = compound_count(m_state, uniform(key, t, S_HARM_STATE_NOISE, c),
                                 uniform(key, t, S_HARM_STATE_ROUND, c), sigma)  # fmt: skip
        d_jih = compound_count(m_j + m_i, uniform(key, t, S_HARM_JIHAD_NOISE, c),
                               uniform(key, t, S_HARM_JIHAD_ROUND, c), sigma)  # fmt: skip
        prob = p[P_MASSACRE_RATE] * (1 - p[P_ACCORD_MASSACRE_CUT] * cs[ACCORD, c])
        u = uniform(key, t, S_MASSACRE, c)
        if u < prob:
            size = math.floor(min(pareto(uniform(key, t, S_MASSACRE_SIZE, c), p[P_MASSACRE_MIN],
                                         p[P_MASSACRE_ALPHA]), 0.05 * pop))  # fmt: skip
            tot = m_state + m_j + m_i
            pi_state = m_state / tot if tot > 0 else 0.0
            if u < prob * pi_state:
                d_state += size
            else:
                d_jih += size
        total = d_state + d_jih
        if total <= 0:
            continue
        if total > pop:
            d_state = math.floor(d_state * pop / total)
            d_jih = math.floor(d_jih * pop / total)
        jn = m_j / (m_j + m_i) if m_j + m_i > 0 else 0.5
        d_jnim = math.floor(d_jih * jn + 0.5)
        fl[F_CIV_STATE, c] += d_state
        fl[F_CIV_JNIM, c] += d_jnim
        fl[F_CIV_ISSP, c] += d_jih - d_jnim
        cs[POP, c] -= d_state + d_jih
        cs[DEAD_CIV, c] += d_state + d_jih
