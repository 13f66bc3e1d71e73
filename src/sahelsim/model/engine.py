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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numba import njit, prange

from sahelsim.core.canon import month_id_to_year_month
from sahelsim.model import layout as L
from sahelsim.model.drivers import Drivers
from sahelsim.model.mechanisms import (
    accords,
    alliance,
    civilian_harm,
    combat,
    control,
    displacement,
    governance,
    grievance,
    operations,
    patron,
    regeneration,
    regime,
    schedule,
)
from sahelsim.model.params import MECHANISMS, Params
from sahelsim.model.rng import member_keys
from sahelsim.model.space import Space
from sahelsim.model.state import State, initial_state

log = logging.getLogger(__name__)

#: Country-level outputs (members, months, countries), in kernel order.
COUNTRY_VARS = {
    "deaths_state_based": "UCDP type 1 deaths (people)",
    "deaths_non_state": "UCDP type 2 deaths (people)",
    "deaths_one_sided": "UCDP type 3 deaths (people)",
    "civilians_killed_by_state_side": "one-sided deaths by army, militias, Russians (people)",
    "civilians_killed_by_jnim": "one-sided deaths by JNIM (people)",
    "civilians_killed_by_issp": "one-sided deaths by IS Sahel (people)",
    "deaths_total": "all deaths (people)",
    "state_losses": "state-side combat deaths (people)",
    "territory_state": "area share held by the state (0..1)",
    "territory_jnim": "area share held by JNIM (0..1)",
    "territory_issp": "area share held by IS Sahel (0..1)",
    "territory_contested": "area share contested (0..1)",
    "idps": "displaced people hosted in the country (people)",
    "refugees": "people from the country abroad, model-generated (people)",
    "displaced_new": "people leaving their cell this month (people)",
    "fighters_jnim": "JNIM fighters in the country (persons)",
    "fighters_issp": "IS Sahel fighters in the country (persons)",
    "state_forces": "national deployable pool (persons)",
    "militia": "state-aligned militia (persons)",
    "russia": "Russian personnel (persons)",
    "joint_force": "AES joint force assigned (persons)",
    "legitimacy": "junta legitimacy (0..1)",
    "dependency": "dependency on Russia (0..1)",
    "external_constraint": "external accountability presence (0..1)",
    "coups": "coups so far (count)",
    "accords": "cells under a local accord (count)",
    "governance_jnim": "area-weighted jihadist governance maturity (0..1)",
    "services": "area-weighted state service presence (0..1)",
}
N_OUT = len(COUNTRY_VARS)
CELL_VARS = ("deaths", "hold", "jnim", "issp", "idp", "civilian_deaths")

# switch positions (MECHANISMS order) as compile-time constants
SW_SCHEDULE, SW_OPERATIONS, SW_COMBAT, SW_REGENERATION, SW_HARM, SW_GRIEVANCE = 0, 1, 2, 3, 4, 5
SW_GOVERNANCE, SW_CONTROL, SW_DISPLACEMENT, SW_PATRON, SW_REGIME, SW_ALLIANCE = 6, 7, 8, 9, 10, 11
SW_ACCORDS = 12
assert MECHANISMS.index("accords") == SW_ACCORDS and MECHANISMS.index("patron") == SW_PATRON

#: Step order: (switch name, module); the compiled step below follows it literally.
ORDER = (
    "schedule", "alliance", "patron", "operations", "accords", "combat", "civilian_harm",
    "grievance", "regeneration", "governance", "control", "displacement", "regime",
)  # fmt: skip


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
def _member_month(key, t, cs, ks, fl, fk, gc, p, D, G, sw):
    """One member, one month: the mechanisms in :data:`ORDER`."""
    fl[:] = 0.0
    fk[:] = 0.0
    if sw[SW_SCHEDULE]:
        schedule.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_ALLIANCE]:
        alliance.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_PATRON]:
        patron.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_OPERATIONS]:
        operations.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_ACCORDS]:
        accords.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_COMBAT]:
        combat.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_HARM]:
        civilian_harm.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_GRIEVANCE]:
        grievance.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_REGENERATION]:
        regeneration.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_GOVERNANCE]:
        governance.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_CONTROL]:
        control.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_DISPLACEMENT]:
        displacement.member(key, t, cs, ks, fl, fk, gc, p, D, G)
    if sw[SW_REGIME]:
        regime.member(key, t, cs, ks, fl, fk, gc, p, D, G)


