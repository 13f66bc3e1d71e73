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

from sahelsim.model.layout import MLI, N_CORE, Ctry, Flag, FlowK, Lever, P, Stream
from sahelsim.model.rng import country_idx, uniform


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    ks, fk = state.ctry, flows.ctry
    lev, flags = drivers.lev, drivers.flags
    total = 0.0  # the alliance total (repeated in every core country's column)
    for k in range(N_CORE):
        total = max(total, lev[Lever.JOINT_FORCE, k])
    for k in range(ks.shape[1]):
        ks[Ctry.JOINT, k] = 0.0
    if total > 0:
        hit = MLI
        for k in range(N_CORE):
            if ks[Ctry.DEATHS_LAST_K, k] > ks[Ctry.DEATHS_LAST_K, hit]:
                hit = k
        share = p[P.ASSIST_SHARE]
        for k in range(N_CORE):
            ks[Ctry.JOINT, k] = total * (1 - share) / N_CORE
        ks[Ctry.JOINT, hit] += total * share
    if flags[Flag.EXPANSION]:
        agree = True
        for k in range(N_CORE):
            if not uniform(key, t, Stream.ALLIANCE, country_idx(k)) < ks[Ctry.LEGITIMACY, k]:
                agree = False
        fk[FlowK.EXPANSION, MLI] = 1.0 if agree else 0.0


SECTION = "The Alliance That Cannot Win; Sovereignty as Strategy"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("ctry.joint", "flowk.expansion")  # fmt: skip
