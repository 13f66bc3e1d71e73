"""3. Combat (MODEL.md 3.3; article: "The Counterterrorism Illusion").

Stochastic Lanchester-style exchange where state-side forces S (army, militia, Russians, joint
and intervention forces) meet insurgents I (JNIM + ISSP) in a cell:

    e = engage_rate * S * I / (S + I) * (1 + 2 * op) * (1 - accord_battle_cut * accord)
    insurgent deaths = floor(kill_state_on_ins * e * X + u),  state-side = floor(kill_ins_on_state * e * X + 1 - u)

with X a mean-one lognormal (sigma ``overdispersion``), capped by the fighters present. JNIM and
ISSP fight each other where both are present: deaths ~ ``jnim_issp_clash`` * min(J, I_s) * X.
State-based deaths are UCDP type 1 and JNIM-ISSP deaths type 2. Fighting between militias
(Dan Na Ambassagou, Dozos, VDP-type groups) and jihadists is coded by UCDP as non-state conflict
(e.g. the "Dan Na Ambassagou - JNIM" dyad), so in Mali and Niger the militia share of the state
side's presence in a cell sends that share of the exchange's deaths to type 2. Burkina Faso's
VDP are a state auxiliary created by law (2020) and fight under the government's name, so there
they stay type 1. State-side losses come out of the
national pool and the militias in proportion to their presence.
"""

from __future__ import annotations

import math

from numba import njit

from sahelsim.model.layout import (
    ACCORD,
    F_EXTRA,
    F_INS_LOSS,
    F_MILITIA,
    F_NS,
    F_OP,
    F_RUSSIA,
    F_SB,
    F_STATE,
    FK_STATE_LOSS,
    ISSP,
    JNIM,
    MILITIA,
    P_ACCORD_BATTLE_CUT,
    P_ENGAGE_RATE,
    P_JNIM_ISSP_CLASH,
    P_KILL_INS_ON_STATE,
    P_KILL_STATE_ON_INS,
    P_OVERDISPERSION,
    POOL,
    S_COMBAT_NOISE,
    S_COMBAT_ROUND,
)
from sahelsim.model.rng import lognormal_factor, uniform


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    country = G[1]
    sigma = p[P_OVERDISPERSION]
    for c in range(cs.shape[1]):
        S = fl[F_STATE, c] + fl[F_MILITIA, c] + fl[F_RUSSIA, c] + fl[F_EXTRA, c]
        J = cs[JNIM, c]
        Is = cs[ISSP, c]
        I = J + Is  # noqa: E741
        k = country[c]
        if I <= 0 or (S <= 0 and (J <= 0 or Is <= 0)):
            continue
        noise = lognormal_factor(uniform(key, t, S_COMBAT_NOISE, c), sigma)
        ur = uniform(key, t, S_COMBAT_ROUND, c)
        ins = 0.0
        st = 0.0
        if S > 0:
            e = p[P_ENGAGE_RATE] * S * I / (S + I)
            e *= (1 + 2 * fl[F_OP, c]) * (1 - p[P_ACCORD_BATTLE_CUT] * cs[ACCORD, c])
            ins = min(math.floor(p[P_KILL_STATE_ON_INS] * e * noise + ur), I)
            st = min(math.floor(p[P_KILL_INS_ON_STATE] * e * noise + 1.0 - ur), S)
            jshare = J / I
            J -= ins * jshare
            Is -= ins * (1 - jshare)
        both = min(J, Is)
        ns = 0.0
        if both > 0:
            ns = min(math.floor(p[P_JNIM_ISSP_CLASH] * both * noise + ur), 2 * both)
            J -= ns / 2
            Is -= ns / 2
        cs[JNIM, c] = max(J, 0.0)
        cs[ISSP, c] = max(Is, 0.0)
        if st > 0 and k >= 0:
            ks[POOL, k] -= st * fl[F_STATE, c] / S
            ks[MILITIA, k] -= st * fl[F_MILITIA, c] / S
            fk[FK_STATE_LOSS, k] += st
        mil_share = fl[F_MILITIA, c] / S if (S > 0 and k != 1) else 0.0  # k 1 = BFA (VDP)
        fl[F_INS_LOSS, c] += ins + ns
        fl[F_SB, c] += (ins + st) * (1.0 - mil_share)
        fl[F_NS, c] += ns + (ins + st) * mil_share
    for k in range(ks.shape[1]):
        ks[POOL, k] = max(ks[POOL, k], 0.0)
        ks[MILITIA, k] = max(ks[MILITIA, k], 0.0)
