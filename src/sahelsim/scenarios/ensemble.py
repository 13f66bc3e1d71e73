"""Running an ensemble on a backend: the one place where members are split into chunks.

A member's numbers depend only on (seed, its global member id, its parameter row), so the
chunks, concatenated along ``member`` in member order, equal one :func:`simulate` call.

What travels: the chunk function holds the grid, the parameters and the drivers; a backend
ships it once per call (the Ray backend puts it in the object store, shared by every task),
and each chunk carries only its member ids, parameter rows and (for a projection from a present)
their starting state rows. Workers need no data directory.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np
import xarray as xr

from sahelsim.core.backend import Backend, ChunkFailure, chunk_spans, member_label
from sahelsim.model.drivers import Drivers
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.model.state import State

log = logging.getLogger(__name__)


def _simulate_chunk(
    space: Space,
    params: Params,
    drivers: Drivers,
    seed: int,
    record: Record,
    item: tuple[np.ndarray, np.ndarray | None, State | None],
) -> xr.Dataset:
    """What a worker runs: one chunk of members (ids, their parameter rows or None, their
    starting state or None)."""
    ids, pm, state0 = item
    return simulate(space, params, drivers, members=ids, seed=seed, record=record,
                    param_matrix=pm, state0=state0)  # fmt: skip


def concat_members(parts: list[xr.Dataset]) -> xr.Dataset:
    """Chunks of one ensemble, in member order, as one dataset."""
    if len(parts) == 1:
        return parts[0]
    return xr.concat(parts, dim="member", data_vars="all", coords="minimal", compat="override",
                     join="exact", combine_attrs="override")  # fmt: skip


def simulate_members(
    space: Space,
    params: Params,
    drivers: Drivers,
    *,
    members: int | np.ndarray,
    seed: int,
    record: Record | None = None,
    param_matrix: np.ndarray | None = None,
    backend: Backend | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    state0: State | None = None,
) -> xr.Dataset:
    """:func:`sahelsim.model.engine.simulate` of ``members`` on ``backend`` (None: in this
    process, one call), in chunks of ``backend.default_chunk(n)`` members. ``state0`` (one row
    per member, in member order) starts each member from its row instead of the initial state;
    ``param_matrix`` and ``state0`` are split with the members.

    Returns the same dataset as one call. If chunks fail, raises
    :class:`~sahelsim.core.backend.ChunkFailure` whose ``partial`` is the dataset of the
    finished chunks' members (None if none finished).
    """
    ids = np.arange(members) if np.isscalar(members) else np.asarray(members, dtype=np.int64)
    spans = chunk_spans(backend, ids.size)
    if spans is None:
        return simulate(space, params, drivers, members=members, seed=seed, record=record,
                        param_matrix=param_matrix, progress=progress, state0=state0)  # fmt: skip
    pm = None
    if param_matrix is not None:
        pm = np.asarray(param_matrix, dtype=np.float64)
        if pm.ndim != 2 or pm.shape[0] != ids.size:
            raise ValueError(f"parameter matrix has {pm.shape[0]} rows for {ids.size} members")
    if state0 is not None and state0.members != ids.size:
        raise ValueError(f"state0 has {state0.members} members for {ids.size} member ids")
    items = [(ids[a:b], None if pm is None else pm[a:b],
              None if state0 is None else state0.take(np.arange(a, b))) for a, b in spans]  # fmt: skip
    fn = functools.partial(_simulate_chunk, space, params, drivers, int(seed), record or Record())
    labels = [member_label(ids[a:b]) for a, b in spans]
    log.info("%d members in %d chunks on the %s backend", ids.size, len(spans), backend.name)
    try:
        parts = backend.map(fn, items, labels=labels, progress=progress, what="chunk")
    except ChunkFailure as exc:
        if exc.completed:
            exc.partial = concat_members(list(exc.completed.values()))
        raise
    return concat_members(parts)
