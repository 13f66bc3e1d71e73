"""Inference commands: ``calibrate``, ``forecast`` and ``backtest``."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import numpy as np
import typer
from rich.text import Text

from sahelsim.cli.console import Bar, progress, say, table, write_tables
from sahelsim.cli.options import (
    Address,
    Backend,
    BackendName,
    DataDir,
    Out,
    Scenario,
    Seed,
    Store,
    Synthetic,
    Years,
    check_members,
    int_option,
    years_option,
)  # fmt: skip
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, ingested_store, open_backend
from sahelsim.core.config import resolve_data_dir
from sahelsim.forecast.backtest import forecast as run_forecast
from sahelsim.forecast.backtest import run_backtest
from sahelsim.forecast.views_io import read_views_parquet
from sahelsim.inference.calibrate import run_calibration
from sahelsim.scenarios.posterior import load_posterior

log = logging.getLogger("sahelsim.cli")

Particles = Annotated[int, int_option("--particles", "ABC-SMC particles")]
Generations = Annotated[int, int_option("--generations", "ABC-SMC generations")]
Draws = Annotated[int, int_option("--draws", "Forecast draws (ensemble members) per country-year")]


def _span(years: Years, option: str) -> tuple[int, int]:
    try:
        return years.span
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from None


def _months_to(last_year: int) -> int:
    return 12 * (last_year - 2012 + 1)


def calibrate(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    particles: Particles = 400,
    generations: Generations = 6,
    years: Annotated[Years, years_option("Calibration window (contiguous).")] = "2012-2023",
    seed: Seed = 0,
    max_simulations: Annotated[
        int, int_option("--max-simulations", "Stop after this many model runs")
    ] = 20000,
    synthetic: Synthetic = False,
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Also write the posterior into the package (used by default"
            " afterwards by simulate, forecast and run).",
        ),
    ] = False,
    backend: Backend = BackendName.local,
    address: Address = None,
) -> int:
    """ABC-SMC calibration of the model on the country-year data."""
    y0, y1 = _span(years, "--years")
    t0 = time.perf_counter()
    with open_backend(backend.value, address) as be:  # a bad --address fails before writing
        st, dd, _ = ingested_store(data_dir, store, out)
        with st, progress() as p:
            res = run_calibration(
                st, out=out / "calibration", install=install, data_dir=data_or_none(dd),
                progress=Bar(p, "calibrate"), n_particles=particles, generations=generations,
                years=(y0, y1), seed=seed, max_simulations=max_simulations, synthetic=synthetic,
                backend=be,
            )  # fmt: skip
    post = res["posterior"]
    rows = [(r.parameter, f"{r.q50:.4g}", f"{r.q25:.4g} - {r.q75:.4g}",
             f"{r.q05:.4g} - {r.q95:.4g}") for r in post.summary().itertuples()]  # fmt: skip
    table(f"Posterior ({len(post.weights)} particles)",
          ("parameter", "median", "50% interval", "90% interval"), rows)  # fmt: skip
    d = res["calibrator"].diagnostics_
    say(f"tolerances {[round(e, 3) for e in d['epsilon'][1:]]}; acceptance "
        f"{[round(a, 3) for a in d['acceptance'][1:]]}; {d['n_simulations']} simulations")  # fmt: skip
    cov = res["ppc"]["in_90"].dropna().astype(bool).mean()
    say(f"posterior predictive: {cov:.0%} of observed country-years inside the 90 % interval")
    say(str(res["attrition"]), limit=None)
    for k, pth in res["paths"].items():
        say(f"{k}: {pth}")
    say(f"{time.perf_counter() - t0:.0f} s; data hash {post.meta['data_hash'][:16]}")
    return 0


def forecast(
    years: Annotated[Years, years_option("Years to forecast.")] = "2025,2026",
    draws: Draws = 1000,
    seed: Seed = 0,
    scenario: Scenario = "acceleration",
    data_dir: DataDir = None,
    out: Out = DEFAULT_OUT,
    synthetic: Synthetic = False,
) -> int:
    """Country-year forecasts from the shipped posterior, in the VIEWS layout (Parquet)."""
    check_members(draws, _months_to(max(years)), option="--draws")
    if load_posterior() is None:
        log.warning("no calibrated posterior ships with this install: forecasting with priors")
    dd = resolve_data_dir(data_dir)
    paths = run_forecast(years=tuple(years), draws=draws, seed=seed, scenario=scenario,
                         data_dir=data_or_none(dd), synthetic=synthetic, out=out / "forecast")  # fmt: skip
    rows = []
    for tgt in ("sb", "ns", "os"):
        df = read_views_parquet(paths[tgt])
        for (y, cid), g in df.groupby(["year", "country_id"]):
            q = np.quantile(g["outcome"], [0.05, 0.5, 0.95])
            rows.append((tgt, y, cid, f"{q[1]:,.0f}", f"{q[0]:,.0f} - {q[2]:,.0f}"))
    table(f"Forecast ({draws} draws, scenario {scenario})",
          ("target", "year", "country_id", "median", "90% interval"), rows)  # fmt: skip
    for k, pth in paths.items():
        say(f"{k}: {pth}")
    return 0


BASELINES = ["model", "zero", "last_value", "conflictology", "negbin"]


def backtest(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    origins: Annotated[
        Years,
        years_option(
            "Forecast origin years, contiguous: each is calibrated on the years"
            " before it and forecasts the next two.",
            name="--origins",
        ),
    ] = "2014-2023",
    particles: Particles = 150,
    generations: Generations = 3,
    draws: Draws = 500,
    seed: Seed = 0,
    synthetic: Synthetic = False,
    backend: Backend = BackendName.local,
    address: Address = None,
) -> int:
    """Rolling-origin backtest of the model against the baselines (CRPS, coverage)."""
    o0, o1 = _span(origins, "--origins")
    check_members(draws, _months_to(o1 + 2), option="--draws")
    with open_backend(backend.value, address) as be:
        st, dd, _ = ingested_store(data_dir, store, out)
        with st, progress() as p:
            res = run_backtest(
                st, origins=(o0, o1), n_particles=particles, generations=generations,
                draws=draws, seed=seed, data_dir=data_or_none(dd), synthetic=synthetic,
                progress=Bar(p, "backtest"), backend=be,
            )  # fmt: skip
    folder = out / "backtest"
    fc = res["forecasts"].copy()
    fc["draws_median"] = fc["draws"].map(np.median)
    fc["draws_q05"] = fc["draws"].map(lambda a: np.quantile(a, 0.05))
    fc["draws_q95"] = fc["draws"].map(lambda a: np.quantile(a, 0.95))
    tables = {name: res[name] for name in ("scores", "overall", "by_target", "verdict")}
    write_tables({**tables, "forecasts": fc.drop(columns="draws")}, folder, parquet=False)
    rows = []
    for (iso, tgt), g in res["scores"].groupby(["iso3", "target"]):
        vals = {r.forecaster: r.crps for r in g.itertuples()}
        best = min(vals.values())
        rows.append((iso, tgt, *(Text(f"{vals[n]:,.1f}", style="bold" if vals[n] == best else "")
                                  for n in BASELINES)))  # fmt: skip
    table("Backtest CRPS by country and violence type (lower is better)",
          ("country", "type", *BASELINES), rows)  # fmt: skip
    say(res["overall"].round(3).to_string(index=False), limit=None)
    v = res["verdict"].iloc[0]
    say(f"model CRPS {v.model_crps:,.1f} vs best baseline ({v.best_baseline}) "
        f"{v.best_baseline_crps:,.1f}: ratio {v.ratio:.2f} (aim <= 0.85: "
        f"{'met' if v.meets_crps_aim else 'NOT met'}); 90 % coverage {v.model_coverage90:.0%} "
        f"(aim 80-95 %: {'met' if v.meets_coverage_aim else 'NOT met'})")  # fmt: skip
    say(f"wrote {folder}")
    return 0
