"""Likelihood-free Bayesian calibration of the model (ABC-SMC) against country-year data.

The algorithm is ABC population Monte Carlo (Beaumont, Cornuet, Marin & Robert 2009, with the
adaptive thresholds of Del Moral et al. 2012): generation 0 samples the priors; each later
generation sets its tolerance to the ``alpha`` quantile of the previous generation's accepted
distances, proposes particles by perturbing the weighted previous population with a Gaussian
kernel (twice the weighted covariance), keeps those within tolerance, and re-weights them by
prior / sum(weight x kernel). The model evaluates a whole batch of particles in one ensemble
call (one member per particle, its own parameter row), which is why the sampler is ours rather
than pyABC's (see ``docs/decisions.md``); it is tested against an analytic posterior.

Estimator shape: ``Calibrator(settings...).fit(observed)`` sets ``posterior_`` (particles and
weights) and ``diagnostics_`` (tolerances, acceptance rates, simulations, time).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from sahelsim.core.canon import month_id
from sahelsim.inference.observe import observed_country_year, simulated_country_year, summary_vector
from sahelsim.scenarios.posterior import (  # noqa: F401  (re-exported)
    POSTERIOR_FILE,
    POSTERIOR_VERSION,
    Posterior,
    load_posterior,
)

log = logging.getLogger(__name__)

#: Parameters calibrated by default (the others keep their sourced defaults).
CALIBRATED = (
    "recruit_base", "attrition", "engage_rate", "kill_state_on_ins", "kill_ins_on_state",
    "jnim_issp_clash", "harm_state", "harm_jnim", "harm_issp", "massacre_rate",
    "flee_per_death", "flee_control", "move_frac", "jnim_fighters0", "issp_fighters0",
    "init_concentration", "recruit_grievance", "recruit_services", "idp_return", "abroad_share",
    "militia_mobilisation",
)  # fmt: skip
Simulator = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (theta (B, p), member ids) -> stats


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

    # -- priors -------------------------------------------------------------------------
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        from sahelsim.model.params import SPEC_BY_NAME

        lo = np.array([SPEC_BY_NAME[n].lo for n in self.params])
        hi = np.array([SPEC_BY_NAME[n].hi for n in self.params])
        return lo, hi

    # -- the model as a batch simulator ----------------------------------------------------
    def _default_simulator(self) -> Simulator:
        from sahelsim.model.engine import Record, simulate
        from sahelsim.model.params import SPECS, Params

        space, drivers = history_setup(self.years, self.data_dir, self.synthetic)
        base = Params.default()
        cols = [next(i for i, s in enumerate(SPECS) if s.name == n) for n in self.params]
        years = list(range(self.years[0], self.years[1] + 1))

        def sim(theta: np.ndarray, members: np.ndarray) -> np.ndarray:
            pm = np.broadcast_to(base.vector(), (theta.shape[0], len(SPECS))).copy()
            pm[:, cols] = theta
            ds = simulate(space, base, drivers, members=members, seed=self.seed,
                          record=Record(cells=()), param_matrix=pm)  # fmt: skip
            return summary_vector(simulated_country_year(ds), years)

        return sim

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
        sim = self.simulator or self._default_simulator()
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


def data_hash(observed: np.ndarray, ledger: pd.DataFrame | None = None) -> str:
    """sha256 of the observed summary statistics and the source files they came from."""
    h = hashlib.sha256(np.round(np.nan_to_num(observed, nan=-1.0), 6).tobytes())
    if ledger is not None and len(ledger):
        for s in sorted(ledger["sha256"].astype(str)):
            h.update(s.encode())
    return h.hexdigest()


def attrition_report(post: Posterior) -> str:
    """Plain statement of what the posterior says about monthly attrition and recruitment."""
    sm = post.summary().set_index("parameter")
    out = []
    for name, label in (
        ("attrition", "attrition (1/month)"),
        ("recruit_base", "base recruitment (1/month)"),
    ):
        if name in sm.index:
            r = sm.loc[name]
            out.append(f"{label}: median {r.q50:.4f}, 50 % {r.q25:.4f}-{r.q75:.4f}, "
                       f"90 % {r.q05:.4f}-{r.q95:.4f}")  # fmt: skip
    if {"attrition", "recruit_base"} <= set(sm.index):
        j_a = post.names.index("attrition")
        j_r = post.names.index("recruit_base")
        x = post.particles[:, j_a]
        inside = np.sum(post.weights * ((x > 0.02) & (x < 0.03)))
        net = post.particles[:, j_r] - x
        o = np.argsort(net)
        cw = np.cumsum(post.weights[o])
        q = [float(net[o][np.searchsorted(cw, p)]) for p in (0.05, 0.5, 0.95)]
        out.append(f"posterior probability that attrition lies in 2-3 %/month: {inside:.2f}")
        out.append(f"base recruitment minus attrition (before grievance and other drivers): "
                   f"median {q[1]:+.4f}/month, 90 % {q[0]:+.4f} to {q[2]:+.4f}")  # fmt: skip
    return "\n".join(out)


def history_setup(
    years: tuple[int, int], data_dir: Path | None, synthetic: bool
) -> tuple[Any, Any]:
    """Space and drivers of the historical (acceleration) run over whole years ``years``."""
    from sahelsim.scenarios.run import make_space
    from sahelsim.scenarios.scenario import load_scenario
    from sahelsim.scenarios.setup import build_drivers

    y0, y1 = years
    start = int(month_id(y0, 1))
    months = (y1 - y0 + 1) * 12
    space = make_space(data_dir, start, synthetic=synthetic)
    sc = load_scenario("acceleration")
    drivers = build_drivers(space, start, months, levers=sc.lever_series(start, months),
                            flags=sc.flags, projection_start=None)  # fmt: skip
    return space, drivers


def posterior_predictive(
    post: Posterior,
    *,
    years: tuple[int, int],
    members: int = 200,
    seed: int = 1,
    data_dir: Path | None = None,
    synthetic: bool = False,
) -> Any:
    """Simulated observables (member, year, country) with members' parameters drawn from
    ``post``."""
    from sahelsim.model.engine import Record, simulate
    from sahelsim.model.params import Params
    from sahelsim.scenarios.run import posterior_param_matrix

    ids = np.arange(members)
    pm = posterior_param_matrix(ids, seed, posterior=post)
    space, drv = history_setup(years, data_dir, synthetic)
    ds = simulate(space, Params.default(), drv, members=ids, seed=seed, record=Record(cells=()),
                  param_matrix=pm)  # fmt: skip
    return simulated_country_year(ds)


def ppc_table(pred: Any, observed: pd.DataFrame) -> pd.DataFrame:
    """Observed value against the posterior predictive median and 50 % / 90 % intervals."""
    obs = observed_country_year(observed) if "deaths_state_based" in observed else observed
    idx = obs.set_index(["iso3", "year"])
    rows = []
    for v in ("sb", "ns", "os_govt", "os_nsgroup", "idps"):
        for c in pred.country.values:
            for y in pred.year.values:
                x = pred[v].sel(country=c, year=y).values
                q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
                o = idx[v].get((str(c), int(y)), np.nan)
                rows.append({"observable": v, "iso3": str(c), "year": int(y), "observed": o,
                             "q05": q[0], "q25": q[1], "median": q[2], "q75": q[3], "q95": q[4],
                             "in_90": bool(q[0] <= o <= q[4]) if pd.notna(o) else None})  # fmt: skip
    return pd.DataFrame(rows)


def ppc_plot(table: pd.DataFrame, path: Path) -> Path | None:
    """Fan chart per observable and country (PNG); None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning(
            "matplotlib not installed: no posterior predictive plot (pip install 'sahelsim[calibrate]')"
        )
        return None
    obs_vars = list(dict.fromkeys(table["observable"]))
    countries = list(dict.fromkeys(table["iso3"]))
    fig, axes = plt.subplots(len(obs_vars), len(countries), figsize=(4 * len(countries), 2.6 * len(obs_vars)),
                             squeeze=False, sharex=True)  # fmt: skip
    for i, v in enumerate(obs_vars):
        for j, c in enumerate(countries):
            ax = axes[i][j]
            d = table[(table.observable == v) & (table.iso3 == c)]
            ax.fill_between(d.year, d.q05, d.q95, alpha=0.2, color="C0", label="90 %")
            ax.fill_between(d.year, d.q25, d.q75, alpha=0.4, color="C0", label="50 %")
            ax.plot(d.year, d["median"], color="C0", lw=1)
            ax.plot(d.year, d.observed, "o", color="k", ms=3, label="observed")
            ax.set_yscale("symlog", linthresh=10)
            ax.set_title(f"{v} - {c}", fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def run_calibration(
    store: Any,
    *,
    out: Path,
    install: bool = False,
    data_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Calibrate on the store's country-year data; write the posterior (stamped with the data
    hash), diagnostics, the posterior predictive table and plot. ``install`` also writes the
    posterior into the package (``sahelsim/resources/posterior.json``), which ``simulate`` and
    ``make run`` use by default."""
    from sahelsim import __version__
    from sahelsim.evidence import indicators

    cy = indicators.country_year(store)
    cal = Calibrator(data_dir=data_dir, progress=progress, **settings).fit(cy)
    ledger = store.ledger()
    used = ledger[
        ledger["source"].isin(["ucdp_cy", "unhcr_population", "idmc"]) & ~ledger["superseded"]
    ]
    post = cal.posterior_
    post.meta = {
        "data_hash": data_hash(cal.observed_, used),
        "data_files": used[["source", "file", "sha256", "version"]].astype(str).to_dict(orient="records"),
        "created": pd.Timestamp.now(tz="UTC").isoformat(),
        "sahelsim_version": __version__,
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in
                     {"params": cal.params, "n_particles": cal.n_particles,
                      "generations": cal.generations, "alpha": cal.alpha,
                      "years": cal.years, "seed": cal.seed,
                      "grid": "synthetic" if cal.synthetic else "study grid"}.items()},
        "diagnostics": {k: v for k, v in cal.diagnostics_.items() if k != "final_distances"},
    }  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    paths = {"posterior": post.save(out / POSTERIOR_FILE)}
    post.summary().to_csv(out / "posterior_summary.csv", index=False)
    paths["summary"] = out / "posterior_summary.csv"
    pred = posterior_predictive(post, years=cal.years, data_dir=data_dir, synthetic=cal.synthetic)
    tab = ppc_table(pred, cy)
    tab.to_csv(out / "posterior_predictive.csv", index=False)
    paths["ppc"] = out / "posterior_predictive.csv"
    png = ppc_plot(tab, out / "posterior_predictive.png")
    if png:
        paths["ppc_plot"] = png
    if install:
        target = Path(str(resources.files("sahelsim.resources") / POSTERIOR_FILE))
        post.save(target)
        paths["installed"] = target
    return {"calibrator": cal, "posterior": post, "ppc": tab, "paths": paths,
            "attrition": attrition_report(post)}  # fmt: skip
