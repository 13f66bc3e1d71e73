"""Likelihood-free Bayesian calibration of the model: the ABC-SMC sampler.

The algorithm is ABC population Monte Carlo (Beaumont, Cornuet, Marin & Robert 2009, with the
adaptive thresholds of Del Moral et al. 2012): generation 0 samples the priors; each later
generation sets its tolerance to the ``alpha`` quantile of the previous generation's accepted
distances, proposes particles by perturbing the weighted previous population with a Gaussian
kernel (twice the weighted covariance), keeps those within tolerance, and re-weights them by
prior / sum(weight x kernel). The model evaluates a whole batch of particles in one ensemble
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
from scipy.special import logsumexp

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
    "flee_per_death", "flee_control", "move_frac", "jnim_fighters0", "issp_fighters0",
    "init_concentration", "recruit_grievance", "recruit_services", "idp_return", "abroad_share",
    "militia_mobilisation",
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
    ) -> None:
        self.params = tuple(params)
        self.n_particles = n_particles
        self.generations = generations
        self.alpha = alpha
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
        return HistorySimulator(space, drivers, self.params, self.years, self.seed)

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
        batch = self.batch or max(N, 1)
        next_member = 0
        n_sims = 0
        diag: dict[str, Any] = {"epsilon": [], "acceptance": [], "simulations": [], "seconds": []}

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
        diag["simulations"].append(n_sims)
        diag["seconds"].append(time.perf_counter() - t0)
        for g in range(1, self.generations + 1):
            eps = float(np.quantile(dist, self.alpha))
            cov = 2.0 * np.atleast_2d(np.cov(theta.T, aweights=w)) + 1e-12 * np.eye(p)
            chol = np.linalg.cholesky(cov)
            new_t, new_d, tried = [], [], 0
            while sum(len(x) for x in new_t) < N and n_sims < self.max_simulations:
                prop = np.zeros((0, p))
                for _ in range(50):  # proposals inside the prior's support, a full batch
                    idx = rng.choice(N, size=4 * batch, p=w)
                    cand = theta[idx] + rng.standard_normal((4 * batch, p)) @ chol.T
                    cand = cand[np.all((cand >= lo) & (cand <= hi), axis=1)]
                    prop = np.concatenate([prop, cand])[:batch]
                    if prop.shape[0] == batch:
                        break
                if prop.shape[0] == 0:
                    break
                st = run(prop)
                d = _distance(st[:, keep], s_obs[keep], scale)
                tried += prop.shape[0]
                ok = d <= eps
                new_t.append(prop[ok])
                new_d.append(d[ok])
                if self.progress:
                    self.progress(f"generation {g}", min(sum(len(x) for x in new_t), N), N)
            acc_t = np.concatenate(new_t) if new_t else np.zeros((0, p))
            acc_d = np.concatenate(new_d) if new_d else np.zeros(0)
            rate = acc_t.shape[0] / max(tried, 1)
            if acc_t.shape[0] < max(10, N // 10):
                log.warning("generation %d accepted only %d particles; stopping", g, acc_t.shape[0])
                break
            acc_t, acc_d = acc_t[:N], acc_d[:N]
            w = _weights(acc_t, theta, w, cov)
            theta, dist = acc_t, acc_d
            N_eff = 1.0 / np.sum(w**2)
            diag["epsilon"].append(eps)
            diag["acceptance"].append(rate)
            diag["simulations"].append(n_sims)
            diag["seconds"].append(time.perf_counter() - t0)
            log.info("generation %d: eps %.4f, acceptance %.3f, ESS %.0f, %d simulations",
                     g, eps, rate, N_eff, n_sims)  # fmt: skip
            if rate < self.min_acceptance or n_sims >= self.max_simulations:
                break
            N = theta.shape[0]
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


def _weights(new: np.ndarray, old: np.ndarray, w_old: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """ABC-PMC importance weights under a uniform prior: 1 / sum_j w_j K(new | old_j)."""
    inv = np.linalg.inv(cov)
    diff = new[:, None, :] - old[None, :, :]
    m = np.einsum("ijk,kl,ijl->ij", diff, inv, diff)
    logk = -0.5 * m
    lw = -logsumexp(logk + np.log(np.maximum(w_old, 1e-300))[None, :], axis=1)
    lw -= lw.max()
    w = np.exp(lw)
    return w / w.sum()
