"""Forecasts from an origin month in the ViEWS layout (``sahelsim forecast --origin``).

:func:`forecast_from_origin` gives a forecaster (default :func:`default_model_forecaster`) the
observed country-months up to the origin, and writes

* ``forecast_ged_{sb,ns,os}_country_month.parquet`` (``month_id, country_id, iso3, draw,
  outcome``) for ``level="cm"``: months ``origin + 1 .. origin + horizon``; or
* ``forecast_ged_{sb,ns,os}_country_year.parquet`` (``year, ...``) for ``level="cy"``: the
  ``horizon`` calendar years after a December origin, each draw's months summed;
* ``forecast_idps_country_year.parquet`` (``iso3, year, draw, idps``): the displaced-people
  stock of every December in the horizon, when the forecaster gives it;
* ``PARAMETERS.txt``: origin, horizon, draws, seed and the forecaster;

as one atomic set. Example: ``origin = 2020-08, horizon = 7, level = "cm"`` uses data to
August 2020 and forecasts September 2020 to March 2021 (the ViEWS 2020/21 true-future task).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sahelsim.core.atomic import text_writer, write_all_atomic
from sahelsim.core.canon import month_id_to_year_month
from sahelsim.forecast.filtered import FilteredForecaster
from sahelsim.forecast.forecasters import (
    OBSERVED_COLUMNS,
    TARGETS,
    Forecaster,
    ModelForecaster,
    check_observed_cm,
    check_request,
    history_until,
    month_text,
)
from sahelsim.forecast.readable import readable_items
from sahelsim.forecast.views_io import forecast_set_items, idp_frame, views_from_long
from sahelsim.scenarios.posterior import Posterior

log = logging.getLogger(__name__)

Level = Literal["cm", "cy"]


def default_model_forecaster(data_dir: Path | None, synthetic: bool,
                             observations: pd.DataFrame | None = None,
                             origins: Sequence[int] = (),
                             start: Posterior | str | None = None,
                             members: int = 200, noise_level: str = "month") -> Forecaster:  # fmt: skip
    """The model forecaster of ``sahelsim forecast --origin`` and the backtests: the filtered
    model (:class:`~sahelsim.forecast.filtered.FilteredForecaster`, conditioned on
    ``observations`` up to each origin), or without observations the free-running model
    (posterior predictive from 2012-01, cut at the origin; logged)."""
    if observations is None or not len(observations):
        log.warning("no observations for the filter: the model forecast runs freely from 2012")
        return ModelForecaster(data_dir=data_dir, synthetic=synthetic)
    return FilteredForecaster(observations, data_dir=data_dir, synthetic=synthetic,
                              origins=origins, start=start, members=members,
                              noise_level=noise_level)  # fmt: skip


def check_origin(origin: int, horizon: int, level: Level, data_end: int) -> None:
    """Errors naming the option and the allowed range: ``origin`` at most the data's last
    month (``data_end``), a December for ``cy``; ``horizon`` >= 1."""
    if level not in ("cm", "cy"):
        raise ValueError(f"level must be 'cm' or 'cy', got {level!r}")
    if int(origin) > int(data_end):
        raise ValueError(f"origin {month_text(origin)} is after the data's last month "
                         f"{month_text(data_end)} (allowed: up to {month_text(data_end)})")  # fmt: skip
    if level == "cy" and month_id_to_year_month(int(origin))[1] != 12:
        raise ValueError(f"origin {month_text(origin)}: country-year forecasts start from a "
                         "December origin (YYYY-12)")  # fmt: skip
    if int(horizon) < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")


def to_country_year(long: pd.DataFrame) -> pd.DataFrame:
    """Monthly deaths draws summed per (year, iso3, target, draw) over complete years; the
    ``idps`` rows (December stocks) are kept as they are."""
    deaths = long[long["target"].isin(TARGETS)].copy()
    deaths["year"] = month_id_to_year_month(deaths["month_id"].to_numpy(dtype=np.int64))[0]
    n_months = deaths.groupby("year")["month_id"].nunique()
    full = n_months.index[n_months.to_numpy() == 12]
    deaths = deaths[deaths["year"].isin(full)]
    out = deaths.groupby(["year", "iso3", "target", "draw"], as_index=False)["outcome"].sum()
    return pd.concat([out, long[long["target"] == "idps"]], ignore_index=True)


def _frames(long: pd.DataFrame, level: str) -> dict[str, pd.DataFrame]:
    """The ViEWS frames of a long forecast, by target (``idps`` when it has such rows)."""
    out = {t: views_from_long(long, t, level) for t in TARGETS if (long["target"] == t).any()}
    if (long["target"] == "idps").any():
        out["idps"] = idp_frame(long)
    return out


def forecast_from_origin(
    observed: pd.DataFrame | None,
    *,
    origin: int,
    horizon: int,
    level: Level = "cm",
    out: Path,
    draws: int = 1000,
    seed: int = 0,
    data_end: int | None = None,
    model_forecaster: Forecaster | None = None,
    data_dir: Path | None = None,
    synthetic: bool = False,
    observations: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Forecast from ``origin`` (month id) for ``horizon`` months (``cm``) or years (``cy``);
    returns ``{sb, ns, os, [idps,] parameters, summary, readme: path}`` (the summary CSV and
    the README are for people: :mod:`sahelsim.forecast.readable`). ``observed``: country-months
    ``iso3, month_id, sb, ns, os`` (None: an empty history); ``data_end``: the last month of
    the data of this level (default: the last month of ``observed``)."""
    hist = (check_observed_cm(observed) if observed is not None
            else pd.DataFrame(columns=list(OBSERVED_COLUMNS)))  # fmt: skip
    if data_end is None:
        if hist.empty:
            raise ValueError("no observed data: give data_end (the data's last month)")
        data_end = int(hist["month_id"].max())
    check_origin(origin, horizon, level, data_end)
    months = int(horizon) * (12 if level == "cy" else 1)
    check_request(origin, months, draws)
    fc = model_forecaster if model_forecaster is not None else default_model_forecaster(
        data_dir, synthetic, observations, (int(origin),),
        noise_level="year" if level == "cy" else "month")  # fmt: skip
    long = fc(history_until(hist, origin), int(origin), months, int(draws), int(seed))
    got = sorted(set(long.loc[long["target"].isin(TARGETS), "month_id"]))
    want = list(range(int(origin) + 1, int(origin) + months + 1))
    if got != want:
        raise ValueError(f"the forecaster returned months {got[:3]}..., expected "
                         f"{month_text(want[0])}..{month_text(want[-1])}")  # fmt: skip
    frame = to_country_year(long) if level == "cy" else long
    items = forecast_set_items(frame, out, level)
    note = (f"origin={month_text(origin)} horizon={horizon} level={level} draws={draws} "
            f"seed={seed} forecaster={fc!r}\n")  # fmt: skip
    items.append((Path(out) / "PARAMETERS.txt", text_writer(note)))
    n_files = len(items)
    items += readable_items(_frames(frame, level), out, level,
                            f"From the origin {month_text(origin)}, {horizon}"
                            f" {'months' if level == 'cm' else 'years'} ahead, {draws} draws,"
                            f" seed {seed}. Forecaster: {fc!r}.")  # fmt: skip
    written = write_all_atomic(items)
    paths, extra = written[:n_files], written[n_files:]
    names = [p.name for p in paths]
    keys = [next((t for t in (*TARGETS, "idps") if f"_{t}_" in n), "parameters") for n in names]
    log.info("forecast from %s: %d files in %s", month_text(origin), len(written), out)
    return dict(zip(keys, paths, strict=True)) | dict(zip(("summary", "readme"), extra,
                                                          strict=True))  # fmt: skip
