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

from sahelsim.model.layout import D_EXTERNAL, EXTERNAL, TRANS


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    drv = D[0]
    for k in range(ks.shape[1]):
        v = drv[D_EXTERNAL, k] + 0.3 * ks[TRANS, k]
        ks[EXTERNAL, k] = min(max(v, 0.0), 1.0)