@njit(cache=True)
def _record_member(out, cs, ks, fl, fk, country, area, area_k):
    """Country aggregates of one member-month into ``out`` (N_OUT, K)."""
    out[:] = 0.0
    K = ks.shape[1]
    for c in range(cs.shape[1]):
        k = country[c]
        if k < 0:
            continue
        sb, ns = fl[L.F_SB, c], fl[L.F_NS, c]
        cst, cj, ci = fl[L.F_CIV_STATE, c], fl[L.F_CIV_JNIM, c], fl[L.F_CIV_ISSP, c]
        out[0, k] += sb
        out[1, k] += ns
        out[2, k] += cst + cj + ci
        out[3, k] += cst
        out[4, k] += cj
        out[5, k] += ci
        out[6, k] += sb + ns + cst + cj + ci
        h = cs[L.HOLD, c]
        a = area[c] / area_k[k]
        if h == 1.0:
            out[8, k] += a
        elif h == 2.0:
            out[9, k] += a
        elif h == 3.0:
            out[10, k] += a
        else:
            out[11, k] += a
        out[12, k] += cs[L.IDP, c]
        out[14, k] += fl[L.F_DISPLACED, c]
        out[15, k] += cs[L.JNIM, c]
        out[16, k] += cs[L.ISSP, c]
        out[25, k] += cs[L.ACCORD, c]
        out[26, k] += cs[L.GOV, c] * a
        out[27, k] += cs[L.SERV, c] * a
    for k in range(K):
        out[7, k] = fk[L.FK_STATE_LOSS, k]
        out[13, k] = ks[L.REFUG, k]
        out[17, k] = ks[L.POOL, k]
        out[18, k] = ks[L.MILITIA, k]
        out[19, k] = ks[L.RUSSIA, k]
        out[20, k] = ks[L.JOINT, k]
        out[21, k] = ks[L.LEGIT, k]
        out[22, k] = ks[L.DEPEND, k]
        out[23, k] = ks[L.EXTERNAL, k]
        out[24, k] = ks[L.COUPS, k]


@njit(cache=True)
def _record_cells(rec, rec_vars, m, t, cs, fl):
    for r in range(rec_vars.shape[0]):
        v = rec_vars[r]
        for c in range(cs.shape[1]):
            if v == 0:
                x = (fl[L.F_SB, c] + fl[L.F_NS, c] + fl[L.F_CIV_STATE, c] + fl[L.F_CIV_JNIM, c]
                     + fl[L.F_CIV_ISSP, c])  # fmt: skip
            elif v == 1:
                x = cs[L.HOLD, c]
            elif v == 2:
                x = cs[L.JNIM, c]
            elif v == 3:
                x = cs[L.ISSP, c]
            elif v == 4:
                x = cs[L.IDP, c]
            else:
                x = fl[L.F_CIV_STATE, c] + fl[L.F_CIV_JNIM, c] + fl[L.F_CIV_ISSP, c]
            rec[r, m, t, c] = x


@njit(parallel=True, cache=True)
def _run(keys, t0, cells, ctry, gc, params, drv, flags, lev, G, sw, out, rec, rec_vars, area,
         area_k):  # fmt: skip
    M = cells.shape[0]
    T = drv.shape[0]
    C = cells.shape[2]
    K = ctry.shape[2]
    for m in prange(M):
        fl = np.zeros((L.N_FLOW_FIELDS, C))
        fk = np.zeros((L.N_FLOWK_FIELDS, K))
        cs = cells[m]
        ks = ctry[m]
        gcm = gc[m : m + 1]
        p = params[m]
        for t in range(T):
            D = (drv[t], flags[t], lev[t])
            _member_month(keys[m], t0 + t, cs, ks, fl, fk, gcm, p, D, G, sw)
            _record_member(out[m, t], cs, ks, fl, fk, G[1], area, area_k)
            if rec_vars.shape[0] > 0:
                _record_cells(rec, rec_vars, m, t, cs, fl)


