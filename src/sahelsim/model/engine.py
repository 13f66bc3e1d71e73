"""The step and the driver.

The dynamics of one member over one month is :func:`_member_month`, which applies the
switched-on mechanisms in order (each a compiled kernel in :mod:`.mechanisms`). :func:`step`
advances every member of a state one month and returns a new state (the input is not changed).
:func:`simulate` owns the time loop, the drivers (dated events and levers), what is recorded
(declared by :class:`Record`, apart from the dynamics) and the seeds (one 64-bit key per member
from ``SeedSequence(seed, spawn_key=(member,))``).

The ensemble loop runs members in parallel (Numba ``prange``); a member's whole trajectory
stays in cache, and its numbers depend only on its own key and parameters.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numba import literal_unroll, njit, prange
from numba.core.errors import NumbaExperimentalFeatureWarning

from sahelsim.core.canon import month_id_to_year_month
from sahelsim.model.cellsums import cache_rows as per_run_cache_rows
from sahelsim.model.drivers import Drivers
from sahelsim.model.fields_table import CELL_OUTPUTS, COUNTRY_OUTPUTS
from sahelsim.model.layout import (
    N_FLOW_FIELDS,
    N_FLOWK_FIELDS,
    N_PARAMS,
    Flows,
    MemberState,
    MonthDrivers,
)
from sahelsim.model.params import MECHANISMS, Params
from sahelsim.model.recorder_generated import record_cells, record_country
from sahelsim.model.registry import STEPS
from sahelsim.model.rng import member_keys
from sahelsim.model.space import Space
from sahelsim.model.state import State, initial_state

log = logging.getLogger(__name__)

#: Country-level outputs (members, months, countries): name -> description, table order.
COUNTRY_VARS = {o.name: o.description for o in COUNTRY_OUTPUTS}
N_OUT = len(COUNTRY_OUTPUTS)
#: Cell-level outputs a :class:`Record` can keep.
CELL_VARS = tuple(o.name for o in CELL_OUTPUTS)
#: Step order (the registry's), kept for callers.
ORDER = MECHANISMS

# The recorder (record_country, record_cells) is generated from the table's output rules by
# model/codegen.py; the tests check the generated module is current.


@dataclass(frozen=True)
class Record:
    """What to record. Country aggregates are always kept; ``cells`` lists cell-level
    variables from :data:`CELL_VARS` kept at (member, month, cell) as float32 (hold as int8)."""

    cells: tuple[str, ...] = ("deaths", "hold")

    def __post_init__(self) -> None:
        bad = [c for c in self.cells if c not in CELL_VARS]
        if bad:
            raise ValueError(f"unknown cell variables {bad}; choose from {CELL_VARS}")


@njit(cache=True)
def _member_month(key, t, s, f, g, d, p, sw):
    """One member, one month: the switched-on mechanisms of the registry, in its order."""
    f.cells[:N_FLOW_FIELDS] = 0.0  # rows below the flows, if any, are per-run caches
    f.ctry[:] = 0.0
    for entry in literal_unroll(STEPS):
        if sw[entry[0]]:
            entry[1](key, t, s, f, g, d, p)


# nogil: the compiled loop runs without the GIL (its parallel region already ran without it;
# nogil covers the rest of the call), so a server thread keeps serving during a run (tested in
# tests/test_app.py); it changes no number.
@njit(parallel=True, cache=True, nogil=True)
def _run(keys, t0, cells, ctry, gc, units, params, drv, flags, lev, geog, sw, out, rec, rec_sel,
         area_w):  # fmt: skip
    M = cells.shape[0]
    T = drv.shape[0]
    C = cells.shape[2]
    K = ctry.shape[2]
    cache_rows = per_run_cache_rows(geog.urban_ptr)  # model.cellsums: kernels' per-run cache
    for m in prange(M):
        f = Flows(np.zeros((N_FLOW_FIELDS + cache_rows, C)), np.zeros((N_FLOWK_FIELDS, K)))
        s = MemberState(cells[m], ctry[m], gc[m : m + 1], units[m])
        p = params[m]
        for t in range(T):
            d = MonthDrivers(drv[t], flags[t], lev[t])
            _member_month(keys[m], t0 + t, s, f, geog, d, p, sw)
            record_country(out[m, t], s.cells, s.ctry, f.cells, f.ctry, geog.country, area_w)
            if rec_sel.shape[0] > 0:
                record_cells(rec, rec_sel, m, t, s.cells, f.cells)


def _area_weights(space: Space) -> np.ndarray:
    """Each cell's share of its country's area (0 for cells without a country)."""
    area = space.area_km2.astype(np.float64)
    area_k = np.maximum(area @ space.country_onehot(), 1e-9)
    return np.where(space.country >= 0, area / area_k[np.maximum(space.country, 0)], 0.0)


def _call_run(*args) -> None:
    # the unrolled tuple of kernels uses Numba's first-class function types (compile-time only)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
        _run(*args)


def _param_matrix(params: Params | np.ndarray, M: int) -> np.ndarray:
    if isinstance(params, Params):
        return np.ascontiguousarray(np.broadcast_to(params.vector(), (M, N_PARAMS)))
    arr = np.asarray(params, dtype=np.float64)
    if arr.shape != (M, N_PARAMS):
        raise ValueError(f"parameter matrix must have shape ({M}, {N_PARAMS}), got {arr.shape}")
    return np.ascontiguousarray(arr)


def step(
    state: State,
    space: Space,
    params: Params,
    drivers: Drivers,
    t: int,
    *,
    members: np.ndarray | None = None,
    seed: int = 0,
) -> State:
    """Advance every member of ``state`` one month (month index ``t`` of ``drivers``) and return
    the new state; ``state`` itself is not modified."""
    s = state.copy()
    M = s.members
    ids = np.arange(M) if members is None else np.asarray(members)
    drv, flags, lev = drivers.packed()
    K = space.n_countries
    out = np.zeros((M, 1, N_OUT, K))
    sw = params.switch_vector() if isinstance(params, Params) else np.ones(len(MECHANISMS), bool)
    _call_run(member_keys(seed, ids), drivers.start_month + t, s.cells, s.ctry, s.growth_cum,
              s.units, _param_matrix(params, M), drv[t : t + 1], flags[t : t + 1], lev[t : t + 1],
              space.kernel_arrays(), sw, out, np.zeros((0, M, 1, space.n_cells), np.float32),
              np.zeros(0, dtype=np.int64), _area_weights(space))  # fmt: skip
    return s


def simulate(
    space: Space,
    params: Params,
    drivers: Drivers,
    *,
    members: int | np.ndarray = 100,
    seed: int = 0,
    record: Record | None = None,
    state0: State | None = None,
    param_matrix: np.ndarray | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    return_state: bool = False,
) -> xr.Dataset | tuple[xr.Dataset, State]:
    """Run the ensemble over ``drivers.months`` months and return an ``xarray.Dataset`` (with
    ``return_state``, the pair (dataset, state after the last month)).

    ``members`` is a count (members 0..n-1) or an array of global member indices; a member's
    numbers do not depend on which other members run with it. ``param_matrix`` (members x
    parameters, :data:`params.SPECS` order) gives each member its own parameters (used by
    calibration); otherwise every member uses ``params``.
    """
    record = record or Record()
    ids = np.arange(members) if np.isscalar(members) else np.asarray(members, dtype=np.int64)
    M, C, K, T = ids.size, space.n_cells, space.n_countries, drivers.months
    if state0 is not None and state0.members != M:
        raise ValueError(f"state0 has {state0.members} members for {M} member ids")
    s = (
        state0.copy()
        if state0 is not None
        else initial_state(space, params, M, drivers.start_month)
    )
    people0 = s.people()
    drv, flags, lev = drivers.packed()
    out = np.zeros((M, T, N_OUT, K))
    rec_sel = np.array([CELL_VARS.index(v) for v in record.cells], dtype=np.int64)
    rec = np.zeros((rec_sel.size, M, T, C), dtype=np.float32)
    pm = _param_matrix(param_matrix if param_matrix is not None else params, M)
    if progress:
        progress("simulate", 0, 1)
    _call_run(member_keys(seed, ids), drivers.start_month, s.cells, s.ctry, s.growth_cum, s.units,
              pm, drv,
              flags, lev, space.kernel_arrays(), params.switch_vector(), out, rec, rec_sel,
              _area_weights(space))  # fmt: skip
    if progress:
        progress("simulate", 1, 1)
    ds = _dataset(space, drivers, ids, out, rec, record, people0, s, seed, params)
    return (ds, s) if return_state else ds


def _dataset(space, drivers, ids, out, rec, record, people0, s, seed, params) -> xr.Dataset:
    T = drivers.months
    mids = np.arange(drivers.start_month, drivers.start_month + T)
    y, m = month_id_to_year_month(mids)
    coords = {
        "member": ids,
        "month": mids,
        "country": list(space.countries),
        "cell": space.gid,
        "year": ("month", y),
        "month_of_year": ("month", m),
    }
    data = {
        o.name: (("member", "month", "country"), out[:, :, i, :], {"description": o.description})
        for i, o in enumerate(COUNTRY_OUTPUTS)
    }
    for i, v in enumerate(record.cells):
        o = CELL_OUTPUTS[CELL_VARS.index(v)]
        arr = rec[i].astype(o.dtype) if o.dtype != "float32" else rec[i]
        data[f"cell_{v}"] = (("member", "month", "cell"), arr, {"description": o.description})
    data["people_initial_plus_growth"] = (("member",), people0 + s.growth_cum)
    data["people_accounted"] = (("member",), s.people())
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        seed=int(seed),
        start_month=int(drivers.start_month),
        months=int(T),
        switches=",".join(k for k, v in params.switches.items() if v),
        hold_codes="0 contested, 1 state, 2 JNIM, 3 IS Sahel, 4 other armed group, 5 ungoverned",
        model="sahelsim",
    )
    return ds


def summarise(ds: xr.Dataset, variables: list[str] | None = None) -> xr.Dataset:
    """Median and 50 % / 90 % intervals over members for the country variables."""
    variables = variables or list(COUNTRY_VARS)
    q = ds[variables].quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="member")
    return q.rename(quantile="q")
