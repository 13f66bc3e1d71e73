"""4. Regeneration (article: "The Counterterrorism Illusion": insurgents can sustain about
2.5 % monthly attrition through recruitment; "The Jihadist Adaptation": a franchise that
survives decapitation).

For JNIM and ISSP separately (ISSP recruits ``issp_recruit_factor`` times as much):

    R = recruit_base * X * (1 + recruit_grievance * G + recruit_services * (1 - services)
                            + recruit_governance * gov + recruit_displacement * idp_share)
        * (1 - 0.5 * inclusion) * clip(1 - (J + I_s) / (recruitable_share * residents), 0, 1)
        * lognormal noise (sigma 0.3)
    X <- X + R - attrition * X

``attrition`` (1/month, default 0.025, the article's figure) covers desertion, sickness and
non-combat losses; combat losses are in :mod:`.combat`. JNIM is one pool per cell: its
components (Ansar Dine, Katiba Macina, al-Mourabitoun, AQIM Sahara) are not separated, since no
data here resolve them; the model therefore has no decapitation lever.
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import (
    F_RECRUITS,
    GOV,
    GRIEV,
    IDP,
    ISSP,
    JNIM,
    L_INCLUSION,
    P_ATTRITION,
    P_ISSP_RECRUIT_FACTOR,
    P_RECRUIT_BASE,
    P_RECRUIT_DISPLACEMENT,
    P_RECRUIT_GOVERNANCE,
    P_RECRUIT_GRIEVANCE,
    P_RECRUIT_SERVICES,
    P_RECRUITABLE_SHARE,
    POP,
    S_RECRUIT,
    SERV,
)
from sahelsim.model.rng import lognormal_factor, uniform


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    lev, country = D[2], G[1]
    attr = p[P_ATTRITION]
    for c in range(cs.shape[1]):
        J = cs[JNIM, c]
        Is = cs[ISSP, c]
        if J + Is <= 0:
            continue
        pop = max(cs[POP, c], 0.0)
        idp_share = cs[IDP, c] / max(pop + cs[IDP, c], 1.0)
        drive = (1.0 + p[P_RECRUIT_GRIEVANCE] * cs[GRIEV, c]
                 + p[P_RECRUIT_SERVICES] * (1.0 - cs[SERV, c])
                 + p[P_RECRUIT_GOVERNANCE] * cs[GOV, c]
                 + p[P_RECRUIT_DISPLACEMENT] * idp_share)  # fmt: skip
        k = country[c]
        inclusion = lev[L_INCLUSION, k] if k >= 0 else 0.0
        cap = p[P_RECRUITABLE_SHARE] * pop
        head = min(max(1.0 - (J + Is) / max(cap, 1.0), 0.0), 1.0)
        noise = lognormal_factor(uniform(key, t, S_RECRUIT, c), 0.3)
        base = p[P_RECRUIT_BASE] * drive * (1.0 - 0.5 * inclusion) * head * noise
        rj = base * J
        ri = base * p[P_ISSP_RECRUIT_FACTOR] * Is
        cs[JNIM, c] = J + rj - attr * J
        cs[ISSP, c] = Is + ri - attr * Is
        fl[F_RECRUITS, c] += rj + ri
