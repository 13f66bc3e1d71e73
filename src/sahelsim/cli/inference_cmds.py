"""Inference commands: ``calibrate``, ``forecast`` and ``backtest``.

``forecast --origin YYYY-MM --horizon N --level cm|cy`` forecasts from an observed origin
(:func:`sahelsim.forecast.origin.forecast_from_origin`, whose ``model_forecaster`` default is
:func:`sahelsim.forecast.origin.default_model_forecaster`); without ``--origin`` it keeps the
country-year projection of ``--years`` from the shipped posterior. ``backtest --level cm``
runs :func:`sahelsim.forecast.backtest_cm.run_backtest_cm`, ``--level cy`` the country-year
backtest."""

from __future__ import annotations

import logging
import re
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

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
    parse_month,
    parse_years,
    years_option,
)  # fmt: skip
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, ingested_store, open_backend
from sahelsim.core.canon import (
    GW_TO_ISO3,
    ISO3_TO_NAME,
    TYPE_OF_VIOLENCE,
    month_id,
)
from sahelsim.core.config import resolve_data_dir
from sahelsim.evidence import indicators
from sahelsim.forecast.backtest import forecast as run_forecast
from sahelsim.forecast.backtest_cm import (
    DEFAULT_ORIGINS,
)
from sahelsim.forecast.forecasters import month_text, observed_cm
from sahelsim.forecast.origin import check_origin, forecast_from_origin
from sahelsim.forecast.views_io import read_views_parquet
from sahelsim.inference.calibrate import run_calibration
from sahelsim.inference.if2 import run_if2
from sahelsim.inference.likelihood import (
    dispersion_from_data,
    observations_from_store,
    until_month,
)
from sahelsim.scenarios.posterior import POSTERIOR_FILE, installed_posterior_path, load_posterior
from sahelsim.scenarios.run import HISTORY_START, make_space

log = logging.getLogger("sahelsim.cli")

Particles = Annotated[int, int_option("--particles", "ABC-SMC particles")]
Generations = Annotated[int, int_option("--generations", "ABC-SMC generations")]
Draws = Annotated[int, int_option("--draws", "Forecast draws (ensemble members) per unit-period")]


class Level(StrEnum):
    cm = "cm"
    cy = "cy"


LevelOpt = Annotated[
    Level, typer.Option("--level", help="Country-month (cm) or country-year (cy) forecasts.")
]
#: Largest horizon: 120 months (cm) or 10 years (cy).
MAX_HORIZON = {"cm": 120, "cy": 10}


def _span(years: Years, option: str) -> tuple[int, int]:
    try:
        return years.span
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from None


def _months_to(last_year: int) -> int:
    return 12 * (last_year - 2012 + 1)


class Method(StrEnum):
    abc = "abc"
    if2 = "if2"


def calibrate(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    particles: Particles = 500,
    generations: Generations = 14,
    years: Annotated[Years, years_option("Calibration window (contiguous).")] = "2012-2024",
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
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="abc: ABC-SMC on summaries (default); if2: iterated "
            "filtering on the monthly likelihood.",
        ),
    ] = Method.abc,
    iterations: Annotated[int, int_option("--iterations", "IF2 passes")] = 8,
    holdout_after: Annotated[
        str | None,
        typer.Option(
            "--holdout-after",
            help="IF2: fit on data up to YYYY-MM only and score the rest out of sample.",
        ),
    ] = None,
    backend: Backend = BackendName.local,
    address: Address = None,
) -> int:
    """Calibrate the model: ABC-SMC with MCMC moves on country-year deaths by type, country-month
    features, December IDP stocks and Burkina Faso's territory range (default), or IF2."""
    y0, y1 = _span(years, "--years")
    t0 = time.perf_counter()
    if method is Method.if2:
        return _calibrate_if2(data_dir, store, out, particles, iterations, seed, synthetic,
                              install, holdout_after, t0)  # fmt: skip
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
    say(f"tolerances {[round(e, 3) for e in d['epsilon'][1:]]}; move acceptance "
        f"{[round(a, 3) for a in d['acceptance'][1:]]}; effective sample "
        f"{d['ess'][1:]}; unique particles {d['unique'][1:]}; {d['n_simulations']} "
        "simulations")  # fmt: skip
    cov = res["ppc"]["in_90"].dropna().astype(bool).mean()
    say(f"posterior predictive: {cov:.0%} of observed country-years inside the 90 % interval")
    say(str(res["attrition"]), limit=None)
    for k, pth in res["paths"].items():
        say(f"{k}: {pth}")
    say(f"{time.perf_counter() - t0:.0f} s; data hash {post.meta['data_hash'][:16]}")
    return 0


