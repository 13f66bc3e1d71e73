"""Forecasts in the VIEWS layout and rolling-origin backtests against the standard baselines.

Targets are UCDP country-year best estimates for the three AES states, by violence type:
``sb`` (state-based), ``ns`` (non-state), ``os`` (one-sided). For each origin year T the model
is calibrated on 2012..T (ABC-SMC, :mod:`sahelsim.calibrate`), then its posterior predictive
(one parameter draw per member) forecasts T+1 and T+2; the baselines (zero, last value
Poisson, conflictology, negative binomial of the recent history) are fitted on UCDP's own
history up to T. Every forecast is scored with CRPS, the ignorance score on the VIEWS bins,
interval scores and coverage (:mod:`sahelsim.scoring`).

``run_backtest(..., backend=)`` runs the origin years as independent items on that backend
(None: in this process). The country-year frame and the grid are built once by the caller and
shipped with the work, so workers need neither the store nor the data directory.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahelsim.core.atomic import write_all_atomic
from sahelsim.core.backend import Backend, ChunkFailure, Progress, map_items
from sahelsim.core.canon import month_id
from sahelsim.evidence import indicators
from sahelsim.forecast.baselines import (
    Conflictology,
    GlobalBootstrap,
    LastValuePoisson,
    NegBinRecent,
    ZeroBaseline,
)
from sahelsim.forecast.ensembles import add_ensembles
from sahelsim.forecast.evaluate import evaluate
from sahelsim.forecast.filtered import FilteredForecaster
from sahelsim.forecast.forecasters import sub_seed
from sahelsim.forecast.origin import to_country_year
from sahelsim.forecast.readable import readable_items
from sahelsim.forecast.views_io import to_views, views_parquet_item
from sahelsim.inference.calibrate import Calibrator, posterior_predictive
from sahelsim.inference.observe import simulated_country_year
from sahelsim.model.engine import Record
from sahelsim.model.space import Space
from sahelsim.scenarios.posterior import Posterior
from sahelsim.scenarios.run import HISTORY_START, make_space, run_scenario

log = logging.getLogger(__name__)

TARGETS = {"sb": "deaths_state_based", "ns": "deaths_non_state", "os": "deaths_one_sided"}
CORE = ("MLI", "BFA", "NER")


def observed_targets(cy: pd.DataFrame) -> pd.DataFrame:
    """Long frame iso3, year, target, value from the country-year indicators."""
    df = cy[cy["iso3"].isin(CORE)]
    rows = [
        pd.DataFrame(
            {
                "iso3": df["iso3"],
                "year": df["year"].astype(int),
                "target": t,
                "value": df[col].astype(float),
            }
        )
        for t, col in TARGETS.items()
    ]
    return pd.concat(rows, ignore_index=True)


def model_draws(
    post: Any,
    *,
    last_year: int,
    members: int,
    seed: int,
    data_dir: Path | None,
    synthetic: bool,
    space: Space | None = None,
) -> dict[tuple[str, str, int], np.ndarray]:
    """Posterior predictive draws {(target, iso3, year): array} for 2012..last_year."""
    pred = posterior_predictive(post, years=(2012, last_year), members=members, seed=seed,
                                data_dir=data_dir, synthetic=synthetic, space=space)  # fmt: skip
    out = {}
    for c in CORE:
        for y in pred.year.values:
            sel = pred.sel(country=c, year=y)
            out[("sb", c, int(y))] = sel["sb"].values
            out[("ns", c, int(y))] = sel["ns"].values
            out[("os", c, int(y))] = sel["os_govt"].values + sel["os_nsgroup"].values
    return out


def filtered_draws(fc: FilteredForecaster, T: int, years: list[int], draws: int,
                   seed: int) -> dict[tuple[str, str, int], np.ndarray]:  # fmt: skip
    """{(target, iso3, year): draws} of the filtered model forecaster from December ``T``:
    the country-month draws summed over each forecast year (observation noise per month)."""
    origin = int(month_id(T, 12))
    long = fc(pd.DataFrame(), origin, 12 * (max(years) - T), draws, seed)
    cy = to_country_year(long[long["target"].isin(list(TARGETS))])
    out = {}
    for (t, c, y), g in cy.groupby(["target", "iso3", "year"]):
        if int(y) in years:
            out[(str(t), str(c), int(y))] = g.sort_values("draw")["outcome"].to_numpy(float)
    return out


def baseline_draws(
    obs: pd.DataFrame, origin: int, years: list[int], draws: int, seed: int
) -> dict[str, dict[tuple[str, str, int], np.ndarray]]:
    out: dict[str, dict[tuple[str, str, int], np.ndarray]] = {}
    for name, cls in (("zero", ZeroBaseline), ("last_value", LastValuePoisson),
                      ("conflictology", Conflictology), ("bootstrap", GlobalBootstrap),
                      ("negbin", NegBinRecent)):  # fmt: skip
        res: dict[tuple[str, str, int], np.ndarray] = {}
        for t in TARGETS:
            h = obs[(obs.target == t) & (obs.year <= origin)].rename(
                columns={"iso3": "unit", "year": "period"}
            )[["unit", "period", "value"]]
            model = cls(freq="year").fit(h)
            pred = model.predict(years, n_draws=draws, seed=seed, units=list(CORE))
            for (unit, period), arr in pred.items():
                res[(t, str(unit), int(period))] = np.asarray(arr, dtype=float)
        out[name] = res
    return out


def backtest_origin(
    cy: pd.DataFrame, obs: pd.DataFrame, settings: dict[str, Any], T: int
) -> list[dict[str, Any]]:
    """One origin year, for every seed of ``settings["seeds"]``: calibrate on 2012..T, forecast
    the horizons with the model and every baseline; returns the forecast rows. ``settings``
    holds the keyword arguments of :func:`run_backtest` plus ``last_obs`` (the latest observed
    year) and ``space`` (the grid of the 2012 start, or None to build it here)."""
    s = settings
    obs_idx = obs.set_index(["target", "iso3", "year"])["value"]
    years = [T + h for h in s["horizons"] if T + h <= s["last_obs"]]
    if not years:
        return []
    rows = []
    for seed in s["seeds"]:
        # one stream per (seed, origin): seed + T as before for the first seed's origins would
        # make seed 1 at T equal seed 0 at T + 1, so the other seeds derive theirs
        item_seed = seed + T if seed == s["seeds"][0] else sub_seed(seed, T) % 2**31
        if s.get("filtered") is not None:  # filtered on the data up to December T
            md = filtered_draws(s["filtered"], T, years, s["draws"], seed)
        else:
            cal = Calibrator(n_particles=s["n_particles"], generations=s["generations"],
                             years=(2012, T), seed=item_seed, data_dir=s["data_dir"],
                             synthetic=s["synthetic"], space=s.get("space")).fit(cy)  # fmt: skip
            md = model_draws(cal.posterior_, last_year=max(years), members=s["draws"],
                             seed=item_seed, data_dir=s["data_dir"], synthetic=s["synthetic"],
                             space=s.get("space"))  # fmt: skip
        forecasts = {"model": md} | baseline_draws(obs, T, years, s["draws"], item_seed)
        for name, fc in forecasts.items():
            for t in TARGETS:
                for c in CORE:
                    for y in years:
                        rows.append({"seed": seed, "origin": T, "horizon": y - T, "year": y,
                                     "iso3": c, "target": t, "forecaster": name,
                                     "draws": fc[(t, c, y)],
                                     "obs": float(obs_idx.get((t, c, y), np.nan))})  # fmt: skip
    return rows


def run_backtest(
    source: Any,
    *,
    origins: tuple[int, int] = (2014, 2023),
    horizons: tuple[int, ...] = (1, 2),
    n_particles: int = 150,
    generations: int = 3,
    draws: int = 500,
    seed: int = 0,
    data_dir: Path | None = None,
    synthetic: bool = False,
    progress: Progress | None = None,
    backend: Backend | None = None,
    seeds: tuple[int, ...] | None = None,
    observations: pd.DataFrame | None = None,
    start_posterior: Posterior | None = None,
    members: int = 200,
    model: Any = None,
) -> dict[str, pd.DataFrame]:
    """Rolling-origin backtest; returns the forecast rows, the median-ensemble and linear-pool
    rows (:func:`sahelsim.forecast.ensembles.add_ensembles`, pool weights from earlier origins
    only, in ``weights``) and the score tables of :func:`sahelsim.forecast.evaluate.evaluate`.

    ``seeds`` (default: ``(seed,)``) are run for every origin (seed noise); origin ``T`` of
    the first seed ``s`` calibrates and draws with seed ``s + T`` (as before), of the others
    with ``sub_seed(s, T)`` (independent streams).

    With ``observations`` (the filter's table), the model is the filtered model
    (:class:`~sahelsim.forecast.filtered.FilteredForecaster`, ``members`` particles started
    from ``start_posterior``): filtered on the data up to December of each origin year, then
    run on; otherwise it is calibrated by ABC on 2012..T at each origin and run freely from
    2012 (the old harness). ``model``: a prebuilt model forecaster used instead (e.g.
    :class:`~sahelsim.forecast.filtered.ExpandingForecaster`).

    ``source``: a store, or the country-year indicator frame (``indicators.country_year``).
    ``backend`` runs one item per origin year (None: in this process); the results do not
    depend on it. If origins fail on a backend, raises
    :class:`~sahelsim.core.backend.ChunkFailure` whose ``partial`` is the forecast frame of the
    finished origins.
    """
    t0 = time.perf_counter()
    cy = source if isinstance(source, pd.DataFrame) else indicators.country_year(source)
    obs = observed_targets(cy)
    settings = {"horizons": tuple(horizons), "last_obs": int(obs.year.max()),
                "n_particles": n_particles, "generations": generations, "draws": draws,
                "seeds": tuple(seeds) if seeds is not None else (seed,),
                "data_dir": data_dir, "synthetic": synthetic,
                "space": make_space(data_dir, HISTORY_START, synthetic=synthetic)}  # fmt: skip
    span = list(range(origins[0], origins[1] + 1))
    if model is not None:  # a prebuilt model forecaster (e.g. re-calibrated by blocks)
        settings["filtered"] = model
    elif observations is not None and len(observations):
        settings["filtered"] = FilteredForecaster(
            observations, space=settings["space"], members=members,
            start=start_posterior if start_posterior is not None else "prior",
            origins=[int(month_id(T, 12)) for T in span], noise_level="year")  # fmt: skip
    fn = functools.partial(backtest_origin, cy, obs, settings)
    try:
        parts = map_items(backend, fn, span, labels=[f"origin {T}" for T in span],
                          progress=progress, what="origin")  # fmt: skip
    except ChunkFailure as exc:
        exc.partial = pd.DataFrame([r for rows in exc.completed.values() for r in rows])
        raise
    frame = pd.DataFrame([r for rows in parts for r in rows])
    members = list(dict.fromkeys(frame["forecaster"]))
    ens, weights = add_ensembles(frame, period="year", members=members, draws=draws)
    frame = pd.concat([frame, ens], ignore_index=True)
    log.info("backtest (%s): %d forecasts in %.0f s", backend.name if backend else "local",
             len(frame), time.perf_counter() - t0)  # fmt: skip
    return {"forecasts": frame, "weights": weights, **score_backtest(frame)}


def score_backtest(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The score tables of :func:`sahelsim.forecast.evaluate.evaluate` (CRPS, ignorance,
    interval scores, coverage, PIT, seed spread, the goals and the one-row verdict)."""
    return evaluate(frame)


def forecast(
    *,
    years: tuple[int, ...] = (2025, 2026),
    draws: int = 1000,
    seed: int = 0,
    scenario: str = "acceleration",
    data_dir: Path | None = None,
    synthetic: bool = False,
    out: Path,
    backend: Backend | None = None,
) -> dict[str, Path]:
    """Country-year forecasts (VIEWS layout: year, country_id, draw, outcome) from the shipped
    posterior, one Parquet per target; the ensemble runs on ``backend`` (None: here)."""
    last = max(years)
    months = int(month_id(last, 12)) - HISTORY_START + 1
    ds = run_scenario(scenario, data_dir=data_dir, synthetic=synthetic, members=draws,
                      months=months, start="2012-01", seed=seed, record=Record(cells=()),
                      backend=backend)  # fmt: skip
    pred = simulated_country_year(ds)
    items = []
    frames = {}
    for t in TARGETS:
        d: dict[tuple[str, int], np.ndarray] = {}
        for c in CORE:
            for y in years:
                sel = pred.sel(country=c, year=y)
                if t == "os":
                    arr = sel["os_govt"].values + sel["os_nsgroup"].values
                else:
                    arr = sel[t].values
                d[(c, int(y))] = np.asarray(arr, dtype=float)
        frame = to_views(d, unit="country_id", period="year", outcome_name="outcome")
        frames[t] = frame
        items.append(views_parquet_item(frame, out / f"forecast_ged_{t}_country_year.parquet"))
    note = (f"scenario={scenario} draws={draws} seed={seed}"
            f" parameters={ds.attrs.get('parameters')}\n")  # fmt: skip
    items.append((out / "PARAMETERS.txt", lambda p: p.write_text(note, encoding="utf-8")))
    items += readable_items(frames, out, "cy", f"Scenario {scenario} run from 2012-01 with the"
                            f" {ds.attrs.get('parameters')} parameters, {draws} draws, seed"
                            f" {seed} (not started from the observed present).")  # fmt: skip
    written = write_all_atomic(items)  # all files or none: a failure keeps the previous set
    return dict(zip([*TARGETS, "parameters", "summary", "readme"], written, strict=True))
