"""Calibration of the model against the store's country-year data: the run behind
``sahelsim calibrate`` (ABC-SMC with :class:`~sahelsim.inference.abc.Calibrator`, the posterior
stamped with the data hash, the posterior predictive check and its outputs).

``run_calibration(..., backend=)`` runs the calibrator's particle batches and the posterior
predictive ensemble on that backend (None: in this process); the numbers do not depend on it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahelsim import __version__
from sahelsim.core.backend import Backend, Progress
from sahelsim.data.readers.ged_cm import FILE as GED_CM_FILE
from sahelsim.data.readers.ged_cm import FOLDER as GED_CM_FOLDER
from sahelsim.data.readers.ged_cm import read_ged_cm
from sahelsim.evidence import indicators
from sahelsim.inference.abc import CALIBRATED, Calibrator  # noqa: F401  (re-exported)
from sahelsim.inference.history import (  # noqa: F401  (re-exported)
    ChunkedSimulator,
    HistorySimulator,
    Simulator,
    history_setup,
    posterior_predictive,
)
from sahelsim.inference.observe import (
    TERRITORY_TARGET,
    fit_nb_size,
    observed_country_year,
    observed_extras,
    summary_vector,
)
from sahelsim.scenarios.posterior import (  # noqa: F401  (re-exported)
    POSTERIOR_FILE,
    POSTERIOR_VERSION,
    Posterior,
    installed_posterior_path,
    load_posterior,
)

log = logging.getLogger(__name__)


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


def _country_month(data_dir: Path | None) -> pd.DataFrame | None:
    """The UCDP GED country-month table (ViEWS 2020) from ``data_dir``; None if absent."""
    if data_dir is None:
        return None
    path = Path(data_dir) / GED_CM_FOLDER / GED_CM_FILE
    if not path.exists():
        log.warning("%s not found: calibrating without the country-month statistics", path)
        return None
    return read_ged_cm(path).data


_TYPES = {
    "deaths_state_based": "ged_best_sb",
    "deaths_non_state": "ged_best_ns",
    "deaths_one_sided": "ged_best_os",
}


def observation_model(ds: Any, cy: pd.DataFrame, cm: pd.DataFrame | None,
                      years: tuple[int, int]) -> dict[str, Any]:  # fmt: skip
    """The count observation model: negative-binomial sizes (variance = mean + mean^2 / k) that
    maximise the marginal likelihood of the observed country-year deaths by type (and of the
    country-months where they exist) under the posterior predictive ensemble ``ds``."""
    obs_y, sim_y, obs_m, sim_m = [], [], [], []
    y0, y1 = years
    for c in ("MLI", "BFA", "NER"):
        rows = cy[(cy["iso3"] == c) & cy["year"].between(y0, y1)]
        for t, col in _TYPES.items():
            annual = ds[t].sel(country=c).groupby("year").sum()
            for yr, val in zip(rows["year"].astype(int), rows[t].astype(float), strict=True):
                if np.isfinite(val) and yr in annual.year.values:
                    obs_y.append(val)
                    sim_y.append(annual.sel(year=yr).values)
            if cm is None:
                continue
            sub = cm[cm["iso3"] == c].set_index("month_id")[col]
            for mid in ds.month.values:
                if int(mid) in sub.index:
                    obs_m.append(float(sub.loc[int(mid)]))
                    sim_m.append(ds[t].sel(country=c, month=mid).values)
    out: dict[str, Any] = {"model": "negative binomial, mean = the member's simulated count",
                           "size_year": fit_nb_size(np.array(obs_y), np.array(sim_y)),
                           "n_year": len(obs_y)}  # fmt: skip
    if obs_m:
        out |= {"size_month": fit_nb_size(np.array(obs_m), np.array(sim_m)), "n_month": len(obs_m)}
    log.info("observation model: %s", out)
    return out


def run_calibration(
    store: Any,
    *,
    out: Path,
    install: bool = False,
    data_dir: Path | None = None,
    progress: Progress | None = None,
    backend: Backend | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Calibrate on the store's country-year data; write the posterior (stamped with the data
    hash), diagnostics, the posterior predictive table and plot. ``install`` also writes the
    posterior into the package (``sahelsim/resources/posterior.json``), which ``simulate`` and
    ``make run`` use by default. ``backend`` runs the particle batches and the posterior
    predictive ensemble (None: in this process); ``settings`` are :class:`Calibrator`'s."""
    cy = indicators.country_year(store)
    years = settings.get("years", (2012, 2023))
    if "monthly_years" not in settings:  # the country-month data cover whole years to 2020
        settings["monthly_years"] = tuple(y for y in range(years[0], years[1] + 1) if y <= 2020)
    if "territory" not in settings:
        settings["territory"] = years[1] >= max(TERRITORY_TARGET["years"])
    cm = _country_month(data_dir) if settings["monthly_years"] else None
    if cm is None:
        settings["monthly_years"] = ()
    yrs = list(range(years[0], years[1] + 1))
    observed = np.concatenate([
        summary_vector(observed_country_year(cy), yrs),
        observed_extras(cm, list(settings["monthly_years"]), settings["territory"]),
    ])  # fmt: skip
    cal = Calibrator(data_dir=data_dir, progress=progress, backend=backend, **settings)
    cal.fit(observed)
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
                      "monthly_years": cal.monthly_years, "territory": cal.territory,
                      "grid": "synthetic" if cal.synthetic else "study grid"}.items()},
        "diagnostics": {k: v for k, v in cal.diagnostics_.items() if k != "final_distances"},
    }  # fmt: skip
    pred, ds = posterior_predictive(post, years=cal.years, data_dir=data_dir,
                                    synthetic=cal.synthetic, space=cal.space, backend=backend,
                                    return_dataset=True)  # fmt: skip
    post.meta["observation"] = observation_model(ds, cy, cm, cal.years)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"posterior": post.save(out / POSTERIOR_FILE)}
    post.summary().to_csv(out / "posterior_summary.csv", index=False)
    paths["summary"] = out / "posterior_summary.csv"
    tab = ppc_table(pred, cy)
    tab.to_csv(out / "posterior_predictive.csv", index=False)
    paths["ppc"] = out / "posterior_predictive.csv"
    png = ppc_plot(tab, out / "posterior_predictive.png")
    if png:
        paths["ppc_plot"] = png
    if install:
        target = installed_posterior_path()
        post.save(target)
        paths["installed"] = target
    return {"calibrator": cal, "posterior": post, "ppc": tab, "paths": paths,
            "attrition": attrition_report(post)}  # fmt: skip


