"""Ensemble Kalman analysis of the displaced-people stocks inside the particle filter
(:mod:`sahelsim.inference.filter`): a stock is moved towards its observation in the state
itself instead of by reweighting (why: ``docs/decisions.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sahelsim.inference.likelihood import ObsModel
from sahelsim.model.space import Space
from sahelsim.model.state import State

#: Largest inflation factor of the ensemble variance in the stocks' Kalman analysis.
INFLATION_MAX = 100.0


def enkf_stocks(rows: pd.DataFrame, sim: np.ndarray, w: np.ndarray, state: State, space: Space,
                model: ObsModel, rng: np.random.Generator) -> tuple[np.ndarray, float]:  # fmt: skip
    """Ensemble Kalman analysis of displaced-people stocks (one row per country), in place on
    ``state``: on the log scale of the observation model, x_i = log(sim_i + floor) moves to
    x_i + K (y + e_i - x_i) with K = v / (v + sigma^2), v the weighted ensemble variance and
    e_i ~ N(0, sigma^2) (perturbed observations; Evensen 1994, Burgers et al. 1998); the
    member's displaced people are rescaled to match (:meth:`State.rescale_displaced`).
    A stock is a slowly accumulated quantity that reweighting alone cannot move: particles
    off by a factor of two all get near-zero weight and the ensemble collapses onto the few
    nearest. The ensemble's spread is inflated adaptively first (see the code). Returns the
    analysed stocks (particles, rows) and the log predictive density of the rows under the
    ensemble's (uninflated) Gaussian on the log scale."""
    f, sd = model.idp_floor, model.idp_sigma
    out = sim.copy()
    x0 = np.log(np.maximum(sim, 0.0) + f)
    total = 0.0
    for j, r in enumerate(rows.itertuples(index=False)):
        k = space.countries.index(r.iso3)
        x = x0[:, j]
        y = float(np.log(max(float(r.value), 0.0) + f))
        mean = float(w @ x)
        var = max(float(w @ (x - mean) ** 2), 1e-12)
        # adaptive multiplicative inflation: the ensemble spread is widened until it explains
        # the innovation, (y - mean)^2 ~ lam var + sigma^2 (Li, Kalnay & Miyoshi 2009); a
        # filtered ensemble is over-confident about a stock it never saw move
        lam = float(np.clip(((y - mean) ** 2 - sd * sd) / var, 1.0, INFLATION_MAX))
        x = mean + np.sqrt(lam) * (x - mean)
        var *= lam
        gain = var / (var + sd * sd)
        xa = x + gain * (y + sd * rng.standard_normal(x.size) - x)
        target = np.maximum(np.exp(xa) - f, 0.0)
        have = np.maximum(sim[:, j], 0.0)
        factor = np.where(have > 0, target / np.where(have > 0, have, 1.0), 1.0)
        delta = state.rescale_displaced(space.country, k, factor)
        out[:, j] = have + delta
        s2 = var / lam + sd * sd
        total += -0.5 * (y - mean) ** 2 / s2 - 0.5 * np.log(2 * np.pi * s2) - y
    return out, float(total)