def _bad(option: str, message: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint=f"'{option}'")


def _month(text: str, option: str) -> int:
    try:
        return _month_id_of(text)
    except ValueError as exc:
        raise _bad(option, str(exc)) from None


def _calibrate_if2(data_dir, store, out, particles, iterations, seed, synthetic, install,
                   holdout_after, t0) -> int:  # fmt: skip
    """``calibrate --method if2``: iterated filtering on the filter's observation table."""
    hold = _month(holdout_after, "--holdout-after") if holdout_after else None
    st, dd, _ = ingested_store(data_dir, store, out)
    with st:
        obs = observations_from_store(st)
    space = make_space(data_or_none(dd), HISTORY_START, synthetic=synthetic)
    with progress() as p:
        res = run_if2(space, obs, particles=particles, iterations=iterations, seed=seed,
                      obs_model=dispersion_from_data(obs if hold is None else
                                                     until_month(obs, hold)),
                      holdout_after=hold, start=load_posterior(), progress=Bar(p, "IF2"))  # fmt: skip
    folder = out / "calibration_if2"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"posterior": res.posterior.save(folder / POSTERIOR_FILE)}
    write_tables({"if2_diagnostics": res.diagnostics}, folder, parquet=False)
    if install:
        paths["installed"] = res.posterior.save(installed_posterior_path())
    d = res.diagnostics
    say(f"IF2: log-likelihood by pass {[round(x, 1) for x in d['loglik']]}; mean ESS "
        f"{[round(x) for x in d['ess_mean']]}")  # fmt: skip
    if res.holdout_loglik is not None:
        say(f"hold-out after {holdout_after}: prequential log score {res.holdout_loglik:,.1f} "
            f"over {len(res.holdout)} observation times")  # fmt: skip
    for k, pth in paths.items():
        say(f"{k}: {pth}")
    say(f"{time.perf_counter() - t0:.0f} s")
    return 0


def forecast(
    years: Annotated[Years, years_option("Years to forecast (without --origin).")] = "2025,2026",
    origin: Annotated[
        str | None,
        typer.Option(
            "--origin",
            metavar="YYYY-MM",
            show_default=False,
            help="Forecast origin: the last observed month the forecast may use"
            " (at most the data's last month; a December for --level cy).",
        ),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            show_default=False,
            help="With --origin: months (cm, 1..120)"
            " or years (cy, 1..10) ahead; default 14 months or 2 years.",
        ),
    ] = None,
    level: LevelOpt = Level.cm,
    draws: Draws = 1000,
    seed: Seed = 0,
    scenario: Scenario = "acceleration",
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    synthetic: Synthetic = False,
) -> int:
    """Forecasts in the VIEWS layout (Parquet): from an observed origin (--origin, country-month
    or country-year), else country-years of --years from the shipped posterior."""
    if origin is None:
        if horizon is not None:
            raise _bad("--horizon", "needs --origin")
        return _forecast_years(years, draws, seed, scenario, data_dir, out, synthetic)
    lv = level.value
    o = _month(origin, "--origin")
    h = horizon if horizon is not None else (14 if lv == "cm" else 2)
    if not 1 <= h <= MAX_HORIZON[lv]:
        raise _bad(
            "--horizon", f"{h} is out of range for --level {lv} (allowed: 1..{MAX_HORIZON[lv]})"
        )
    if o < int(month_id(2012, 1)):
        raise _bad("--origin", f"{origin} is before the model's start (allowed: 2012-01 or later)")
    check_members(
        draws, o - int(month_id(2012, 1)) + h * (12 if lv == "cy" else 1), option="--draws"
    )
    st, dd, _ = ingested_store(data_dir, store, out)
    with st:
        obs, data_end = _observed_for(st, lv)
        filter_obs = observations_from_store(st)
    try:
        check_origin(o, h, lv, data_end)
    except ValueError as exc:
        raise _bad("--origin", str(exc)) from None
    paths = forecast_from_origin(obs, origin=o, horizon=h, level=lv, out=out / "forecast",
                                 draws=draws, seed=seed, data_end=data_end,
                                 data_dir=data_or_none(dd), synthetic=synthetic,
                                 observations=filter_obs)  # fmt: skip
    print_forecast(paths, f"Forecast from {month_text(o)} ({draws} draws, {lv})", lv)
    return 0


#: The VIEWS targets and the UCDP type of violence each counts.
TARGETS = {"sb": TYPE_OF_VIOLENCE[1], "ns": TYPE_OF_VIOLENCE[2], "os": TYPE_OF_VIOLENCE[3]}


