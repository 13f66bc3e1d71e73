"""Per-cell sums of this month's flows that several mechanisms read, and the even split of an
amount over a cell's neighbours (compiled helpers, inlined into the kernels that call them).

The order of the terms is fixed here, so every mechanism sees the same floating-point sum.

Also the layout of the per-run cache: the engine gives each member :func:`cache_rows` rows below
its flows (``flows.cells[N_FLOW_FIELDS:]``), which are zeroed once per run, never monthly.
Kernels keep there numbers that are pure functions of the geography and the member's
parameters, so a kept number is the very number computed again; plain ``Flows`` without the
rows (tests, a single kernel) compute everything each time (:func:`has_cache`). Row
``CACHE_MARK``: column 0 the flight range the decays are for (:mod:`.mechanisms.displacement`),
column 1 whether the adjacency is symmetric (1 yes, -1 no, 0 not checked yet;
:mod:`.mechanisms.control`). Rows from ``CACHE_DECAY`` on: one block read as a (cells, cores)
array, exp(-distance / flight_range) from a cell to the ``i``-th urban core of its country
(0 = not computed yet)."""

from __future__ import annotations

from numba import njit

from sahelsim.model.layout import N_FLOW_FIELDS, Cell, Flow

CACHE_MARK = N_FLOW_FIELDS
CACHE_DECAY = N_FLOW_FIELDS + 1


@njit(cache=True)
def cache_rows(uptr):
    """Cache rows below the flows: the marks and one per urban core of the largest list."""
    most = 0
    for k in range(uptr.shape[0] - 1):
        most = max(most, uptr[k + 1] - uptr[k])
    return 1 + most


@njit(cache=True, inline="always")
def has_cache(fl, uptr):
    """Whether the flow array ``fl`` carries the per-run cache rows (the engine's do)."""
    return fl.shape[1] >= 2 and fl.shape[0] >= N_FLOW_FIELDS + cache_rows(uptr)


@njit(cache=True)
def symmetric(nptr, nidx):
    """Whether the CSR adjacency is symmetric with strictly increasing neighbour lists (no
    repeats): then "n is a neighbour of c" and "c is a neighbour of n" are the same edge."""
    C = nptr.shape[0] - 1
    for c in range(C):
        for j in range(nptr[c], nptr[c + 1]):
            n = nidx[j]
            if n < 0 or n >= C or (j > nptr[c] and nidx[j - 1] >= n):
                return False
            lo, hi = nptr[n], nptr[n + 1]
            while lo < hi:  # binary search for c in n's list
                mid = (lo + hi) // 2
                if nidx[mid] < c:
                    lo = mid + 1
                else:
                    hi = mid
            if lo == nptr[n + 1] or nidx[lo] != c:
                return False
    return True


@njit(cache=True, inline="always")
def symmetric_cached(fl, cached, nptr, nidx):
    """:func:`symmetric`, checked once per run and kept in the cache; False without the cache
    (the caller then takes the general path)."""
    if not cached:
        return False
    if fl[CACHE_MARK, 1] == 0.0:
        fl[CACHE_MARK, 1] = 1.0 if symmetric(nptr, nidx) else -1.0
    return fl[CACHE_MARK, 1] > 0.0


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
