"""5. Civilian harm (article: "The Counterterrorism Illusion", "Fragmentation's Feedback
Loops"; FIELD.md massacres).

State-side harm happens during operations and where militias and Russians deploy against
insurgents, grows with population density and falls with restraint and with the external
constraint:

    mean_state = harm_state * (op_force + 0.5 * militia + harm_russia_factor * russians)
                 * sqrt(density / 100) * (1 - restraint) * (1 - external_harm_cut * external)

Jihadist harm: ``harm_jnim`` and ``harm_issp`` deaths per fighter-month (ISSP more predatory),
times sqrt(density / 100), times ``1 + harm_reprisal * militia share`` (reprisals against
communities that supply militias). Counts are over-dispersed. Mass-casualty events: in an
active cell, with probability ``massacre_rate`` (per cell-month, cut under accords) a massacre of
Pareto size (``massacre_min``, tail ``massacre_alpha``; capped at 5 % of residents) happens,
attributed to the state side or the jihadists in proportion to their mean harm. Deaths are
taken from the residents (people are conserved).
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..rng import compound_count, pareto
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    sp, p, f = ctx.space, ctx.p, ctx.flows
    dens = np.sqrt(np.maximum(s.pop, 0.0) / np.maximum(sp.area_km2, 1.0)[None, :] / 100.0)
    I = s.jnim + s.issp  # noqa: E741
    active = (I > 1) | (f.op > 0)
    restraint = ctx.by_cell(ctx.lever("restraint"))[None, :]
    ext = ctx.by_cell(s.external)
    exposure = f.state_cell * f.op + 0.5 * f.militia_cell + p.harm_russia_factor * f.russia_cell
    m_state = p.harm_state * exposure * dens * (1 - restraint) * (1 - p.external_harm_cut * ext)
    m_state *= active
    pres = f.state_cell + f.militia_cell + f.russia_cell + f.extra_cell
    mil_share = np.where(pres > 0, f.militia_cell / np.maximum(pres, 1e-9), 0.0)
    reprisal = 1 + p.harm_reprisal * mil_share
    m_j = p.harm_jnim * s.jnim * dens * reprisal
    m_i = p.harm_issp * s.issp * dens * reprisal
    sigma = p.overdispersion
    d_state = compound_count(m_state, ctx.u("harm_state_noise"), ctx.u("harm_state_round"), sigma)
    d_jih = compound_count(m_j + m_i, ctx.u("harm_jihad_noise"), ctx.u("harm_jihad_round"), sigma)
    # mass-casualty events
    prob = p.massacre_rate * active * (1 - p.accord_massacre_cut * s.accord)
    u = ctx.u("massacre")
    hit = u < prob
    size = np.where(
        hit,
        np.minimum(pareto(ctx.u("massacre_size"), p.massacre_min, p.massacre_alpha), 0.05 * s.pop),
        0.0,
    )
    size = np.floor(size)
    tot_mean = m_state + m_j + m_i
    pi_state = np.where(tot_mean > 0, m_state / np.maximum(tot_mean, 1e-12), 0.0)
    by_state = hit & (u < prob * pi_state)
    d_state = d_state + np.where(by_state, size, 0.0)
    d_jih = d_jih + np.where(hit & ~by_state, size, 0.0)
    # cap by residents, split jihadist deaths between JNIM and ISSP by mean harm
    total = d_state + d_jih
    scale = np.where(total > s.pop, np.maximum(s.pop, 0.0) / np.maximum(total, 1e-9), 1.0)
    d_state = np.floor(d_state * scale)
    d_jih = np.floor(d_jih * scale)
    jn = np.where(m_j + m_i > 0, m_j / np.maximum(m_j + m_i, 1e-12), 0.5)
    d_jnim = np.round(d_jih * jn)
    f.civ_state += d_state
    f.civ_jnim += d_jnim
    f.civ_issp += d_jih - d_jnim
    s.pop -= d_state + d_jih
    s.dead_civ += d_state + d_jih