def calibration_end(post: Posterior | None) -> int | None:
    """The last year of the data ``post`` was calibrated on (its ``settings.years``), or None
    when the posterior does not say."""
    if post is None:
        return None
    years = (getattr(post, "meta", None) or {}).get("settings", {}).get("years")
    return int(years[1]) if years else None


def pre_origin_posterior(store: Any, *, last_year: int, out: Path, n_particles: int = 300,
                         generations: int = 8, seed: int = 0, data_dir: Path | None = None,
                         progress: Progress | None = None,
                         backend: Backend | None = None) -> Posterior:  # fmt: skip
    """A posterior calibrated on 2012..``last_year`` only, for backtests whose first origin
    lies after it (so no parameter has seen the period scored out of sample). It is written to
    ``out`` (``posterior.json`` and the calibration's tables) and reused from there when its
    years, settings and data hash match; otherwise :func:`run_calibration` runs again."""
    path = Path(out) / POSTERIOR_FILE
    want = {"years": [2012, int(last_year)], "n_particles": int(n_particles),
            "generations": int(generations), "seed": int(seed)}  # fmt: skip
    if path.is_file():
        old = load_posterior(path)
        got = {k: (old.meta or {}).get("settings", {}).get(k) for k in want} if old else {}
        ledger = store.ledger()
        used = ledger[ledger["source"].isin(["ucdp_cy", "unhcr_population", "idmc"])
                      & ~ledger["superseded"]]  # fmt: skip
        same_data = old is not None and sorted(
            str(f.get("sha256")) for f in (old.meta or {}).get("data_files", [])
        ) == sorted(used["sha256"].astype(str))
        if old is not None and got == want and same_data:
            log.info("pre-origin posterior (2012-%d) reused from %s", last_year, path)
            return old
    log.info("calibrating on 2012-%d for a posterior that has not seen the backtest's "
             "origins (%d particles, %d generations)", last_year, n_particles, generations)  # fmt: skip
    res = run_calibration(store, out=Path(out), data_dir=data_dir, progress=progress,
                          backend=backend, years=(2012, int(last_year)),
                          n_particles=int(n_particles), generations=int(generations),
                          seed=int(seed))  # fmt: skip
    return res["posterior"]
