"""3. Combat (MODEL.md 3.3; article: "The Counterterrorism Illusion").

Stochastic Lanchester-style exchange where state-side forces S (army, militia, Russians, joint
and intervention forces) meet the armed groups at war with the state in a cell, I = JNIM +
IS Sahel + the Lake Chad groups + the northern movements x (1 - ``northern_accord``):

    e = engage_rate * S * I / (S + I) * (1 + 2 * op) * (1 - accord_battle_cut * accord)
    insurgent deaths = floor(kill_state_on_ins * e * X + u),  state-side = floor(kill_ins_on_state * e * X + 1 - u)

with X a mean-one lognormal (sigma ``overdispersion``), capped by the fighters present; insurgent losses fall on each group in proportion to its
share of I. JNIM and
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

from sahelsim.model.cellsums import state_side_presence
from sahelsim.model.layout import BFA, Cell, Ctry, Flow, FlowK, Lever, P, Stream
from sahelsim.model.rng import lognormal_factor, uniform


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, ks, fl, fk = state.cells, state.ctry, flows.cells, flows.ctry
    country, lev = geog.country, drivers.lev
    sigma = p[P.OVERDISPERSION]
    for c in range(cs.shape[1]):
        J = cs[Cell.JNIM, c]
        Is = cs[Cell.ISSP, c]
        L = cs[Cell.LAKE, c]
        k = country[c]
        peace = lev[Lever.NORTHERN_ACCORD, k] if k >= 0 else 0.0
        O = cs[Cell.OTHER, c] * (1.0 - peace)  # noqa: E741  (northern movements at war)
        I = J + Is + L + O  # noqa: E741
        if I <= 0:
            continue
        S = state_side_presence(fl, c)
        if S <= 0 and (J <= 0 or Is <= 0):
            continue
        noise = lognormal_factor(uniform(key, t, Stream.COMBAT_NOISE, c), sigma)
        ur = uniform(key, t, Stream.COMBAT_ROUND, c)
        ins = 0.0
        st = 0.0
        if S > 0:
            e = p[P.ENGAGE_RATE] * S * I / (S + I)
            e *= (1 + 2 * fl[Flow.OP, c]) * (1 - p[P.ACCORD_BATTLE_CUT] * cs[Cell.ACCORD, c])
            ins = min(math.floor(p[P.KILL_STATE_ON_INS] * e * noise + ur), I)
            st = min(math.floor(p[P.KILL_INS_ON_STATE] * e * noise + 1.0 - ur), S)
            J -= ins * J / I
            Is -= ins * cs[Cell.ISSP, c] / I
            L -= ins * L / I
            cs[Cell.OTHER, c] -= ins * O / I
        both = min(J, Is)
        ns = 0.0
        if both > 0:
            ns = min(math.floor(p[P.JNIM_ISSP_CLASH] * both * noise + ur), 2 * both)
            J -= ns / 2
            Is -= ns / 2
        cs[Cell.JNIM, c] = max(J, 0.0)
        cs[Cell.ISSP, c] = max(Is, 0.0)
        cs[Cell.LAKE, c] = max(L, 0.0)
        cs[Cell.OTHER, c] = max(cs[Cell.OTHER, c], 0.0)
        if st > 0 and k >= 0:
            ks[Ctry.POOL, k] -= st * fl[Flow.STATE_CELL, c] / S
            ks[Ctry.MILITIA, k] -= st * fl[Flow.MILITIA_CELL, c] / S
            fk[FlowK.STATE_LOSS, k] += st
        mil_share = fl[Flow.MILITIA_CELL, c] / S if (S > 0 and k != BFA) else 0.0  # VDP: type 1
        fl[Flow.INSURGENT_LOSSES, c] += ins + ns
        fl[Flow.DEATHS_SB, c] += (ins + st) * (1.0 - mil_share)
        fl[Flow.DEATHS_NS, c] += ns + (ins + st) * mil_share
    for k in range(ks.shape[1]):
        ks[Ctry.POOL, k] = max(ks[Ctry.POOL, k], 0.0)
        ks[Ctry.MILITIA, k] = max(ks[Ctry.MILITIA, k], 0.0)


SECTION = "The Counterterrorism Illusion"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.jnim", "cell.issp", "cell.lake", "cell.other", "ctry.pool", "ctry.militia", "flow.deaths_sb",
          "flow.deaths_ns", "flow.insurgent_losses", "flowk.state_loss")  # fmt: skip
