"""12. The alliance (article: "The Alliance That Cannot Win", "Sovereignty as Strategy").

Mutual assistance: the joint force (lever ``joint_force``, persons, 5,000 from Dec 2024) goes to
the member that suffered most deaths last month; ``assist_share`` (share, default 1) of it, the
rest split evenly. Expansion of the alliance needs every member's consent (the structural trap):
with the ``alliance_expansion`` switch on, each member agrees with probability equal to its
legitimacy and expansion passes only if all three agree; it is recorded, not simulated further.
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..space import CORE
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    core = ctx.space.core_country_index()
    total = float(ctx.lever("joint_force")[core].max())  # alliance-level figure
    s.joint[:] = 0.0
    if total > 0:
        hit = np.argmax(s.deaths_last_k[:, core], axis=1)  # most attacked member
        share = ctx.p.assist_share
        s.joint[:, core] = total * (1 - share) / len(CORE)
        s.joint[np.arange(s.members), core[hit]] += total * share
    if ctx.d.flags.get("alliance_expansion"):
        agree = ctx.uk("alliance")[:, core] < s.legitimacy[:, core]
        ctx.flows.expansion[:] = agree.all(axis=1)
