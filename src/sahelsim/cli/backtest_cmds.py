"""The ``backtest`` command: rolling-origin backtests of the filtered model, the baselines and
two ensembles at country-month or country-year level (parameters re-calibrated before each block
of origins by default), with the verdict against the goals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.text import Text

from sahelsim.cli.console import Bar, progress, say, table, write_tables
from sahelsim.cli.inference_cmds import (
    Level,
    LevelOpt,
    MonthOrigins,
    _bad,
    _cm_origins,
    _months_to,
    _observed_for,
    _seeds,
    _span,
    parse_origins,
)
from sahelsim.cli.options import (
    Address,
    Backend,
    BackendName,
    DataDir,
    Out,
    Seed,
    Store,
    Synthetic,
    Years,
    check_members,
    int_option,
)  # fmt: skip
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, ingested_store, open_backend
from sahelsim.core.canon import month_id, month_id_to_year_month
from sahelsim.forecast.backtest import run_backtest
from sahelsim.forecast.backtest_cm import (
    TABLES,
    default_forecasters,
    run_backtest_cm,
    write_backtest,
)
from sahelsim.forecast.filtered import expanding_forecaster
from sahelsim.forecast.forecasters import month_text
from sahelsim.inference.calibrate import calibration_end
from sahelsim.inference.likelihood import observations_from_store
from sahelsim.scenarios.posterior import load_posterior


def backtest(
    ctx: typer.Context,
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    level: LevelOpt = Level.cy,
    origins: Annotated[
        Years,
        typer.Option(
            "--origins",
            parser=parse_origins,
            metavar="ORIGINS",
            help="cy: origin years, contiguous (2014-2023). cm: months YYYY-MM and"
            " ranges YYYY-MM..YYYY-MM stepping by a quarter, or years (every quarter"
            " of them); default for cm 2015-01..2020-10 (24 origins; the data run"
            " 1989-01..2021-06).",
        ),
    ] = "2014-2023",
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            show_default=False,
            help="Largest horizon: months for cm (1..36, default 14), years for cy"
            " (1..5, default 2).",
        ),
    ] = None,
    particles: Annotated[
        int, int_option("--particles", "ABC-SMC particles of the pre-origin calibration")
    ] = 300,
    generations: Annotated[
        int, int_option("--generations", "ABC-SMC generations of the pre-origin calibration")
    ] = 8,
    members: Annotated[int, int_option("--members", "Particles of the filtered model")] = 200,
    recalibrate_every: Annotated[
        int | None,
        int_option(
            "--recalibrate-every",
            "Years between the pre-origin calibrations (expanding window; 0: one before the"
            " first origin; default 1 for cm, 2 for cy)",
            0,
        ),
    ] = None,
    start_posterior: Annotated[
        str,
        typer.Option(
            "--start-posterior",
            metavar="pre-origin|shipped|FILE",
            help="Starting parameters of the filtered model: 'pre-origin' calibrates on"
            " 2012 to the year before the first origin (cm) or to the first origin year"
            " (cy), so no parameter has seen the scored period; 'shipped' uses the"
            " package's posterior (fitted to all the data: scores are then in-sample"
            " for the parameters, and say so); or a posterior.json.",
        ),
    ] = "pre-origin",
    draws: Annotated[
        int | None, int_option("--draws", "Draws per unit-period (default: 1000 cm, 500 cy)")
    ] = None,
    seed: Seed = 0,
    seeds: Annotated[
        str | None,
        typer.Option(
            "--seeds",
            metavar="0,1,2",
            show_default=False,
            help="Seeds to run (seed noise), 1..10 of them; default 0,1,2 for cm and"
            " --seed for cy.",
        ),
    ] = None,
    synthetic: Synthetic = False,
    backend: Backend = BackendName.local,
    address: Address = None,
) -> int:
    """Rolling-origin backtest of the model, the baselines and two ensembles (CRPS,
    ignorance, interval score, coverage, PIT; verdict against the goals)."""
    lv = level.value
    seed_list = _seeds(seeds) if seeds is not None else ((0, 1, 2) if lv == "cm" else (seed,))
    hmax = {"cm": 36, "cy": 5}[lv]
    h = horizon if horizon is not None else (14 if lv == "cm" else 2)
    if not 1 <= h <= hmax:
        raise _bad("--horizon", f"{h} is out of range for --level {lv} (allowed: 1..{hmax})")
    n = draws if draws is not None else (1000 if lv == "cm" else 500)
    if lv == "cy":
        if isinstance(origins, MonthOrigins):
            raise _bad("--origins", "--level cy takes origin years (e.g. 2014-2023), not months")
        o0, o1 = _span(origins, "--origins")
        check_members(n, _months_to(o1 + h), option="--draws")
    else:
        source = ctx.get_parameter_source("origins")
        given = source is not None and source.name != "DEFAULT"
        cm_origins = _cm_origins(origins, given)
        check_members(n, cm_origins[-1] - int(month_id(2012, 1)) + h, option="--draws")
    if members < 2:
        raise _bad("--members", f"{members} is out of range (allowed: 2 or more)")
    if recalibrate_every is None:
        recalibrate_every = 2 if lv == "cy" else 1
    origin_months = [int(month_id(T, 12)) for T in range(o0, o1 + 1)] if lv == "cy" else cm_origins
    first_year = o0 if lv == "cy" else month_id_to_year_month(cm_origins[0])[0] - 1
    with open_backend(backend.value, address) as be:
        st, dd, _ = ingested_store(data_dir, store, out)
        with st, progress() as p:
            obs_f = None if synthetic else observations_from_store(st)
            model, post, blocks = None, None, None
            if obs_f is not None and start_posterior == "pre-origin":
                if first_year < 2012:
                    raise _bad("--origins", "the first origin leaves no year before it to "
                               "calibrate on")  # fmt: skip
                model, blocks = expanding_forecaster(
                    st, obs_f, origin_months, every=recalibrate_every, out=out, members=members,
                    n_particles=particles, generations=generations, seed=seed,
                    data_dir=data_or_none(dd), progress=Bar(p, "calibrate"), backend=be,
                    noise_level="year" if lv == "cy" else "month")  # fmt: skip
            elif obs_f is not None:
                post = _start_posterior(start_posterior)
            if lv == "cy":
                res = run_backtest(
                    st, origins=(o0, o1), horizons=tuple(range(1, h + 1)),
                    n_particles=particles, generations=generations, draws=n, seed=seed,
                    seeds=seed_list, data_dir=data_or_none(dd), synthetic=synthetic,
                    progress=Bar(p, "backtest"), backend=be, observations=obs_f,
                    start_posterior=post, members=members, model=model,
                )  # fmt: skip
            else:
                obs, last = _observed_for(st, "cm")
                first = int(obs["month_id"].min())
                if cm_origins[0] < first or cm_origins[-1] >= last:
                    raise _bad("--origins", f"cm origins must lie in {month_text(first)}.."
                               f"{month_text(last - 1)} (the data end in {month_text(last)})")  # fmt: skip
                fcs = None if model is None else default_forecasters(model=model)
                res = run_backtest_cm(obs, cm_origins, range(1, h + 1), draws=n, seeds=seed_list,
                                      backend=be, data_dir=data_or_none(dd), synthetic=synthetic,
                                      progress=Bar(p, "backtest"), observations=obs_f,
                                      start_posterior=post, members=members,
                                      forecasters=fcs)  # fmt: skip
    if blocks is not None:
        res["calibrations"] = blocks
    res["setup"] = _setup_table(lv, start_posterior, post, blocks, first_year, members, n,
                                seed_list)  # fmt: skip
    folder = out / ("backtest" if lv == "cy" else "backtest_cm")
    _write_and_print(res, folder, lv)
    for r in res["setup"].itertuples():
        say(f"{r.item}: {r.value}")
    return 0


def _start_posterior(choice: str) -> Any:
    """The filtered model's starting posterior for ``--start-posterior shipped|FILE``."""
    if choice == "shipped":
        return load_posterior()
    path = Path(choice)
    if not path.is_file():
        raise _bad("--start-posterior", f"{choice!r} is neither 'pre-origin', 'shipped' nor an "
                   "existing posterior file")  # fmt: skip
    return load_posterior(path)


