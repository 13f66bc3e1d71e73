"""What a mechanism sees in one step: the space, parameters, this month's drivers, this
month's uniforms and the month's flows (deaths, movements) as they accumulate."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .drivers import MonthDrivers
from .params import Params
from .rng import CS, S
from .space import Space


@dataclass
class Flows:
    """Per-month quantities produced by the mechanisms, (members, cells) unless noted."""

    state_cell: np.ndarray  # national forces present (garrison + operations)
    militia_cell: np.ndarray
    russia_cell: np.ndarray
    extra_cell: np.ndarray  # joint force + intervention force present
    op: np.ndarray  # 1 where a clearing operation ran this month
    deaths_sb: np.ndarray  # state-based (UCDP type 1)
    deaths_ns: np.ndarray  # non-state (type 2)
    civ_state: np.ndarray  # one-sided (type 3) by state-side forces (army, militia, Russians)
    civ_jnim: np.ndarray  # one-sided by JNIM
    civ_issp: np.ndarray  # one-sided by ISSP
    insurgent_losses: np.ndarray
    displaced_new: np.ndarray  # people leaving the cell this month
    recruits: np.ndarray
    state_losses_k: np.ndarray  # (M, K)
    coup_k: np.ndarray  # (M, K) 1 where a coup happened
    expansion: np.ndarray  # (M,) 1 where alliance expansion passed unanimity

    @classmethod
    def zeros(cls, m: int, c: int, k: int) -> Flows:
        z = lambda: np.zeros((m, c))  # noqa: E731
        return cls(
            z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), z(), z(),
            np.zeros((m, k)), np.zeros((m, k)), np.zeros(m),
        )  # fmt: skip

    def deaths_total(self) -> np.ndarray:
        return self.deaths_sb + self.deaths_ns + self.civ_state + self.civ_jnim + self.civ_issp


@dataclass
class Ctx:
    space: Space
    p: Params
    d: MonthDrivers
    u_cell: np.ndarray  # (streams, M, C)
    u_ctry: np.ndarray  # (country streams, M, K)
    flows: Flows
    onehot: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (C, K)
    agg: sp.csr_matrix | None = None  # (K, C) sparse sum over each country's cells

    def u(self, name: str) -> np.ndarray:
        return self.u_cell[S[name]]

    def uk(self, name: str) -> np.ndarray:
        return self.u_ctry[CS[name]]

    def lever(self, name: str) -> np.ndarray:
        """This month's lever value per country (K,)."""
        return self.d.lever[name]

    def by_cell(self, per_country: np.ndarray) -> np.ndarray:
        """Broadcast a (M, K) or (K,) country array to cells (stateless cells get 0)."""
        arr = np.asarray(per_country)
        ext = np.concatenate([arr, np.zeros((*arr.shape[:-1], 1))], axis=-1)
        return ext[..., self.space.country]  # country -1 picks the appended zero

    def to_country(self, per_cell: np.ndarray) -> np.ndarray:
        """Sum a (M, C) array over each country's cells → (M, K)."""
        if self.agg is None:
            self.agg = sp.csr_matrix(self.onehot.T)
        return np.asarray((self.agg @ per_cell.T).T)
