"""Model state: packed arrays with the ensemble as the leading axis.

``cells`` has shape (members, N_CELL_FIELDS, cells), ``ctry`` (members, N_CTRY_FIELDS,
countries), ``growth_cum`` (members,). Named views (``state.jnim`` is ``cells[:, JNIM, :]``,
shape (members, cells)) give the readable interface; the compiled kernels index the packed
arrays with the enums of :mod:`sahelsim.model.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sahelsim.core.canon import month_id
from sahelsim.model.fields_table import GROUPS
from sahelsim.model.fields_table import HOLD_CODES as HOLD_CODES
from sahelsim.model.layout import (
    CELL_NAMES,
    CORE,
    CTRY_NAMES,
    MAX_UNITS,
    N_CELL_FIELDS,
    N_CTRY_FIELDS,
    N_UNIT_FIELDS,
    Cell,
    Ctry,
    Unit,
)
from sahelsim.model.params import Params
from sahelsim.model.space import Space


@dataclass
class State:
    cells: np.ndarray  # (M, N_CELL_FIELDS, C) float64
    ctry: np.ndarray  # (M, N_CTRY_FIELDS, K) float64
    growth_cum: np.ndarray  # (M,) people added by population growth since the start
    units: np.ndarray  # (M, N_UNIT_FIELDS, MAX_UNITS) float64: the insurgent units

    def copy(self) -> State:
        return State(**{k: v.copy() for k, v in self.arrays().items()})

    def arrays(self) -> dict[str, np.ndarray]:
        """The packed arrays by name (every array has the member axis first)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def take(self, index: np.ndarray) -> State:
        """The members at ``index`` (a resampling: indices may repeat), as a new state."""
        idx = np.asarray(index, dtype=np.int64)
        return State(**{k: np.ascontiguousarray(v[idx]) for k, v in self.arrays().items()})

    def save(self, path) -> None:
        """Write the state to ``path`` (``.npz``; the caller makes the write atomic)."""
        np.savez_compressed(path, **self.arrays())

    @classmethod
    def load(cls, path) -> State:
        """Read a state written by :meth:`save`; raises ValueError if the layout differs."""
        with np.load(path) as z:
            names = [f.name for f in fields(cls)]
            missing = [n for n in names if n not in z.files]
            if missing:
                raise ValueError(f"{path}: state file lacks {missing}")
            st = cls(**{n: z[n] for n in names})
        if (st.cells.shape[1] != N_CELL_FIELDS or st.ctry.shape[1] != N_CTRY_FIELDS
                or st.units.shape[1:] != (N_UNIT_FIELDS, MAX_UNITS)):  # fmt: skip
            raise ValueError(f"{path}: state written by another model layout")
        return st

    def rescale_displaced(self, country: np.ndarray, k: int, factor: np.ndarray) -> np.ndarray:
        """An assimilation's analysis increment: multiply member m's displaced people hosted in
        the cells of country ``k`` (``country``: the space's cell -> country index) by
        ``factor[m]``, in place. The people added are taken from the country's residents, and
        the people removed return to them, in proportion to where residents live, so
        :meth:`people` is unchanged; no more than half the residents move. Returns the change
        in the country's displaced people per member."""
        cells = np.nonzero(np.asarray(country) == k)[0]
        f = np.asarray(factor, dtype=float)
        if f.shape != (self.members,) or not np.all(np.isfinite(f)) or np.any(f < 0):
            raise ValueError(f"factor must be {self.members} finite non-negative numbers")
        idp = self.cells[:, Cell.IDP][:, cells]
        pop = np.maximum(self.cells[:, Cell.POP][:, cells], 0.0)
        total = idp.sum(axis=1)
        delta = np.minimum(total * (f - 1.0), 0.5 * pop.sum(axis=1))
        scale = np.where(total > 0, (total + delta) / np.where(total > 0, total, 1.0), 1.0)
        share = pop / np.maximum(pop.sum(axis=1, keepdims=True), 1e-12)
        self.cells[:, Cell.IDP, cells] = idp * scale[:, None]
        self.cells[:, Cell.POP, cells] = pop - delta[:, None] * share
        return delta

    @property
    def members(self) -> int:
        return int(self.cells.shape[0])

    def people(self) -> np.ndarray:
        """Residents + displaced + refugees + civilian dead, per member (people)."""
        c = self.cells
        return (c[:, Cell.POP].sum(1) + c[:, Cell.IDP].sum(1) + c[:, Cell.DEAD_CIV].sum(1)
                + self.ctry[:, Ctry.REFUGEES].sum(1))  # fmt: skip


