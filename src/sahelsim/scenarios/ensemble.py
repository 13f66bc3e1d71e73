"""Running an ensemble on a backend: the one place where members are split into chunks.

A member's numbers depend only on (seed, its global member id, its parameter row), so the
chunks, concatenated along ``member`` in member order, equal one :func:`simulate` call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import xarray as xr

from sahelsim.core.backend import Backend
from sahelsim.model.drivers import Drivers
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space

log = logging.getLogger(__name__)


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
) -> xr.Dataset:
    """:func:`sahelsim.model.engine.simulate` of ``members`` on ``backend`` (None: in this
    process, one call)."""
    if backend is None or getattr(backend, "name", "local") == "local":
        return simulate(space, params, drivers, members=members, seed=seed, record=record,
                        param_matrix=param_matrix, progress=progress)  # fmt: skip
    raise NotImplementedError("chunked backends: see sahelsim.distributed (being moved here)")
