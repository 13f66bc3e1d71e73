"""Local accords with JNIM (article: "Three Futures", second path: negotiated accommodation;
FIELD.md: dozens of local accords in central Mali since 2020).

Where JNIM dominates a cell (contest share > 0.5), a local accord forms each month with
probability ``negotiation_propensity`` (lever, 1/month). An accord ends when the state holds
the cell again. Under an accord clearing operations avoid the cell, ``accord_battle_cut``
(share, default 0.8) of engagements do not happen, mass-casualty risk falls by
``accord_massacre_cut`` (default 0.5) and jihadist governance matures ``1 + accord_gov_boost``
times faster (see :mod:`.combat`, :mod:`.civilian_harm`, :mod:`.governance`).
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import Cell, Lever, Stream
from sahelsim.model.rng import uniform


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs = state.cells
    lev, country = drivers.lev, geog.country
    for c in range(cs.shape[1]):
        k = country[c]
        if cs[Cell.HOLD, c] == 1.0:
            cs[Cell.ACCORD, c] = 0.0
            continue
        if k < 0 or cs[Cell.ACCORD, c] > 0:
            continue
        if (
            cs[Cell.SHARE_JNIM, c] > 0.5
            and uniform(key, t, Stream.ACCORD, c) < lev[Lever.NEGOTIATION_PROPENSITY, k]
        ):
            cs[Cell.ACCORD, c] = 1.0


SECTION = "Three Futures"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.accord",)  # fmt: skip
