"""Per-cell sums of this month's flows that several mechanisms read, and the even split of an
amount over a cell's neighbours (compiled helpers, inlined into the kernels that call them).

The order of the terms is fixed here, so every mechanism sees the same floating-point sum."""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import Cell, Flow


@njit(cache=True, inline="always")
def state_side_presence(fl, c):
    """State-side forces present in cell ``c`` this month: national, militia, Russian and
    alliance (extra) deployments, in persons."""
    return (
        fl[Flow.STATE_CELL, c]
        + fl[Flow.MILITIA_CELL, c]
        + fl[Flow.RUSSIA_CELL, c]
        + fl[Flow.EXTRA_CELL, c]
    )


@njit(cache=True, inline="always")
def cell_deaths(fl, c):
    """Deaths in cell ``c`` this month: state-based, non-state and civilians killed by each
    side."""
    return (
        fl[Flow.DEATHS_SB, c]
        + fl[Flow.DEATHS_NS, c]
        + fl[Flow.CIV_STATE, c]
        + fl[Flow.CIV_JNIM, c]
        + fl[Flow.CIV_ISSP, c]
        + fl[Flow.CIV_OTHER, c]
    )


@njit(cache=True, inline="always")
def hostile_strength(cs, c, peace):
    """Armed-group fighters in cell ``c`` at war with the state: the jihadists (JNIM, IS Sahel,
    the Lake Chad groups) and the northern movements in proportion to ``1 - peace`` (the
    ``northern_accord`` lever of the cell's country)."""
    return (
        cs[Cell.JNIM, c] + cs[Cell.ISSP, c] + cs[Cell.LAKE, c] + cs[Cell.OTHER, c] * (1.0 - peace)
    )


@njit(cache=True, inline="always")
def share_with_neighbours(amount, c, nptr, nidx, dest):
    """Add ``amount`` to ``dest`` in equal parts over the neighbours of cell ``c`` (CSR
    adjacency ``nptr``/``nidx``); nothing when the amount is not positive or ``c`` has none."""
    deg = nptr[c + 1] - nptr[c]
    if amount > 0 and deg > 0:
        each = amount / deg
        for j in range(nptr[c], nptr[c + 1]):
            dest[nidx[j]] += each
