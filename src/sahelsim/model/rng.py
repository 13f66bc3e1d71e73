"""Reproducible randomness that does not depend on how the ensemble is split.

Member ``m`` (its global index) owns one ``numpy.random.Generator`` built from
``SeedSequence(seed, spawn_key=(m,))``; every month it draws one block of uniforms
(``STREAMS`` per cell plus ``COUNTRY_STREAMS`` per country). Running members 0-499 and 500-999
separately therefore gives exactly the numbers of one 0-999 run. Distributions are built from
these uniforms by inverse transforms, vectorised across members and cells.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

#: Named per-cell uniform streams drawn each month.
STREAMS = (
    "combat_noise", "combat_round", "harm_state_noise", "harm_state_round", "harm_jihad_noise",
    "harm_jihad_round", "massacre", "massacre_size", "accord", "recruit_noise",
)  # fmt: skip
S = {name: i for i, name in enumerate(STREAMS)}
COUNTRY_STREAMS = ("coup", "transition", "alliance")
CS = {name: i for i, name in enumerate(COUNTRY_STREAMS)}


class MemberStreams:
    """One generator per ensemble member, keyed by the member's global index."""

    def __init__(self, seed: int, members: np.ndarray) -> None:
        self.seed = int(seed)
        self.members = np.asarray(members, dtype=np.int64)
        self.gens = [
            np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(int(m),)))
            for m in self.members
        ]

    def month(self, n_cells: int, n_countries: int) -> tuple[np.ndarray, np.ndarray]:
        """Uniforms for one month: ``(cells (S, M, C), countries (CS, M, K))`` in [0, 1)."""
        n_s, n_c = len(STREAMS), len(COUNTRY_STREAMS)
        per = n_s * n_cells + n_c * n_countries
        buf = np.empty((len(self.gens), per), dtype=np.float32)
        for i, g in enumerate(self.gens):
            g.random(out=buf[i], dtype=np.float32)
        cells = buf[:, : n_s * n_cells].reshape(len(self.gens), n_s, n_cells).transpose(1, 0, 2)
        ctry = buf[:, n_s * n_cells :].reshape(len(self.gens), n_c, n_countries).transpose(1, 0, 2)
        return cells, ctry


def lognormal_factor(u: np.ndarray, sigma: float) -> np.ndarray:
    """Mean-one lognormal multiplier from uniforms (heavy right tail)."""
    z = ndtri(np.clip(u.astype(np.float64), 1e-7, 1 - 1e-7))
    return np.exp(sigma * z - 0.5 * sigma * sigma)


def stochastic_round(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Integer draw with the same mean as ``x`` (``floor(x + u)``)."""
    return np.floor(x + u)


def compound_count(mean: np.ndarray, u_noise: np.ndarray, u_round: np.ndarray, sigma: float):
    """Over-dispersed non-negative integer counts with the given mean: a lognormal-mixed
    intensity rounded stochastically. Variance grows with the square of the mean, as for a
    negative binomial, so single large events are possible."""
    return stochastic_round(np.maximum(mean, 0.0) * lognormal_factor(u_noise, sigma), u_round)


def pareto(u: np.ndarray, x_min: float, alpha: float) -> np.ndarray:
    """Pareto sizes ``x_min * u**(-1/alpha)`` (u in (0, 1])."""
    return x_min * np.power(np.clip(1.0 - u.astype(np.float64), 1e-9, 1.0), -1.0 / alpha)
