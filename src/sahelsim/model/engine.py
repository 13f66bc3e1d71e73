"""The step and the driver.

``step(state, ctx) -> (state, flows)`` is pure from the outside: it copies the state and applies
the switched-on mechanisms in order. ``simulate`` owns the time loop, the drivers (dated events
and levers), what is recorded (declared by :class:`Record`, apart from the dynamics) and the
seeds (one generator per member from ``SeedSequence(seed, spawn_key=(member,))``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import xarray as xr

from ..canon import month_id_to_year_month
from .context import Ctx, Flows
from .drivers import Drivers
from .mechanisms import ORDER
from .params import Params
from .rng import MemberStreams
from .space import Space
from .state import State, initial_state

log = logging.getLogger(__name__)

#: Country-level outputs (members, months, countries).
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
CELL_VARS = ("deaths", "hold", "jnim", "issp", "idp", "civilian_deaths")


@dataclass(frozen=True)
class Record:
    """What to record. Country aggregates are always kept; ``cells`` lists cell-level
    variables from :data:`CELL_VARS` kept at (member, month, cell) as float32/int8."""

    cells: tuple[str, ...] = ("deaths", "hold")

    def __post_init__(self) -> None:
        bad = [c for c in self.cells if c not in CELL_VARS]
        if bad:
            raise ValueError(f"unknown cell variables {bad}; choose from {CELL_VARS}")


def step(state: State, ctx: Ctx) -> tuple[State, Flows]:
    """Advance every member one month. The input state is not modified."""
    s = state.copy()
    for name, mech in ORDER:
        if ctx.p.on(name):
            mech.apply(s, ctx)
    return s, ctx.flows


def simulate(
    space: Space,
    params: Params,
    drivers: Drivers,
    *,
    members: int | np.ndarray = 100,
    seed: int = 0,
    record: Record | None = None,
    state0: State | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> xr.Dataset:
    """Run the ensemble over ``drivers.months`` months and return an ``xarray.Dataset``.

    ``members`` is a count (members 0..n-1) or an array of global member indices; the numbers
    of a member do not depend on which other members run with it.
    """
    record = record or Record()
    ids = np.arange(members) if np.isscalar(members) else np.asarray(members, dtype=np.int64)
    M, C, K, T = ids.size, space.n_cells, space.n_countries, drivers.months
    s = state0.copy() if state0 is not None else initial_state(space, params, M)
    streams = MemberStreams(seed, ids)
    onehot = space.country_onehot()
    agg_k = sp.csr_matrix(onehot.T)
    area = space.area_km2
    area_k = np.maximum(area @ onehot, 1e-9)
    out = {v: np.zeros((M, T, K), dtype=np.float64) for v in COUNTRY_VARS}
    cells = {
        v: np.zeros((M, T, C), dtype=np.int8 if v == "hold" else np.float32) for v in record.cells
    }
    people0 = (
        s.pop.sum(axis=1) + s.idp.sum(axis=1) + s.refugees.sum(axis=1) + s.dead_civ.sum(axis=1)
    )
    for t in range(T):
        u_cell, u_ctry = streams.month(C, K)
        ctx = Ctx(space, params, drivers.at(t), u_cell, u_ctry, Flows.zeros(M, C, K), onehot, agg_k)
        s, f = step(s, ctx)
        _record(out, cells, t, s, f, agg_k, area, area_k)
        if progress:
            progress("simulate", t + 1, T)
    people = s.pop.sum(axis=1) + s.idp.sum(axis=1) + s.refugees.sum(axis=1) + s.dead_civ.sum(axis=1)
    return _dataset(space, drivers, ids, out, cells, people0, people, s, seed, params)


def _record(out, cells, t, s: State, f: Flows, agg_k, area, area_k) -> None:
    agg = lambda x: np.asarray((agg_k @ x.T).T)  # noqa: E731
    out["deaths_state_based"][:, t] = agg(f.deaths_sb)
    out["deaths_non_state"][:, t] = agg(f.deaths_ns)
    civ = f.civ_state + f.civ_jnim + f.civ_issp
    out["deaths_one_sided"][:, t] = agg(civ)
    out["civilians_killed_by_state_side"][:, t] = agg(f.civ_state)
    out["civilians_killed_by_jnim"][:, t] = agg(f.civ_jnim)
    out["civilians_killed_by_issp"][:, t] = agg(f.civ_issp)
    total = f.deaths_total()
    out["deaths_total"][:, t] = agg(total)
    out["state_losses"][:, t] = f.state_losses_k
    for code, name in ((1, "state"), (2, "jnim"), (3, "issp"), (0, "contested")):
        out[f"territory_{name}"][:, t] = agg((s.hold == code) * area[None, :]) / area_k
    out["idps"][:, t] = agg(s.idp)
    out["refugees"][:, t] = s.refugees
    out["displaced_new"][:, t] = agg(f.displaced_new)
    out["fighters_jnim"][:, t] = agg(s.jnim)
    out["fighters_issp"][:, t] = agg(s.issp)
    out["state_forces"][:, t] = s.pool
    out["militia"][:, t] = s.militia
    out["russia"][:, t] = s.russia
    out["joint_force"][:, t] = s.joint
    out["legitimacy"][:, t] = s.legitimacy
    out["dependency"][:, t] = s.dependency
    out["external_constraint"][:, t] = s.external
    out["coups"][:, t] = s.coups
    out["accords"][:, t] = agg(s.accord)
    out["governance_jnim"][:, t] = agg(s.gov * area[None, :]) / area_k
    out["services"][:, t] = agg(s.services * area[None, :]) / area_k
    src = {"deaths": total, "hold": s.hold, "jnim": s.jnim, "issp": s.issp, "idp": s.idp,
           "civilian_deaths": civ}  # fmt: skip
    for v, arr in cells.items():
        arr[:, t] = src[v]


def _dataset(space, drivers, ids, out, cells, people0, people, s, seed, params) -> xr.Dataset:
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
    data = {v: (("member", "month", "country"), arr, {"description": COUNTRY_VARS[v]})
            for v, arr in out.items()}  # fmt: skip
    for v, arr in cells.items():
        data[f"cell_{v}"] = (("member", "month", "cell"), arr)
    data["people_initial_plus_growth"] = (("member",), people0 + s.growth_cum)
    data["people_accounted"] = (("member",), people)
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