def _cell_view(i: int) -> property:
    return property(lambda self: self.cells[:, i, :], doc=f"cells[:, {i}, :]")


def _ctry_view(i: int) -> property:
    return property(lambda self: self.ctry[:, i, :], doc=f"ctry[:, {i}, :]")


for _i, _n in enumerate(CELL_NAMES):
    setattr(State, _n, _cell_view(_i))
for _i, _n in enumerate(CTRY_NAMES):
    setattr(State, _n, _ctry_view(_i))


def unit_slots(space: Space, start_month: int) -> np.ndarray:
    """The unit table every member starts with (N_UNIT_FIELDS, MAX_UNITS): for each group of
    :data:`~sahelsim.model.fields_table.GROUPS`, ``units`` slots homed in the core cells nearest
    its anchors (in turn), pending until ``max(group start, start_month)``, with the group's
    founding strength split evenly (the compiled kernel multiplies it by the member's
    ``scale_<side>`` when the unit appears). The remaining slots are free."""
    units = np.zeros((N_UNIT_FIELDS, MAX_UNITS))
    units[Unit.CELL] = -1.0
    units[Unit.START] = -1.0
    core = np.isin(space.country, [space.countries.index(c) for c in CORE])
    cand = np.nonzero(core)[0]
    u = 0
    for g_i, g in enumerate(GROUPS):
        y, m = (int(x) for x in g.start.split("-"))
        start = max(int(month_id(y, m)), int(start_month))
        for j in range(g.units):
            if u >= MAX_UNITS:
                raise ValueError(f"more founding units than MAX_UNITS={MAX_UNITS}")
            lat, lon, iso = g.anchors[j % len(g.anchors)]
            own = cand[space.country[cand] == space.countries.index(iso)] if (
                iso in space.countries) else cand  # fmt: skip
            own = own if own.size else cand
            home = own[np.argmin(np.hypot(space.lat[own] - lat, space.lon[own] - lon))]
            units[:, u] = 0.0
            units[Unit.GROUP, u] = g_i
            units[Unit.CELL, u] = -1.0
            units[Unit.STRENGTH, u] = g.strength / g.units
            units[Unit.HOME, u] = home
            units[Unit.START, u] = start
            u += 1
    return units


def initial_state(
    space: Space, params: Params, members: int, start_month: int = int(month_id(2012, 1))
) -> State:
    """Initial state from data (population) and sourced priors (force sizes, the armed groups).

    The armed groups start as pending units (:func:`unit_slots`): they appear at their
    documented home areas and months (the 2012 northern Malian movements at once; Katiba Macina,
    IS Sahel, the Lake Chad front and Ansarul Islam later). State services start from population
    density: ``clip(0.2 + 0.3 * log10(people per km2), 0.02, 0.95)``, 0.95 in urban cores, so
    the sparsely peopled desert has next to no administration. Militias start at a tenth of
    their prior (they grew with the war). Every member starts from the same state; randomness
    enters with the dynamics.
    """
    C, K, M = space.n_cells, space.n_countries, members
    p = params
    dens = space.pop0 / np.maximum(space.area_km2, 1.0)
    services0 = np.clip(0.2 + 0.3 * np.log10(np.maximum(dens, 1e-3)), 0.02, 0.95)
    services0 = np.where(space.urban, 0.95, services0)
    cells = np.zeros((M, N_CELL_FIELDS, C))
    cells[:, Cell.POP] = space.pop0
    cells[:, Cell.SERVICES] = services0
    cells[:, Cell.SHARE_STATE] = 1.0
    cells[:, Cell.HOLD] = 1.0
    ctry = np.zeros((M, N_CTRY_FIELDS, K))
    for name, force, mil in (("MLI", p.force_mli, p.militia_mli),
                             ("BFA", p.force_bfa, p.militia_bfa),
                             ("NER", p.force_ner, p.militia_ner)):  # fmt: skip
        k = space.countries.index(name)
        ctry[:, Ctry.POOL, k] = force
        ctry[:, Ctry.MILITIA, k] = mil * 0.1
    ctry[:, Ctry.LEGITIMACY] = 0.5
    ctry[:, Ctry.EXTERNAL] = 0.8
    units = np.ascontiguousarray(np.broadcast_to(unit_slots(space, start_month),
                                                 (M, N_UNIT_FIELDS, MAX_UNITS)))  # fmt: skip
    return State(cells, ctry, np.zeros(M), units.copy())
