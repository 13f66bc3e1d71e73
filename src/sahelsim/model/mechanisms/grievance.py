"""6. Grievance feedback (article: "The Jihadist Adaptation": every clearing operation that
kills civilians validates the insurgents' story; Epstein 2002; Kress-Szechtman).

    G <- G * (1 - grievance_decay) + grievance_per_death * civ_state / (residents / 10,000)

G is a dimensionless index; ``grievance_decay`` in 1/month (default 0.05),
``grievance_per_death`` in grievance per state-side civilian death per 10,000 residents. G raises
recruitment in :mod:`.regeneration`.
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import Cell, Flow, P


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, fl = state.cells, flows.cells
    decay = 1.0 - p[P.GRIEVANCE_DECAY]
    gain = p[P.GRIEVANCE_PER_DEATH]
    for c in range(cs.shape[1]):
        civ = fl[Flow.CIV_STATE, c]
        pop = cs[Cell.POP, c]
        # no deaths (most cells): 0 / (a positive number) is that same zero, sign included
        per10k = civ if (civ == 0.0 and pop >= 0.0) else civ / (max(pop, 1.0) / 1e4)
        cs[Cell.GRIEVANCE, c] = cs[Cell.GRIEVANCE, c] * decay + gain * per10k


SECTION = "The Jihadist Adaptation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.grievance",)  # fmt: skip
