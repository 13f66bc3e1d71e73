"""Reproducible randomness that does not depend on how the ensemble is split.

Each member ``m`` (its global index) gets a 64-bit key from
``numpy.random.SeedSequence(seed, spawn_key=(m,))``. Every uniform the model draws is a
counter-based function of (key, month, stream, cell): the SplitMix64 output for the counter
``key + φ·((month << 40) | (stream << 32) | cell)``. A member's numbers therefore depend only on
its key, never on which other members run with it or on how many threads run the ensemble,
and no random arrays need to be stored. Distributions are built by inverse transforms
(normal quantile by Acklam's rational approximation, relative error < 1.2e-9).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sahelsim.model.layout import COUNTRY_BASE

_PHI = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S40 = np.uint64(40)
_S32 = np.uint64(32)
_INV53 = 1.0 / 9007199254740992.0


def member_keys(seed: int, members: np.ndarray) -> np.ndarray:
    """One uint64 key per member from ``SeedSequence(seed, spawn_key=(member,))``."""
    return np.array(
        [np.random.SeedSequence(int(seed), spawn_key=(int(m),)).generate_state(1, np.uint64)[0]
         for m in np.asarray(members)],
        dtype=np.uint64,
    )  # fmt: skip


@njit(cache=True, inline="always")
def uniform(key: np.uint64, t: int, stream: int, idx: int) -> float:
    """U(0, 1) for (member key, month, stream, cell or COUNTRY_BASE + country)."""
    c = (np.uint64(t) << _S40) | (np.uint64(stream) << _S32) | np.uint64(idx)
    z = key + c * _PHI
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return (float(z >> _S11) + 0.5) * _INV53


@njit(cache=True)
def norm_ppf(u: float) -> float:
    """Standard normal quantile (Acklam's algorithm)."""
    a0, a1, a2 = -3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02
    a3, a4, a5 = 1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00
    b0, b1, b2 = -5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02
    b3, b4 = 6.680131188771972e01, -1.328068155288572e01
    c0, c1, c2 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00
    c3, c4, c5 = -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00
    d0, d1, d2, d3 = (
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e00,
        3.754408661907416e00,
    )
    plow = 0.02425
    if u < plow:
        q = math.sqrt(-2.0 * math.log(u))
        return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / (
            (((d0 * q + d1) * q + d2) * q + d3) * q + 1.0
        )
    if u > 1.0 - plow:
        q = math.sqrt(-2.0 * math.log(1.0 - u))
        return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / (
            (((d0 * q + d1) * q + d2) * q + d3) * q + 1.0
        )
    q = u - 0.5
    r = q * q
    return (
        (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5)
        * q
        / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0)
    )


@njit(cache=True, inline="always")
def lognormal_factor(u: float, sigma: float) -> float:
    """Mean-one lognormal multiplier from a uniform (heavy right tail)."""
    return math.exp(sigma * norm_ppf(u) - 0.5 * sigma * sigma)


@njit(cache=True, inline="always")
def compound_count(mean: float, u_noise: float, u_round: float, sigma: float) -> float:
    """Over-dispersed count with the given mean: lognormal-mixed intensity, stochastically
    rounded (variance grows with the square of the mean, as for a negative binomial)."""
    if mean <= 0.0:
        return 0.0
    return math.floor(mean * lognormal_factor(u_noise, sigma) + u_round)


@njit(cache=True, inline="always")
def pareto(u: float, x_min: float, alpha: float) -> float:
    """Pareto size ``x_min * (1 - u) ** (-1 / alpha)``."""
    return x_min * max(1.0 - u, 1e-12) ** (-1.0 / alpha)


@njit(cache=True, inline="always")
def country_idx(k: int) -> int:
    return COUNTRY_BASE + k
