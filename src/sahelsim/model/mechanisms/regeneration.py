"""4. Regeneration (article: "The Counterterrorism Illusion": insurgents can sustain about
2.5 % monthly attrition through recruitment; "The Jihadist Adaptation": franchise structure).

For JNIM and ISSP separately (ISSP recruits ``issp_recruit_factor`` as much):

    R = recruit_base * X * (1 + recruit_grievance * G + recruit_services * (1 - services)
                            + recruit_governance * gov + recruit_displacement * idp_share)
        * (1 - 0.5 * inclusion) * max(0, 1 - (J + I_s) / (recruitable_share * residents))
        * lognormal noise (sigma 0.3)
    X <- X + R - attrition * X

``attrition`` (1/month, default 0.025 from the article) covers desertion, sickness and
non-combat losses; combat losses are in :mod:`.combat`. JNIM is one pool per cell: its
components (Ansar Dine, Katiba Macina, al-Mourabitoun, AQIM Sahara) are not separated because
no data here resolve them; decapitation therefore has no lever, in line with the article's
point that it barely matters.
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..rng import lognormal_factor
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    p, f = ctx.p, ctx.flows
    idp_share = s.idp / np.maximum(s.pop + s.idp, 1.0)
    drive = (
        1
        + p.recruit_grievance * s.grievance
        + p.recruit_services * (1 - s.services)
        + p.recruit_governance * s.gov
        + p.recruit_displacement * idp_share
    )
    inclusion = ctx.by_cell(ctx.lever("inclusion"))[None, :]
    cap = p.recruitable_share * np.maximum(s.pop, 0.0)
    headroom = np.clip(1 - (s.jnim + s.issp) / np.maximum(cap, 1.0), 0.0, 1.0)
    noise = lognormal_factor(ctx.u("recruit_noise"), 0.3)
    base = p.recruit_base * drive * (1 - 0.5 * inclusion) * headroom * noise
    rj = base * s.jnim
    ri = base * p.issp_recruit_factor * s.issp
    s.jnim += rj - p.attrition * s.jnim
    s.issp += ri - p.attrition * s.issp
    f.recruits += rj + ri
