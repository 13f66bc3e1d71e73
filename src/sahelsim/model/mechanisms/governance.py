"""7. Governance competition (article: "The Jihadist Adaptation": courts, taxes and schools
where JNIM dominates; state services collapse under insecurity).

    gov <- gov + gov_mature * [share_jnim > 0.5] * (1 + accord_gov_boost * accord) * (1 - gov)
               - gov_decay * [share_jnim <= 0.5] * gov
    services <- services + services_up * share_state * governance_investment * (1 - services)
                         - services_down * (1 - share_state) * services

Rates in 1/month; ``governance_investment`` is a lever (0..1).
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    p = ctx.p
    dom = (s.share_jnim > 0.5).astype(float)
    boost = 1 + p.accord_gov_boost * s.accord
    s.gov += p.gov_mature * dom * boost * (1 - s.gov) - p.gov_decay * (1 - dom) * s.gov
    inv = ctx.by_cell(ctx.lever("governance_investment"))[None, :]
    up = p.services_up * s.share_state * inv * (1 - s.services)
    down = p.services_down * (1 - s.share_state) * s.services
    s.services += up - down
    np.clip(s.gov, 0.0, 1.0, out=s.gov)
    np.clip(s.services, 0.0, 1.0, out=s.services)