def _param_matrix(params: Params | np.ndarray, M: int) -> np.ndarray:
    if isinstance(params, Params):
        return np.ascontiguousarray(np.broadcast_to(params.vector(), (M, L.N_PARAMS)))
    arr = np.asarray(params, dtype=np.float64)
    if arr.shape != (M, L.N_PARAMS):
        raise ValueError(f"parameter matrix must have shape ({M}, {L.N_PARAMS}), got {arr.shape}")
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
    area = space.area_km2.astype(np.float64)
    area_k = np.maximum(area @ space.country_onehot(), 1e-9)
    _run(member_keys(seed, ids), drivers.start_month + t, s.cells, s.ctry, s.growth_cum,
         _param_matrix(params, M), drv[t : t + 1], flags[t : t + 1], lev[t : t + 1],
         space.kernel_arrays(), params.switch_vector() if isinstance(params, Params) else
         np.ones(len(MECHANISMS), dtype=np.bool_), out, np.zeros((0, M, 1, space.n_cells),
         dtype=np.float32), np.zeros(0, dtype=np.int64), area, area_k)  # fmt: skip
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
) -> xr.Dataset:
    """Run the ensemble over ``drivers.months`` months and return an ``xarray.Dataset``.

    ``members`` is a count (members 0..n-1) or an array of global member indices; a member's
    numbers do not depend on which other members run with it. ``param_matrix`` (members x
    parameters, :data:`params.SPECS` order) gives each member its own parameters (used by
    calibration); otherwise every member uses ``params``.
    """
    record = record or Record()
    ids = np.arange(members) if np.isscalar(members) else np.asarray(members, dtype=np.int64)
    M, C, K, T = ids.size, space.n_cells, space.n_countries, drivers.months
    s = state0.copy() if state0 is not None else initial_state(space, params, M)
    people0 = s.people()
    drv, flags, lev = drivers.packed()
    out = np.zeros((M, T, N_OUT, K))
    rec_vars = np.array([CELL_VARS.index(v) for v in record.cells], dtype=np.int64)
    rec = np.zeros((rec_vars.size, M, T, C), dtype=np.float32)
    area = space.area_km2.astype(np.float64)
    area_k = np.maximum(area @ space.country_onehot(), 1e-9)
    pm = _param_matrix(param_matrix if param_matrix is not None else params, M)
    if progress:
        progress("simulate", 0, 1)
    _run(member_keys(seed, ids), drivers.start_month, s.cells, s.ctry, s.growth_cum, pm, drv,
         flags, lev, space.kernel_arrays(), params.switch_vector(), out, rec, rec_vars, area,
         area_k)  # fmt: skip
    if progress:
        progress("simulate", 1, 1)
    return _dataset(space, drivers, ids, out, rec, record, people0, s, seed, params)


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
        v: (("member", "month", "country"), out[:, :, i, :], {"description": COUNTRY_VARS[v]})
        for i, v in enumerate(COUNTRY_VARS)
    }
    for i, v in enumerate(record.cells):
        arr = rec[i].astype(np.int8) if v == "hold" else rec[i]
        data[f"cell_{v}"] = (("member", "month", "cell"), arr)
    data["people_initial_plus_growth"] = (("member",), people0 + s.growth_cum)
    data["people_accounted"] = (("member",), s.people())
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        seed=int(seed),
        start_month=int(drivers.start_month),
        months=int(T),
        switches=",".join(k for k, v in params.switches.items() if v),
        hold_codes="0 contested, 1 state, 2 JNIM, 3 IS Sahel",
        model="sahelsim",
    )
    return ds


def summarise(ds: xr.Dataset, variables: list[str] | None = None) -> xr.Dataset:
    """Median and 50 % / 90 % intervals over members for the country variables."""
    variables = variables or list(COUNTRY_VARS)
    q = ds[variables].quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="member")
    return q.rename(quantile="q")
