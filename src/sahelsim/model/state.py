"""Model state: packed arrays with the ensemble as the leading axis.

``cells`` has shape (members, N_CELL_FIELDS, cells), ``ctry`` (members, N_CTRY_FIELDS,
countries), ``growth_cum`` (members,). Named views (``state.jnim`` is ``cells[:, JNIM, :]``,
shape (members, cells)) give the readable interface; the compiled kernels index the packed
arrays with the enums of :mod:`sahelsim.model.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sahelsim.model.fields_table import HOLD_CODES as HOLD_CODES
from sahelsim.model.layout import CELL_NAMES, CTRY_NAMES, N_CELL_FIELDS, N_CTRY_FIELDS, Cell, Ctry
from sahelsim.model.params import Params
from sahelsim.model.space import Space


@dataclass
class State:
    cells: np.ndarray  # (M, N_CELL_FIELDS, C) float64
    ctry: np.ndarray  # (M, N_CTRY_FIELDS, K) float64
    growth_cum: np.ndarray  # (M,) people added by population growth since the start

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
        if st.cells.shape[1] != N_CELL_FIELDS or st.ctry.shape[1] != N_CTRY_FIELDS:
            raise ValueError(f"{path}: state written by another model layout")
        return st

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


def initial_state(space: Space, params: Params, members: int) -> State:
    """Initial state from data (population) and sourced priors (force and fighter sizes).

    Insurgents start where the conflict started: JNIM's precursors in the remote cells of Mali,
    ISSP's on the Mali-Niger border (weights: remoteness from the capital to the power
    ``init_concentration`` times sqrt(population density)), scaled so the totals equal the priors ``jnim_fighters0`` and
    ``issp_fighters0``. Militias start at a tenth of their prior (they grew with the war).
    Every member starts from the same state; randomness enters with the dynamics.
    """
    C, K, M = space.n_cells, space.n_countries, members
    p = params
    dens = space.pop0 / np.maximum(space.area_km2, 1.0)
    remote = space.remoteness()
    mli = space.country == space.countries.index("MLI")
    ner = space.country == space.countries.index("NER")
    conc = p.init_concentration
    w_j = np.where(mli, remote**conc * np.sqrt(dens + 1), 0.0)
    w_i = np.where(ner | mli, remote**conc * np.sqrt(dens + 1), 0.0) * np.where(ner, 1.0, 0.3)
    rank = dens.argsort().argsort() / max(C - 1, 1)
    services0 = np.where(space.core, 0.25 + 0.5 * rank, 0.5 + 0.3 * rank)
    services0 = np.where(space.urban, 0.9, services0)
    cells = np.zeros((M, N_CELL_FIELDS, C))
    cells[:, Cell.JNIM] = p.jnim_fighters0 * w_j / max(w_j.sum(), 1e-12)
    cells[:, Cell.ISSP] = p.issp_fighters0 * w_i / max(w_i.sum(), 1e-12)
    cells[:, Cell.POP] = space.pop0
    cells[:, Cell.GOV] = np.where(mli, 0.2 * remote, 0.0)
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
    return State(cells, ctry, np.zeros(M))
