"""Likelihood-free Bayesian calibration of the model: the ABC-SMC sampler.

The algorithm is the adaptive ABC-SMC of Del Moral, Doucet & Jasra (2012) with a Metropolis-
Hastings move: generation 0 samples the priors; each later generation sets its tolerance to the
``alpha`` quantile of the current distances (the particles within it keep weight 1, the others
0: that count is the effective sample size), resamples the survivors back to N, and moves every
particle ``moves`` times with a Gaussian random walk (twice the population covariance,
reflected at the prior bounds), accepting a move when its distance is within the tolerance (a
uniform prior and a symmetric proposal make that the MH rule). It stops when the move
acceptance falls below ``min_acceptance`` (the tolerance has stopped buying anything) or the
simulation budget is spent. Population Monte Carlo's importance weights, used before,
degenerated with 25 parameters (an effective sample size of 4 after one generation). The model evaluates a whole batch of particles in one ensemble
call (one member per particle, its own parameter row), which is why the sampler is ours rather
than pyABC's (see ``docs/decisions.md``); it is tested against an analytic posterior.

Estimator shape: ``Calibrator(settings...).fit(observed)`` sets ``posterior_`` (particles and
weights) and ``diagnostics_`` (tolerances, acceptance rates, simulations, time). With
``backend=`` each batch of particles is split into chunks on that backend
(:class:`~sahelsim.inference.history.ChunkedSimulator`): the same statistics, hence the same
posterior, as in this process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahelsim.core.backend import Backend
from sahelsim.inference.history import ChunkedSimulator, HistorySimulator, Simulator, history_setup
from sahelsim.inference.observe import observed_country_year, summary_vector
from sahelsim.model.params import SPECS
from sahelsim.model.space import Space
from sahelsim.scenarios.posterior import Posterior

log = logging.getLogger(__name__)

#: Parameters calibrated by default (the others keep their sourced defaults).
CALIBRATED = (
    "recruit_base", "attrition", "engage_rate", "kill_state_on_ins", "kill_ins_on_state",
    "jnim_issp_clash", "harm_state", "harm_jnim", "harm_issp", "massacre_rate",
    "flee_per_death", "flee_control", "move_frac", "scale_jnim", "scale_issp", "scale_lake",
    "split_size", "split_rate", "reach", "presence_min", "admin_presence", "militia_weight",
    "recruit_grievance", "recruit_services", "idp_return", "abroad_share",
    "militia_mobilisation", "issp_recruit_factor", "recruitable_share", "flight_range",
    "bud_home", "home_range",
)  # fmt: skip
_SPEC = {s.name: s for s in SPECS}


class Calibrator:
    """ABC-SMC calibration. Settings only in ``__init__``; ``fit`` does the work."""

    def __init__(
        self,
        *,
        params: tuple[str, ...] = CALIBRATED,
        n_particles: int = 300,
        generations: int = 5,
        alpha: float = 0.5,
        moves: int = 2,
        batch: int | None = None,
        max_simulations: int = 20_000,
        min_acceptance: float = 0.02,
        years: tuple[int, int] = (2012, 2023),
        seed: int = 0,
        simulator: Simulator | None = None,
        data_dir: Path | None = None,
        synthetic: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
        backend: Backend | None = None,
        space: Space | None = None,
        monthly_years: tuple[int, ...] = (),
        territory: bool = False,
    ) -> None:
        self.params = tuple(params)
        self.monthly_years = tuple(int(y) for y in monthly_years)
        self.territory = bool(territory)
        self.n_particles = n_particles
        self.generations = generations
        self.alpha = alpha
        self.moves = int(moves)
        self.batch = batch
        self.max_simulations = max_simulations
        self.min_acceptance = min_acceptance
        self.years = years
        self.seed = seed
        self.simulator = simulator
        self.data_dir = data_dir
        self.synthetic = synthetic
        self.progress = progress
        self.backend = backend
        self.space = space

    # -- priors -------------------------------------------------------------------------
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([_SPEC[n].lo for n in self.params])
        hi = np.array([_SPEC[n].hi for n in self.params])
        return lo, hi

    # -- the model as a batch simulator ----------------------------------------------------
    def batch_simulator(self) -> HistorySimulator:
        """The model's batch simulator for these settings (``years``, ``seed``, the grid of
        ``space`` or ``data_dir``/``synthetic``), in this process."""
        space, drivers = history_setup(self.years, self.data_dir, self.synthetic, self.space)
        return HistorySimulator(space, drivers, self.params, self.years, self.seed,
                                self.monthly_years, self.territory)  # fmt: skip

    def _simulator(self) -> Simulator:
        """``simulator`` (or the model's), split into chunks of particles on ``backend``."""
        sim = self.simulator or self.batch_simulator()
        return sim if self.backend is None else ChunkedSimulator(sim, self.backend)

    # -- fit ------------------------------------------------------------------------------
    def fit(self, observed: pd.DataFrame | np.ndarray) -> Calibrator:
        t0 = time.perf_counter()
        years = list(range(self.years[0], self.years[1] + 1))
        s_obs = (
            np.asarray(observed, dtype=float)
            if isinstance(observed, np.ndarray)
            else summary_vector(
                observed_country_year(observed) if "deaths_state_based" in observed else observed,
                years,
            )
        )
        keep = np.isfinite(s_obs)
        sim = self._simulator()
        lo, hi = self._bounds()
        p = len(self.params)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(999,)))
        N = self.n_particles
        next_member = 0
        n_sims = 0
        diag: dict[str, Any] = {"epsilon": [], "acceptance": [], "ess": [], "unique": [],
                                "simulations": [], "seconds": []}  # fmt: skip

        def run(theta: np.ndarray) -> np.ndarray:
            nonlocal next_member, n_sims
            ids = np.arange(next_member, next_member + theta.shape[0])
            next_member += theta.shape[0]
            n_sims += theta.shape[0]
            return sim(theta, ids)

        # generation 0: the prior
        theta = lo + (hi - lo) * rng.random((N, p))
        stats = run(theta)
        scale = _mad(stats[:, keep])
        dist = _distance(stats[:, keep], s_obs[keep], scale)
        w = np.full(N, 1.0 / N)
        eps = float("inf")
        diag["epsilon"].append(eps)
        diag["acceptance"].append(1.0)
        diag["ess"].append(N)
        diag["unique"].append(N)
        diag["simulations"].append(n_sims)
        diag["seconds"].append(time.perf_counter() - t0)
        for g in range(1, self.generations + 1):
            eps = float(np.quantile(dist, self.alpha))
            alive = np.nonzero(dist <= eps)[0]
            ess = int(alive.size)  # the population re-weighted to the new tolerance
            idx = rng.choice(alive, size=N)
            theta, dist = theta[idx], dist[idx]
            cov = 2.0 * np.atleast_2d(np.cov(theta.T)) + 1e-12 * np.eye(p)
            chol = np.linalg.cholesky(cov)
            moved = 0
            for _ in range(self.moves):
                prop = _reflect(theta + rng.standard_normal((N, p)) @ chol.T, lo, hi)
                d = _distance(run(prop)[:, keep], s_obs[keep], scale)
                ok = d <= eps  # Metropolis-Hastings: uniform prior, symmetric proposal
                theta = np.where(ok[:, None], prop, theta)
                dist = np.where(ok, d, dist)
                moved += int(ok.sum())
                if self.progress:
                    self.progress(f"generation {g}", moved, N * self.moves)
            rate = moved / (N * self.moves)
            unique = int(np.unique(theta, axis=0).shape[0])
            diag["epsilon"].append(eps)
            diag["acceptance"].append(rate)
            diag["ess"].append(ess)
            diag["unique"].append(unique)
            diag["simulations"].append(n_sims)
            diag["seconds"].append(time.perf_counter() - t0)
            log.info("generation %d: eps %.4f, ESS %d, move acceptance %.3f, %d unique, "
                     "%d simulations", g, eps, ess, rate, unique, n_sims)  # fmt: skip
            if rate < self.min_acceptance or n_sims >= self.max_simulations:
                break
        w = np.full(N, 1.0 / N)
        self.posterior_ = Posterior(self.params, theta, w / w.sum())
        self.diagnostics_ = diag | {
            "n_simulations": n_sims,
            "wall_seconds": time.perf_counter() - t0,
            "final_distances": dist.tolist(),
            "n_statistics": int(keep.sum()),
            "years": list(self.years),
        }
        self.observed_ = s_obs
        self.scale_ = scale
        return self


def _mad(x: np.ndarray) -> np.ndarray:
    med = np.median(x, axis=0)
    return np.maximum(1.4826 * np.median(np.abs(x - med), axis=0), 1.0)


def _distance(stats: np.ndarray, obs: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(((stats - obs) / scale) ** 2, axis=1))


def _reflect(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Reflect proposals back into the box [lo, hi] (a symmetric random walk on the box)."""
    u = np.mod((x - lo) / np.maximum(hi - lo, 1e-300), 2.0)
    return lo + (hi - lo) * np.where(u > 1.0, 2.0 - u, u)
