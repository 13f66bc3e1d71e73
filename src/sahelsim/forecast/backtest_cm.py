"""Rolling-origin country-month backtest: every forecaster, the two ensembles, several seeds.

For each seed and each origin month ``o`` (default: every quarter, 2015-01 to 2020-10, 24
origins), every forecaster gets the observed country-months up to ``o`` and forecasts
``o + 1 .. o + H`` (``H`` = the largest horizon, default 14). Horizons whose month lies after
the data's last month (the ViEWS GED country-month table ends in 2021-06) are dropped, counted
and logged (``dropped``). The median ensemble and the linear pool are built from the members'
draws (:func:`sahelsim.forecast.ensembles.add_ensembles`: pool weights from earlier origins
only), and all are scored (:func:`sahelsim.forecast.evaluate.evaluate`).

``backend`` runs one work item per seed (None: in this process); a seed's numbers do not
depend on the backend or on the other seeds. :func:`write_backtest` saves every forecast in
the ViEWS layout with an ``origin`` column (one folder per forecaster and seed), the pool
weights and the score tables.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahelsim.core.atomic import Writer, write_all_atomic
from sahelsim.core.backend import Backend, ChunkFailure, Progress, map_items
from sahelsim.core.canon import month_id
from sahelsim.forecast.ensembles import add_ensembles
from sahelsim.forecast.evaluate import evaluate
from sahelsim.forecast.forecasters import (
    TARGETS,
    Forecaster,
    baseline_forecasters,
    check_observed_cm,
    history_until,
    month_text,
)
from sahelsim.forecast.origin import default_model_forecaster
from sahelsim.forecast.views_io import forecast_set_items
from sahelsim.scenarios.posterior import Posterior

log = logging.getLogger(__name__)

#: Default origins: every quarter from 2015-01 to 2020-10 (24 origins, last data 2021-06).
DEFAULT_ORIGINS: tuple[int, ...] = tuple(
    range(int(month_id(2015, 1)), int(month_id(2020, 12)) + 1, 3)
)
DEFAULT_HORIZONS: tuple[int, ...] = tuple(range(1, 15))
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2)
ROW_COLUMNS = ["seed", "origin", "horizon", "month_id", "iso3", "target", "forecaster", "draws",
               "obs"]  # fmt: skip


def default_forecasters(*, data_dir: Path | None = None, synthetic: bool = False,
                        model: Forecaster | None = None,
                        observations: pd.DataFrame | None = None,
                        origins: Sequence[int] = (),
                        start: Posterior | str | None = None,
                        members: int = 200) -> dict[str, Forecaster]:  # fmt: skip
    """``{"model": model or :func:`~sahelsim.forecast.origin.default_model_forecaster` (the
    filtered model when ``observations`` are given), **baseline_forecasters()}``."""
    m = model if model is not None else default_model_forecaster(data_dir, synthetic,
                                                                 observations, origins, start,
                                                                 members)  # fmt: skip
    return {"model": m, **baseline_forecasters()}


def _check_long(frame: pd.DataFrame, name: str, origin: int, months: list[int], draws: int) -> None:
    need = {"month_id", "iso3", "target", "draw", "outcome"}
    if not need <= set(frame.columns):
        raise ValueError(f"forecaster {name!r} at origin {month_text(origin)}: columns "
                         f"{sorted(frame.columns)} lack {sorted(need - set(frame.columns))}")  # fmt: skip
    got = frame.loc[frame["target"].isin(TARGETS), "month_id"]
    if len(got) and (got.min() <= origin):
        raise ValueError(f"forecaster {name!r} at origin {month_text(origin)} forecast a month "
                         "at or before the origin")  # fmt: skip
    missing = sorted(set(months) - set(got))
    if missing:
        raise ValueError(f"forecaster {name!r} at origin {month_text(origin)} gave no draws "
                         f"for {[month_text(m) for m in missing]}")  # fmt: skip


def _rows(frame: pd.DataFrame, name: str, seed: int, origin: int, months: list[int],
          obs: pd.Series) -> list[dict[str, Any]]:  # fmt: skip
    sub = frame[frame["target"].isin(TARGETS) & frame["month_id"].isin(months)]
    draw = sub["draw"].to_numpy()
    outcome = sub["outcome"].to_numpy(dtype=np.float64)
    rows = []
    groups = sub.groupby(["month_id", "iso3", "target"], sort=True).indices
    for (mid, iso, t), pos in sorted(groups.items()):
        d = outcome[pos[np.argsort(draw[pos], kind="stable")]]
        rows.append({"seed": seed, "origin": origin, "horizon": int(mid) - origin,
                     "month_id": int(mid), "iso3": iso, "target": t, "forecaster": name,
                     "draws": d, "obs": float(obs.get((iso, int(mid), t), np.nan))})  # fmt: skip
    return rows


def backtest_seed(observed: pd.DataFrame, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """One seed, every origin in increasing order: forecast rows and the displaced-stock draws
    (``idps``) of the forecasters that give them."""
    s = settings
    last = int(observed["month_id"].max())
    obs = observed.melt(id_vars=["iso3", "month_id"], value_vars=list(TARGETS),
                        var_name="target", value_name="v").set_index(
                            ["iso3", "month_id", "target"])["v"]  # fmt: skip
    rows: list[dict[str, Any]] = []
    idps: list[pd.DataFrame] = []
    for origin in sorted(s["origins"]):
        months = [origin + h for h in s["horizons"] if origin + h <= last]
        if not months:
            continue
        history = history_until(observed, origin)
        for name, fc in s["forecasters"].items():
            frame = fc(history, origin, max(months) - origin, s["draws"], seed)
            _check_long(frame, name, origin, months, s["draws"])
            rows += _rows(frame, name, seed, origin, months, obs)
            dec = frame[frame["target"] == "idps"]
            if len(dec):
                idps.append(dec.assign(seed=seed, origin=origin, forecaster=name))
    return {"rows": rows, "idps": idps}


def run_backtest_cm(
    observed_cm: pd.DataFrame,
    origins: Sequence[int] = DEFAULT_ORIGINS,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    forecasters: Mapping[str, Forecaster] | None = None,
    draws: int = 1000,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    backend: Backend | None = None,
    *,
    ensemble_members: Sequence[str] | None = None,
    data_dir: Path | None = None,
    synthetic: bool = False,
    progress: Progress | None = None,
    observations: pd.DataFrame | None = None,
    start_posterior: Posterior | str | None = "prior",
    members: int = 200,
) -> dict[str, Any]:
    """Rolling-origin country-month backtest (module doc); returns ``forecasts`` (rows with
    draws), ``idps``, ``weights`` (linear pool), ``dropped`` and the tables of
    :func:`~sahelsim.forecast.evaluate.evaluate`.

    ``observed_cm``: ``iso3, month_id, sb, ns, os``; ``origins``: month ids (the last month
    each forecast may see); ``forecasters``: default :func:`default_forecasters` (the model
    on ``data_dir``/``synthetic``, filtered on ``observations`` (the filter's table) up to each
    origin when they are given, and the five baselines);
    ``start_posterior``: the filtered model's starting parameters (default ``"prior"``: uniform
    priors; None the shipped posterior, fitted to all the data, so in-sample; pass one
    calibrated before the first origin for a strictly out-of-sample test,
    :func:`~sahelsim.inference.calibrate.pre_origin_posterior`);
    ``ensemble_members``: forecasters combined (default: all).
    """
    t0 = time.perf_counter()
    observed = check_observed_cm(observed_cm)
    origins = sorted({int(o) for o in origins})
    horizons = sorted({int(h) for h in horizons})
    if not origins or not horizons or horizons[0] < 1:
        raise ValueError(f"need origins and horizons >= 1 (got {origins!r}, {horizons!r})")
    if int(draws) < 1 or not seeds:
        raise ValueError(f"draws must be >= 1 and seeds non-empty (got {draws}, {seeds!r})")
    last = int(observed["month_id"].max())
    first = int(observed["month_id"].min())
    if origins[0] < first or origins[-1] >= last:
        raise ValueError(f"origins must lie in {month_text(first)}..{month_text(last - 1)} (the "
                         f"data), got {month_text(origins[0])}..{month_text(origins[-1])}")  # fmt: skip
    fcs = dict(forecasters) if forecasters is not None else default_forecasters(
        data_dir=data_dir, synthetic=synthetic, observations=observations, origins=origins,
        start=start_posterior, members=members)  # fmt: skip
    members = list(ensemble_members) if ensemble_members is not None else list(fcs)
    unknown = [m for m in members if m not in fcs]
    if unknown:
        raise ValueError(f"ensemble_members {unknown} are not forecasters ({sorted(fcs)})")
    dropped = pd.DataFrame([{"origin": o, "horizon": h, "month_id": o + h}
                            for o in origins for h in horizons if o + h > last])  # fmt: skip
    if len(dropped):
        log.info("backtest cm: %d origin-horizon pair(s) lie after the data's last month %s "
                 "and are dropped", len(dropped), month_text(last))  # fmt: skip
    settings = {"origins": origins, "horizons": horizons, "forecasters": fcs, "draws": int(draws)}
    fn = functools.partial(backtest_seed, observed, settings)
    seeds = [int(x) for x in seeds]
    try:
        parts = map_items(backend, fn, seeds, labels=[f"seed {x}" for x in seeds],
                          progress=progress, what="seed")  # fmt: skip
    except ChunkFailure as exc:
        exc.partial = pd.DataFrame([r for p in exc.completed.values() for r in p["rows"]])
        raise
    frame = pd.DataFrame([r for p in parts for r in p["rows"]], columns=ROW_COLUMNS)
    ens, weights = add_ensembles(frame, period="month_id", members=members, draws=int(draws))
    frame = pd.concat([frame, ens], ignore_index=True)
    idp_parts = [d for p in parts for d in p["idps"]]
    idps = pd.concat(idp_parts, ignore_index=True) if idp_parts else pd.DataFrame()
    log.info("backtest cm (%s): %d origins x %d seeds, %d scored rows in %.0f s",
             backend.name if backend else "local", len(origins), len(seeds), len(frame),
             time.perf_counter() - t0)  # fmt: skip
    return {"forecasts": frame, "idps": idps, "weights": weights, "dropped": dropped,
            **evaluate(frame)}  # fmt: skip


def long_from_rows(rows: pd.DataFrame, period: str = "month_id") -> pd.DataFrame:
    """Backtest rows (one array of draws per row) as a long frame with one row per draw:
    ``origin, period, iso3, target, draw, outcome`` (for the ViEWS writers)."""
    lengths = rows["draws"].map(len).to_numpy()
    rep = np.repeat(np.arange(len(rows)), lengths)
    base = rows.iloc[rep][["origin", period, "iso3", "target"]].reset_index(drop=True)
    base["draw"] = np.concatenate([np.arange(n) for n in lengths]) if len(rows) else []
    base["outcome"] = np.concatenate(rows["draws"].to_numpy()) if len(rows) else []
    return base


TABLES = ("scores", "scores_by_horizon", "overall", "overall_by_seed", "by_target", "by_horizon",
          "seed_spread", "pit", "goals", "verdict", "weights", "dropped", "setup",
          "calibrations")  # fmt: skip


def write_backtest(result: dict[str, Any], folder: Path, *, level: str = "cm") -> list[Path]:
    """Every forecast in the ViEWS layout with ``origin`` (``FOLDER/forecasts/{forecaster}/
    seed{seed}/forecast_ged_{t}_country_month.parquet``, plus the displaced stocks) and the
    tables as CSV, written as one atomic set; returns the paths."""
    folder = Path(folder)
    period = "month_id" if level == "cm" else "year"
    items: list[tuple[Path, Writer]] = []
    fc = result["forecasts"]
    idps = result.get("idps", pd.DataFrame())
    for (name, seed), g in fc.groupby(["forecaster", "seed"], sort=True):
        long = long_from_rows(g, period)
        if level == "cm" and len(idps):
            extra = idps[(idps["forecaster"] == name) & (idps["seed"] == seed)]
            long = pd.concat([long, extra[list(long.columns)]], ignore_index=True)
        items += forecast_set_items(long, folder / "forecasts" / str(name) / f"seed{seed}", level)
    for name in TABLES:
        table = result.get(name)
        if isinstance(table, pd.DataFrame):
            items.append((folder / f"{name}.csv", lambda p, d=table: d.to_csv(p, index=False)))
    return write_all_atomic(items)