def forecast_rows(paths: dict[str, Path], level: str) -> list[tuple[str, ...]]:
    """Median and 90 % interval of the deaths per target, period and country (by name)."""
    period = "month_id" if level == "cm" else "year"
    rows = []
    for tgt, kind in TARGETS.items():
        df = read_views_parquet(paths[tgt])
        for (p, gw), g in df.groupby([period, "country_id"]):
            q = np.quantile(g["outcome"], [0.05, 0.5, 0.95])
            iso = GW_TO_ISO3.get(int(gw))
            name = ISO3_TO_NAME.get(iso, f"country {gw}") if iso else f"country {gw}"
            label = month_text(int(p)) if level == "cm" else str(p)
            rows.append((f"{kind} ({tgt})", label, name, f"{q[1]:,.0f}",
                         f"{q[0]:,.0f} - {q[2]:,.0f}"))  # fmt: skip
    return rows


def print_forecast(paths: dict[str, Path], title: str, level: str) -> None:
    """The forecast summary table (both forecast paths) and the files written."""
    table(title, ("deaths", "month" if level == "cm" else "year", "country", "median",
                  "90% interval"), forecast_rows(paths, level))  # fmt: skip
    for k, pth in paths.items():
        say(f"{k}: {pth}")


def _observed_for(st: Any, level: str) -> tuple[Any, int]:
    """(country-month history or None, last month of the data of ``level``)."""
    try:
        obs = observed_cm(st)
    except LookupError:
        obs = None
    if level == "cm":
        if obs is None:
            raise _bad("--level", "cm needs the UCDP GED country-month data (ucdp_ged_cm) in "
                       "the data directory")  # fmt: skip
        return obs, int(obs["month_id"].max())
    try:
        cy = indicators.country_year(st)
    except LookupError as exc:
        raise _bad("--level", f"cy needs the UCDP country-year data: {exc}") from None
    return obs, int(month_id(int(cy["year"].max()), 12))


def _forecast_years(years: Years, draws: int, seed: int, scenario: str, data_dir: Path | None,
                    out: Path, synthetic: bool) -> int:  # fmt: skip
    check_members(draws, _months_to(max(years)), option="--draws")
    if load_posterior() is None:
        log.warning("no calibrated posterior ships with this install: forecasting with priors")
    dd = resolve_data_dir(data_dir)
    paths = run_forecast(years=tuple(years), draws=draws, seed=seed, scenario=scenario,
                         data_dir=data_or_none(dd), synthetic=synthetic, out=out / "forecast")  # fmt: skip
    print_forecast(paths, f"Forecast ({draws} draws, scenario {scenario})", "cy")
    return 0


_SEEDS = re.compile(r"[0-9]+(,[0-9]+)*")


def _seeds(text: str) -> tuple[int, ...]:
    t = str(text).replace(" ", "")
    if not _SEEDS.fullmatch(t):
        raise _bad("--seeds", f"{text!r} is not a comma-separated list of seeds like 0,1,2")
    seeds = tuple(dict.fromkeys(int(x) for x in t.split(",")))
    if len(seeds) > 10 or max(seeds) >= 2**63:
        raise _bad("--seeds", "1..10 distinct seeds in 0..2^63-1")
    return seeds


class MonthOrigins(Years):
    """Origins given as months (``YYYY-MM`` items and ``YYYY-MM..YYYY-MM`` ranges): month ids."""


_MONTH_ITEM = re.compile(r"[0-9]{4}-[0-9]{2}")


def _month_id_of(text: str) -> int:
    return int(month_id(*(int(x) for x in parse_month(text).split("-"))))


def parse_origins(text: str | Years) -> Years:
    """Years (``2014-2023``, ``2014,2016``) or months (``2015-01..2020-10`` stepping by a
    quarter, ``2020-08,2020-11``); ValueError names the problem."""
    if isinstance(text, Years):
        return text
    t = str(text).replace(" ", "")
    items = t.split(",")
    if ".." not in t and not any(_MONTH_ITEM.fullmatch(i) for i in items):
        return parse_years(t)
    out: set[int] = set()
    for item in items:
        first, sep, last = item.partition("..")
        a = _month_id_of(first)
        if not sep:
            out.add(a)
            continue
        b = _month_id_of(last)
        if b < a:
            raise ValueError(f"range {item!r} runs backwards")
        out.update(range(a, b + 1, 3))
    return MonthOrigins(sorted(out))


def _cm_origins(origins: Years, given: bool) -> list[int]:
    """cm origins: the default 24 quarters unless given; years Y0-Y1 mean every quarter of
    them (January, April, July, October)."""
    if not given:
        return list(DEFAULT_ORIGINS)
    if isinstance(origins, MonthOrigins):
        return list(origins)
    return [int(month_id(y, m)) for y in origins for m in (1, 4, 7, 10)]
