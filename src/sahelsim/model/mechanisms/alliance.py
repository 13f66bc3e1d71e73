"""12. The alliance (article: "The Alliance That Cannot Win", "Sovereignty as Strategy").

Mutual assistance: the joint force (lever ``joint_force``, persons; 5,000 from Dec 2024) goes to
the member that suffered most deaths last month: ``assist_share`` (share, default 1) of it, the
rest split evenly among the three. Expansion of the alliance needs every member's consent (the
structural trap): with the ``alliance_expansion`` switch on, each member agrees with probability
equal to its legitimacy and expansion passes only if all three agree; it is recorded, not
simulated further.
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import (
    DEATHS_LAST_K,
    FK_EXPANSION,
    FLAG_EXPANSION,
    JOINT,
    L_JOINT,
    LEGIT,
    P_ASSIST_SHARE,
    S_ALLIANCE,
)
from sahelsim.model.rng import country_idx, uniform


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    lev, flags = D[2], D[1]
    total = max(lev[L_JOINT, 0], lev[L_JOINT, 1], lev[L_JOINT, 2])
    for k in range(ks.shape[1]):
        ks[JOINT, k] = 0.0
    if total > 0:
        hit = 0
        for k in range(1, 3):
            if ks[DEATHS_LAST_K, k] > ks[DEATHS_LAST_K, hit]:
                hit = k
        share = p[P_ASSIST_SHARE]
        for k in range(3):
            ks[JOINT, k] = total * (1 - share) / 3
        ks[JOINT, hit] += total * share
    if flags[FLAG_EXPANSION]:
        agree = True
        for k in range(3):
            if not uniform(key, t, S_ALLIANCE, country_idx(k)) < ks[LEGIT, k]:
                agree = False
        fk[FK_EXPANSION, 0] = 1.0 if agree else 0.0