def _setup_table(level: str, choice: str, post: Any, blocks: pd.DataFrame | None,
                 first_year: int, members: int, draws: int,
                 seeds: Sequence[int]) -> pd.DataFrame:  # fmt: skip
    """What the backtest ran with, and whether the parameters saw the scored period."""
    first_scored = first_year + 1  # cy: the first origin's next year; cm: its own year
    if blocks is not None:
        where = "re-calibrated on an expanding window: " + "; ".join(
            f"origins {b.first_origin}..{b.last_origin} from 2012-{b.calibrated_on[5:]}"
            for b in blocks.itertuples())  # fmt: skip
        honest = True  # each block's calibration ends before its first origin's data
    elif post is None:
        where, honest = "no posterior: priors", True
    else:
        end = calibration_end(post)
        where = f"{choice} (calibrated on 2012-{end})" if end else choice
        honest = end is not None and end < first_scored
    rows = [("model", "filtered model, projections from the filtered state at each origin"),
            ("starting parameters", where),
            ("parameters out of sample", "yes" if honest else
             "NO: the posterior was fitted to data of the scored period"),
            ("dated events after each origin", "not used (the timeline is cut at the origin)"),
            ("filter particles", str(members)), ("draws", str(draws)),
            ("seeds", ",".join(str(x) for x in seeds))]  # fmt: skip
    return pd.DataFrame(rows, columns=["item", "value"])


