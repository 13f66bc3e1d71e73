"""Iterated filtering (IF2; Ionides, Nguyen, Atchadé, Stoev & King 2015, PNAS 112: 719) for the
model's parameters.

Each iteration is one pass of the particle filter of :mod:`sahelsim.inference.filter` over the
history, with the parameters carried by the particles and perturbed by a random walk on the
logit scale of their prior ranges before every window (sd ``rw_sd * cooling**(m - 1)`` per year
in iteration m; initial-value parameters once at the start, twice as wide) and resampled at
every observation time. The perturbations shrink geometrically, so the particle swarm
concentrates where the likelihood of the whole history is high; the final swarm is returned as a
:class:`~sahelsim.scenarios.posterior.Posterior` (equal weights; it estimates the maximum
likelihood neighbourhood, not a Bayesian posterior, which ``meta["method"]`` says).

Diagnostics per iteration: the pass's log-likelihood (convergence: it flattens), mean and
minimum effective sample size, the mean share of unique particles surviving each resampling
(the acceptance-like rate) and the parameters' means and sds. ``holdout_after`` fits on data
observed up to that month only and then scores the later data out of sample: one more pass with
the final parameters frozen over the whole record, whose log-likelihood increments after the
hold-out month are prequential log scores (each observation predicted before it is seen).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sahelsim.inference.abc import CALIBRATED
from sahelsim.inference.filter import (
    Context,
    ParamScale,
    PassResult,
    Progress,
    RandomWalk,
    filter_pass,
    initial_params,
    streams,
)
from sahelsim.inference.likelihood import ObsModel, last_month, until_month
from sahelsim.model.space import Space
from sahelsim.scenarios.posterior import Posterior

log = logging.getLogger(__name__)

#: spawn-key tag of the model seeds of IF2's passes.
MODEL_SEED_TAG = 0x1F2


def model_seed(seed: int, iteration: int) -> int:
    """The engine seed of pass ``iteration`` (a different noise stream per pass)."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(MODEL_SEED_TAG, int(iteration)))
    return int(ss.generate_state(1, np.uint32)[0])


@dataclass
class IF2Result:
    posterior: Posterior
    diagnostics: pd.DataFrame  # one row per iteration
    last_pass: PassResult
    holdout: pd.DataFrame | None  # per observation time after the hold-out month
    holdout_loglik: float | None


def run_if2(
    space: Space,
    obs: pd.DataFrame,
    *,
    particles: int = 200,
    iterations: int = 10,
    params: Sequence[str] = CALIBRATED,
    rw_sd: float = 0.3,
    cooling: float = 0.85,
    seed: int = 0,
    obs_model: ObsModel | None = None,
    holdout_after: int | None = None,
    start: Posterior | np.ndarray | None = None,
    scenario: str = "acceleration",
    progress: Progress | None = None,
) -> IF2Result:
    """IF2 over the observation table ``obs`` (all of it, or the rows observed up to
    ``holdout_after`` when given); returns the final parameter swarm as a posterior."""
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    if not (0.0 < cooling <= 1.0):
        raise ValueError(f"cooling must lie in (0, 1], got {cooling}")
    if rw_sd < 0:
        raise ValueError(f"rw_sd must be >= 0, got {rw_sd}")
    om = obs_model or ObsModel()
    ctx = Context(space, scenario)
    scale = ParamScale(tuple(params))
    fit_obs = obs if holdout_after is None else until_month(obs, holdout_after)
    end = last_month(fit_obs)
    pm = initial_params(scale, particles, streams(seed)["init"], start, seed)
    rows, last = [], None
    for m in range(1, iterations + 1):
        sd = rw_sd * cooling ** (m - 1)
        last = filter_pass(ctx, fit_obs, pm, scale, end=end, model_seed=model_seed(seed, m),
                           rngs=streams(seed, m), obs_model=om, move=RandomWalk(sd),
                           always_resample=True, progress=progress, label=f"IF2 pass {m}")  # fmt: skip
        pm = last.param_matrix
        d = last.diagnostics
        theta = pm[:, scale.cols]
        row = {"iteration": m, "rw_sd": sd, "loglik": last.loglik, "ess_mean": d["ess"].mean(),
               "ess_min": d["ess"].min(), "unique_share": (d["unique"] / particles).mean(),
               "degenerate_times": int(d["degenerate"].sum())}  # fmt: skip
        for j, name in enumerate(scale.names):
            row[f"mean_{name}"] = float(theta[:, j].mean())
            row[f"sd_{name}"] = float(theta[:, j].std())
        rows.append(row)
        log.info("IF2 iteration %d: log-likelihood %.1f, mean ESS %.0f, unique %.0f %%",
                 m, last.loglik, row["ess_mean"], 100 * row["unique_share"])  # fmt: skip
    diag = pd.DataFrame(rows)
    holdout, h_ll = None, None
    if holdout_after is not None and last_month(obs) > int(holdout_after):
        score = filter_pass(ctx, obs, pm, scale, end=last_month(obs),
                            model_seed=model_seed(seed, iterations + 1),
                            rngs=streams(seed, iterations + 1), obs_model=om, move=RandomWalk(0.0),
                            always_resample=True, progress=progress, label="IF2 hold-out")  # fmt: skip
        hd = score.diagnostics
        holdout = hd[hd["month_id"] > int(holdout_after)].reset_index(drop=True)
        h_ll = float(holdout["loglik_increment"].sum())
        log.info("IF2 hold-out after %d: prequential log score %.1f over %d times",
                 holdout_after, h_ll, len(holdout))  # fmt: skip
    theta = pm[:, scale.cols]
    post = Posterior(scale.names, theta.copy(), np.full(particles, 1.0 / particles))
    post.meta = {
        "method": "if2",
        "note": "IF2 final particle swarm (a maximum-likelihood neighbourhood, equal weights)",
        "settings": {"particles": particles, "iterations": iterations, "rw_sd": rw_sd,
                     "cooling": cooling, "seed": seed, "params": list(scale.names),
                     "holdout_after": holdout_after, "fit_until": end,
                     "obs_model": om.as_dict(), "scenario": scenario},
        "diagnostics": {"loglik": diag["loglik"].tolist(), "ess_mean": diag["ess_mean"].tolist(),
                        "unique_share": diag["unique_share"].tolist(),
                        "holdout_loglik": h_ll},
    }  # fmt: skip
    assert last is not None
    return IF2Result(post, diag, last, holdout, h_ll)
