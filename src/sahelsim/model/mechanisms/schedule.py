"""1. Schedule of institutions (article: "Sovereignty as Strategy", "Fragmentation's Feedback
Loops").

Copies this month's dated external constraint into the state. The constraint (0..1) is the
presence of external accountability: French forces, the UN mission, ECOWAS membership, plus the
``external_monitors`` lever (see :mod:`sahelsim.model.drivers` for the weights). A coup that
opened a political transition adds 0.3 (the ``transition`` coup rule).
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    s.external[:] = np.clip(ctx.d.external[None, :] + 0.3 * s.transition, 0.0, 1.0)
