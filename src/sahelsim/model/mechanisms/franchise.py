"""10. The franchise: units grow, bud and disband (article: "The Jihadist Adaptation": JNIM is
a coalition of autonomous katibas rooted in local communities, which is why it survives the
loss of leaders and spreads by local franchises; FIELD.md: north Mali -> centre -> northern
Burkina Faso -> east and Tillaberi -> the coastal border).

A ``decapitation`` pulse (lever, share) first takes that share of the fighters of the JNIM
group strongest in the country (its leadership killed); the other components are untouched.
This month's combat losses and recruits were applied to the cell fields; each unit takes its
cell's change in proportion to its strength (``strength *= side total after / side total after
the units moved``). A unit below ``unit_min`` persons disbands. A unit above ``split_size``
buds with probability ``split_rate`` per month: half its fighters form a new unit of the same
group in a neighbouring cell drawn by attractiveness (:func:`.mobility.attractiveness`); with
probability ``bud_home`` that cell becomes the new unit's home (else it keeps its parent's), so
the franchise drifts, at that pace, towards populated, weakly held areas. Budding needs a free slot (``MAX_UNITS`` per member). The cell fields are then summed
again from the units.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sahelsim.model.layout import (
    GROUP_SIDE,
    JNIM_SIDE,
    N_CORE,
    N_GROUPS,
    Flow,
    Lever,
    P,
    Stream,
    Unit,
)
from sahelsim.model.mechanisms.mobility import aggregate, attractiveness
from sahelsim.model.rng import uniform


@njit(cache=True)
def _free_slot(us, after):
    for f in range(after, us.shape[1]):
        if us[Unit.CELL, f] < 0 and us[Unit.START, f] < 0:
            return f
    for f in range(0, after):
        if us[Unit.CELL, f] < 0 and us[Unit.START, f] < 0:
            return f
    return -1


@njit(cache=True)
def _decapitate(us, country, lev):
    """In each core country with a ``decapitation`` pulse, the JNIM group with most fighters
    there loses that share of its units' fighters in the country."""
    for k in range(N_CORE):
        blow = lev[Lever.DECAPITATION, k]
        if blow <= 0:
            continue
        by_group = np.zeros(N_GROUPS)
        for u in range(us.shape[1]):
            c = int(us[Unit.CELL, u])
            g = int(us[Unit.GROUP, u])
            if c >= 0 and country[c] == k and GROUP_SIDE[g] == JNIM_SIDE:
                by_group[g] += us[Unit.STRENGTH, u]
        lead = int(np.argmax(by_group))
        if by_group[lead] <= 0:
            continue
        for u in range(us.shape[1]):
            c = int(us[Unit.CELL, u])
            if c >= 0 and country[c] == k and int(us[Unit.GROUP, u]) == lead:
                us[Unit.STRENGTH, u] *= 1.0 - min(blow, 1.0)


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, us, fl = state.cells, state.units, flows.cells
    geo, country, nptr, nidx = geog.geo, geog.country, geog.nbr_ptr, geog.nbr_idx
    U = us.shape[1]
    _decapitate(us, country, drivers.lev)
    for u in range(U):
        c = int(us[Unit.CELL, u])
        if c < 0:
            continue
        side = GROUP_SIDE[int(us[Unit.GROUP, u])]
        pre = fl[Flow.PRE_JNIM + side, c]
        if pre > 0:
            us[Unit.STRENGTH, u] *= cs[side, c] / pre
        if us[Unit.STRENGTH, u] < p[P.UNIT_MIN]:
            us[Unit.CELL, u] = -1.0
            us[Unit.START, u] = -1.0
            us[Unit.STRENGTH, u] = 0.0
    fresh = np.zeros(U, dtype=np.bool_)  # buds of this month do not bud again
    for u in range(U):
        c = int(us[Unit.CELL, u])
        if c < 0 or fresh[u] or us[Unit.STRENGTH, u] <= p[P.SPLIT_SIZE]:
            continue
        if not uniform(key, t, Stream.UNIT_SPLIT, u) < p[P.SPLIT_RATE]:
            continue
        total = 0.0
        for j in range(nptr[c], nptr[c + 1]):
            n = nidx[j]
            if country[n] >= 0:
                total += attractiveness(cs, fl, geo, n)
        if total <= 0:
            continue
        f = _free_slot(us, u + 1)
        if f < 0:
            break
        pick = uniform(key, t, Stream.UNIT_WHERE, U + u) * total
        acc = 0.0
        dest = -1
        for j in range(nptr[c], nptr[c + 1]):
            n = nidx[j]
            if country[n] < 0:
                continue
            acc += attractiveness(cs, fl, geo, n)
            dest = n
            if acc >= pick:
                break
        half = 0.5 * us[Unit.STRENGTH, u]
        us[Unit.STRENGTH, u] = half
        us[Unit.GROUP, f] = us[Unit.GROUP, u]
        us[Unit.CELL, f] = dest
        us[Unit.STRENGTH, f] = half
        founds = uniform(key, t, Stream.UNIT_SPLIT, U + u) < p[P.BUD_HOME]
        us[Unit.HOME, f] = dest if founds else us[Unit.HOME, u]
        us[Unit.START, f] = -1.0
        fresh[f] = True
    aggregate(cs, us)


SECTION = "The Jihadist Adaptation"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("unit.group", "unit.cell", "unit.strength", "unit.home", "unit.start", "cell.jnim",
          "cell.issp", "cell.other", "cell.lake")  # fmt: skip
