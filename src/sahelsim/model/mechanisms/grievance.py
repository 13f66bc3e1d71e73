"""6. Grievance feedback (article: "The Jihadist Adaptation": every clearing operation that
kills civilians validates the insurgents' story; Epstein 2002; Kress-Szechtman).

    G <- G * (1 - grievance_decay) + grievance_per_death * civ_state / (residents / 10,000)

G is a dimensionless index; ``grievance_decay`` in 1/month (default 0.05),
``grievance_per_death`` in grievance per state-side civilian death per 10,000 residents. G raises
recruitment in :mod:`.regeneration`.
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import F_CIV_STATE, GRIEV, P_GRIEVANCE_DECAY, P_GRIEVANCE_PER_DEATH, POP


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    decay = 1.0 - p[P_GRIEVANCE_DECAY]
    gain = p[P_GRIEVANCE_PER_DEATH]
    for c in range(cs.shape[1]):
        per10k = fl[F_CIV_STATE, c] / (max(cs[POP, c], 1.0) / 1e4)
        cs[GRIEV, c] = cs[GRIEV, c] * decay + gain * per10k
