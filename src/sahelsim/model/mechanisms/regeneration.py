"""4. Regeneration (article: "The Counterterrorism Illusion": insurgents can sustain about
2.5 % monthly attrition through recruitment; "The Jihadist Adaptation": a franchise that
survives decapitation).

``residents`` are those of the cell and its neighbours (a unit recruits across its area). For
JNIM, ISSP and the Lake Chad groups separately (ISSP recruits ``issp_recruit_factor`` times as much):

    R = recruit_base * X * (1 + recruit_grievance * G + recruit_services * (1 - services)
                            + recruit_governance * gov + recruit_displacement * idp_share)
        * (1 - 0.5 * inclusion) * clip(1 - (J + I_s + L) / (recruitable_share * residents), 0, 1)
        * lognormal noise (sigma 0.3)
    X <- X + R - attrition * X

``attrition`` (1/month, default 0.025, the article's figure) covers desertion, sickness and
non-combat losses; combat losses are in :mod:`.combat`. The Lake Chad groups recruit like IS
Sahel; the northern movements (CMA/FLA) neither recruit nor desert (their strength changes
only in combat). Recruits and losses reach the units in :mod:`.franchise`; the components of
JNIM (Ansar Dine, AQIM Sahara, al-Mourabitoun, Katiba Macina, Ansarul Islam) are units of
their own, so their strengths move independently.
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import Cell, Flow, Lever, P, Stream
from sahelsim.model.rng import lognormal_factor, uniform


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, fl = state.cells, flows.cells
    lev, country = drivers.lev, geog.country
    attr = p[P.ATTRITION]
    for c in range(cs.shape[1]):
        J = cs[Cell.JNIM, c]
        Is = cs[Cell.ISSP, c]
        L = cs[Cell.LAKE, c]
        if J + Is + L <= 0:
            continue
        pop = max(cs[Cell.POP, c], 0.0)
        idp_share = cs[Cell.IDP, c] / max(pop + cs[Cell.IDP, c], 1.0)
        drive = (1.0 + p[P.RECRUIT_GRIEVANCE] * cs[Cell.GRIEVANCE, c]
                 + p[P.RECRUIT_SERVICES] * (1.0 - cs[Cell.SERVICES, c])
                 + p[P.RECRUIT_GOVERNANCE] * cs[Cell.GOV, c]
                 + p[P.RECRUIT_DISPLACEMENT] * idp_share)  # fmt: skip
        k = country[c]
        inclusion = lev[Lever.INCLUSION, k] if k >= 0 else 0.0
        area_pop = pop
        for j in range(geog.nbr_ptr[c], geog.nbr_ptr[c + 1]):
            area_pop += max(cs[Cell.POP, geog.nbr_idx[j]], 0.0)
        cap = p[P.RECRUITABLE_SHARE] * area_pop
        head = min(max(1.0 - (J + Is + L) / max(cap, 1.0), 0.0), 1.0)
        noise = lognormal_factor(uniform(key, t, Stream.RECRUIT, c), 0.3)
        base = p[P.RECRUIT_BASE] * drive * (1.0 - 0.5 * inclusion) * head * noise
        rj = base * J
        ri = base * p[P.ISSP_RECRUIT_FACTOR] * Is
        rl = base * p[P.ISSP_RECRUIT_FACTOR] * L
        cs[Cell.JNIM, c] = J + rj - attr * J
        cs[Cell.ISSP, c] = Is + ri - attr * Is
        cs[Cell.LAKE, c] = L + rl - attr * L
        fl[Flow.RECRUITS, c] += rj + ri + rl


SECTION = "The Counterterrorism Illusion; The Jihadist Adaptation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.jnim", "cell.issp", "cell.lake", "flow.recruits")  # fmt: skip