def _write_and_print(res: dict[str, Any], folder: Path, level: str) -> None:
    fc = res["forecasts"].copy()
    fc["draws_median"] = fc["draws"].map(np.median)
    fc["draws_q05"] = fc["draws"].map(lambda a: np.quantile(a, 0.05))
    fc["draws_q95"] = fc["draws"].map(lambda a: np.quantile(a, 0.95))
    write_backtest(res, folder, level=level)
    write_tables({"forecasts": fc.drop(columns="draws")}, folder, parquet=False)
    names = list(res["overall"].sort_values("crps")["forecaster"])
    rows = []
    for (iso, tgt), g in res["scores"].groupby(["iso3", "target"]):
        vals = {r.forecaster: r.crps for r in g.itertuples()}
        best = min(vals.values())
        rows.append((iso, tgt, *(Text(f"{vals[n]:,.1f}", style="bold" if vals[n] == best else "")
                                  for n in names)))  # fmt: skip
    unit = "country-month" if level == "cm" else "country-year"
    table(f"Backtest CRPS by country and violence type, {unit} (lower is better)",
          ("country", "type", *names), rows)  # fmt: skip
    cols = ["forecaster", "n", "crps", "ignorance", "is95", "coverage50", "coverage90"]
    say(res["overall"][cols].round(3).to_string(index=False), limit=None)
    sp = res["seed_spread"]
    say("seed noise (CRPS over seeds): " + "; ".join(
        f"{r.forecaster} {r.crps_min:,.2f}-{r.crps_max:,.2f}" for r in sp.itertuples()), limit=None)  # fmt: skip
    for r in res["goals"].itertuples():
        say(f"{r.goal}: {r.forecaster} {r.value:,.3g} (seeds {r.seed_min:,.3g}-{r.seed_max:,.3g});"
            f" aim {r.aim}: {'met' if r.met else 'NOT met'}")  # fmt: skip
    if len(res.get("dropped", [])):
        say(f"{len(res['dropped'])} origin-horizon pairs after the data's last month were dropped")
    say(f"wrote {folder} ({', '.join(t for t in TABLES if t in res)}, forecasts/)")
