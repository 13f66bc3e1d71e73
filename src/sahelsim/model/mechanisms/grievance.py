"""6. Grievance feedback (article: "The Jihadist Adaptation": every clearing operation that
kills civilians validates the insurgents' story; Epstein 2002; Kress-Szechtman).

    G <- G * (1 - grievance_decay) + grievance_per_death * civ_state / (residents / 10,000)

G is an index (dimensionless); ``grievance_decay`` in 1/month (default 0.05), and
``grievance_per_death`` in grievance per state-side civilian death per 10,000 residents.
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    p = ctx.p
    per10k = ctx.flows.civ_state / (np.maximum(s.pop, 1.0) / 1e4)
    s.grievance *= 1 - p.grievance_decay
    s.grievance += p.grievance_per_death * per10k
