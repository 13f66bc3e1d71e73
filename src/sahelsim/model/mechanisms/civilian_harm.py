"""5. Civilian harm (article: "The Counterterrorism Illusion", "Fragmentation's Feedback
Loops"; FIELD.md: Moura, Nondin/Soro, Barsalogho).

State-side harm happens during operations and where militias and Russians deploy, grows with
population density and falls with restraint and with the external constraint:

    mean_state = harm_state * (op_force + 0.5 * militia + harm_russia_factor * russians)
                 * sqrt(density / 100 per km2) * (1 - restraint) * (1 - external_harm_cut * external)

Jihadist harm: ``harm_jnim`` and ``harm_issp`` deaths per fighter-month (ISSP more predatory;
the Lake Chad groups at the ISSP rate, recorded as killings by other armed groups)
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

from sahelsim.model.cellsums import state_side_presence
from sahelsim.model.layout import Cell, Ctry, Flow, Geo, Lever, P, Stream
from sahelsim.model.rng import compound_count, pareto, uniform


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, ks, fl = state.cells, state.ctry, flows.cells
    lev = drivers.lev
    geo, country = geog.geo, geog.country
    sigma = p[P.OVERDISPERSION]
    for c in range(cs.shape[1]):
        J = cs[Cell.JNIM, c]
        Is = cs[Cell.ISSP, c]
        L = cs[Cell.LAKE, c]
        op = fl[Flow.OP, c]
        if not (J + Is + L > 5 or op > 0):
            continue
        pop = max(cs[Cell.POP, c], 0.0)
        dens = math.sqrt(pop / max(geo[Geo.AREA, c], 1.0) / 100.0)
        k = country[c]
        restraint = lev[Lever.RESTRAINT, k] if k >= 0 else 0.0
        ext = ks[Ctry.EXTERNAL, k] if k >= 0 else 0.0
        exposure = (
            fl[Flow.STATE_CELL, c] * op
            + 0.5 * fl[Flow.MILITIA_CELL, c]
            + p[P.HARM_RUSSIA_FACTOR] * fl[Flow.RUSSIA_CELL, c]
        )
        m_state = (
            p[P.HARM_STATE] * exposure * dens * (1 - restraint) * (1 - p[P.EXTERNAL_HARM_CUT] * ext)
        )
        pres = state_side_presence(fl, c)
        reprisal = 1.0 + p[P.HARM_REPRISAL] * (fl[Flow.MILITIA_CELL, c] / pres if pres > 0 else 0.0)
        m_j = p[P.HARM_JNIM] * J * dens * reprisal
        m_i = p[P.HARM_ISSP] * Is * dens * reprisal
        m_l = p[P.HARM_ISSP] * L * dens * reprisal
        d_state = compound_count(m_state, uniform(key, t, Stream.HARM_STATE_NOISE, c),
                                 uniform(key, t, Stream.HARM_STATE_ROUND, c), sigma)  # fmt: skip
        d_jih = compound_count(m_j + m_i + m_l, uniform(key, t, Stream.HARM_JIHAD_NOISE, c),
                               uniform(key, t, Stream.HARM_JIHAD_ROUND, c), sigma)  # fmt: skip
        prob = p[P.MASSACRE_RATE] * (1 - p[P.ACCORD_MASSACRE_CUT] * cs[Cell.ACCORD, c])
        u = uniform(key, t, Stream.MASSACRE, c)
        if u < prob:
            size = math.floor(min(pareto(uniform(key, t, Stream.MASSACRE_SIZE, c), p[P.MASSACRE_MIN],
                                         p[P.MASSACRE_ALPHA]), 0.05 * pop))  # fmt: skip
            tot = m_state + m_j + m_i + m_l
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
        m_jih = m_j + m_i + m_l
        d_jnim = math.floor(d_jih * (m_j / m_jih if m_jih > 0 else 0.5) + 0.5)
        d_lake = min(math.floor(d_jih * (m_l / m_jih if m_jih > 0 else 0.0) + 0.5), d_jih - d_jnim)
        fl[Flow.CIV_STATE, c] += d_state
        fl[Flow.CIV_JNIM, c] += d_jnim
        fl[Flow.CIV_OTHER, c] += d_lake
        fl[Flow.CIV_ISSP, c] += d_jih - d_jnim - d_lake
        cs[Cell.POP, c] -= d_state + d_jih
        cs[Cell.DEAD_CIV, c] += d_state + d_jih


SECTION = "The Counterterrorism Illusion; Fragmentation's Feedback Loops"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.pop", "cell.dead_civ", "flow.civ_state", "flow.civ_jnim", "flow.civ_issp",
          "flow.civ_other")  # fmt: skip
