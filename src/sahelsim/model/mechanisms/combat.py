"""3. Combat (MODEL.md 3.3; article: "The Counterterrorism Illusion").

Stochastic Lanchester-style exchange where state-side forces S (army, militia, Russians, joint
and intervention forces) meet insurgents I (JNIM + ISSP) in a cell:

    e = engage_rate * S * I / (S + I) * (1 + 2 * op) * (1 - accord_battle_cut * accord)
    insurgent deaths ~ kill_state_on_ins * e,  state-side deaths ~ kill_ins_on_state * e

both drawn as over-dispersed counts (lognormal-mixed intensity with sigma ``overdispersion``,
stochastic rounding), capped by the fighters present. JNIM and ISSP fight each other where both
are present: deaths ~ ``jnim_issp_clash`` * min(J, I_s). State-based deaths are UCDP type 1,
JNIM-ISSP deaths type 2.
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..rng import lognormal_factor, stochastic_round
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    p, f = ctx.p, ctx.flows
    S = f.state_cell + f.militia_cell + f.russia_cell + f.extra_cell
    J, Is = s.jnim, s.issp
    I = J + Is  # noqa: E741
    e = p.engage_rate * S * I / np.maximum(S + I, 1e-9)
    e *= (1 + 2 * f.op) * (1 - p.accord_battle_cut * s.accord)
    noise = lognormal_factor(ctx.u("combat_noise"), p.overdispersion)
    ur = ctx.u("combat_round")
    ins = np.minimum(stochastic_round(p.kill_state_on_ins * e * noise, ur), I)
    st = np.minimum(stochastic_round(p.kill_ins_on_state * e * noise, 1 - ur), S)
    jshare = np.where(I > 0, J / np.maximum(I, 1e-9), 0.0)
    J -= ins * jshare
    Is -= ins * (1 - jshare)
    # JNIM - ISSP clashes
    both = np.minimum(J, Is)
    ns = np.minimum(stochastic_round(p.jnim_issp_clash * both * noise, ur), 2 * both)
    J -= ns / 2
    Is -= ns / 2
    np.maximum(J, 0.0, out=J)
    np.maximum(Is, 0.0, out=Is)
    # state-side losses come out of the national pools and militias, by presence
    nat = np.where(S > 0, f.state_cell / np.maximum(S, 1e-9), 0.0)
    mil = np.where(S > 0, f.militia_cell / np.maximum(S, 1e-9), 0.0)
    s.pool -= ctx.to_country(st * nat)
    s.militia -= ctx.to_country(st * mil)
    np.maximum(s.pool, 0.0, out=s.pool)
    np.maximum(s.militia, 0.0, out=s.militia)
    f.state_losses_k += ctx.to_country(st)
    f.insurgent_losses += ins + ns
    f.deaths_sb += ins + st
    f.deaths_ns += ns
