"""1. Schedule of institutions (article: "Sovereignty as Strategy", "Fragmentation's Feedback
Loops").

Copies this month's dated external constraint into the state. The constraint (0..1) is the
presence of external accountability: French forces, the UN mission, ECOWAS membership, plus the
``external_monitors`` lever (weights in :mod:`sahelsim.model.drivers`). A coup that opened a
political transition adds 0.3 (the ``transition`` coup rule, :mod:`.regime`).

    external[k] = clip(schedule[t, k] + 0.3 * transition[k], 0, 1)
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import Ctry, Drv


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    ks = state.ctry
    drv = drivers.drv
    for k in range(ks.shape[1]):
        v = drv[Drv.EXTERNAL, k] + 0.3 * ks[Ctry.TRANSITION, k]
        ks[Ctry.EXTERNAL, k] = min(max(v, 0.0), 1.0)


SECTION = "Sovereignty as Strategy; Fragmentation's Feedback Loops"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("ctry.external",)  # fmt: skip
