"""(d) Scenario projections: the scenarios run for the report and their fan charts (median,
50 % and 90 % bands; projection start marked) with the observed series over them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from sahelsim.core.canon import month_id
from sahelsim.forecast.filtered import anchor_dataset
from sahelsim.model.engine import Record
from sahelsim.model.space import Space
from sahelsim.report.html import note, table
from sahelsim.report.projection import ProjectionStart, headline_rows
from sahelsim.scenarios.run import HISTORY_START, month_label, project_scenario
from sahelsim.scenarios.run import run_scenario as run_model_scenario
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.viz.fans import FAN_SERIES, fan_figure, fan_table
from sahelsim.viz.figures import FigureSet
from sahelsim.viz.observed import observed_series
from sahelsim.viz.runs import SIM_START, RunInput, ScenarioRuns, summarise_runs
from sahelsim.viz.text import esc

log = logging.getLogger(__name__)

__all__ = ["MAP_SCENARIO", "SIM_END_YEAR", "observed_series", "run_scenarios", "section_scenarios"]

#: Simulated span: the model's history start (the spin-up) to December of this year.
SIM_END_YEAR = 2030
#: The map scenario (falls back to the first scenario run when it is not among them).
MAP_SCENARIO = "acceleration"
MAP_CELL_VARS = ("deaths", "hold", "idp")

Progress = Callable[[str, int, int], None]


def run_scenarios(
    names: Sequence[str],
    *,
    data_dir: Path | None,
    members: int,
    seed: int,
    progress: Progress | None,
    step: int,
    total: int,
    space: Space,
    start: ProjectionStart,
    headline_scenario: str,
) -> tuple[ScenarioRuns, list[dict[str, Any]]]:
    """Run every scenario (one at a time, each dataset dropped once summarised) from ``start``:
    projected from its filtered ensemble (same members and seed for every scenario), or freely
    from 2012-01; the map scenario also records the cell variables. Returns the summaries and
    the headline rows of ``headline_scenario`` (:func:`headline_rows`)."""
    map_sc = MAP_SCENARIO if MAP_SCENARIO in names else names[0]
    rows: list[dict[str, Any]] = []

    def one(name: str) -> xr.Dataset:
        record = Record(cells=MAP_CELL_VARS if name == map_sc else ())
        f = start.filtered
        if f is not None:
            ds = project_scenario(name, state0=f.state, param_matrix=f.param_matrix,
                                  start=start.first, months=start.months, space=space,
                                  members=members, seed=seed, record=record,
                                  present=f.describe())  # fmt: skip
            if start.ratio is not None:  # each member i continues filtered row i % n
                ds = anchor_dataset(ds, start.ratio[np.arange(members) % len(start.ratio)])
            return ds
        return run_model_scenario(name, data_dir=data_dir, members=members,
                                  months=int(month_id(SIM_END_YEAR, 12)) - HISTORY_START + 1,
                                  start=SIM_START, seed=seed, record=record,
                                  space=space)  # fmt: skip

    def each() -> Iterator[RunInput]:
        nonlocal rows
        for i, name in enumerate(names):
            if progress:
                progress(f"scenario {name}", step + i, total)
            t0 = time.perf_counter()
            ds = one(name)
            if name == headline_scenario:
                rows = headline_rows(ds, start.first)
            title = str(ds.attrs.get("scenario_title", name))
            yield RunInput(name, title, ds, ds if name == map_sc else None)
            log.info(
                "report: scenario %s, %d members, %.1f s", name, members, time.perf_counter() - t0
            )
            del ds

    runs = summarise_runs(each(), space, projection_start=start.first)
    return runs, rows


def _intro(runs: ScenarioRuns, names: Sequence[str], members: int, start: ProjectionStart) -> str:
    rows = []
    for n in names:
        sc = load_scenario(n)
        rows.append(
            {
                "name": n,
                "title": sc.title,
                "description": sc.description,
                "section": sc.article_section,
            }
        )
    begin = month_label(runs.projection_start)
    f = start.filtered
    if f is not None:
        rows_note = (
            f" (member i starts from filtered member i mod {f.members})"
            if members != f.members
            else ""
        )
        how = (
            f"{members} ensemble members per scenario, projected monthly from {begin} to"
            f" {SIM_END_YEAR}-12 from {esc(f.describe())}: the members conditioned on the"
            f" observations up to {month_label(f.until)}, each with its own filtered"
            f" parameters{rows_note}. Every scenario starts from the same members with the same"
            " seed, so scenario comparisons are paired; the levers act from the first projected"
            " month. The charts show the projection only; the markers before it are"
            " observed." + (f" Note: {esc(start.caveat)}." if start.caveat else "")
        )
    else:
        param_text = (
            "parameters drawn per member from the shipped calibrated posterior"
            if runs.parameters == "posterior"
            else "the prior default parameters (uncalibrated)"
        )
        how = (
            f"{members} ensemble members per scenario, a free run simulated monthly from"
            f" {SIM_START} (the history, used as spin-up) to {SIM_END_YEAR}-12 with {param_text};"
            f" not conditioned on the observations ({esc(start.why)}). The projection starts"
            f" in {begin} (dashed line)."
        )
    return note(
        how + " Bands: 50 % and 90 % intervals across members; line: median. Deaths are yearly"
        " sums of the monthly values; territory and IDPs are monthly. Use the menu at the"
        " top right of each chart for one country; the default is the three states"
        " together (territory weighted by area)."
    ) + table(
        pd.DataFrame(rows),
        [
            ("name", "scenario"),
            ("title", "title"),
            ("description", "description"),
            ("section", "article section"),
        ],
        cls="small prose",
    )


def section_scenarios(
    runs: ScenarioRuns,
    names: Sequence[str],
    cy: pd.DataFrame | None,
    figs: FigureSet,
    members: int,
    start: ProjectionStart,
) -> str:
    """The scenario table and the four fan charts."""
    deaths, civ, idp = observed_series(cy)
    charts = (
        (
            "deaths",
            "Fatalities (all UCDP violence types)",
            "deaths per year",
            deaths,
            ",.0f",
            "Observed: UCDP country-year best estimates.",
        ),
        (
            "civilians",
            "Civilians killed by perpetrator (state side: army, militias, Russians)",
            "one-sided deaths per year",
            civ,
            ",.0f",
            "Observed UCDP one-sided deaths: by the government (compare with the state"
            " side) and by non-state groups (compare with JNIM + IS Sahel).",
        ),
        (
            "territory",
            "Territory held by the state (share of area)",
            "share of area",
            None,
            ".2f",
            "No observed series: territorial control is not in the staged data.",
        ),
        (
            "idps",
            "Displacement: internally displaced people hosted",
            "people",
            idp,
            ",.0f",
            "Observed: UNHCR end-year stocks (IDMC where UNHCR has none).",
        ),
    )
    units = {
        "deaths": "deaths per year",
        "civilians": "civilians killed per year (one-sided violence)",
        "territory": "share of the state's area held (0-1)",
        "idps": "people (internally displaced, end of month)",
    }
    parts = [_intro(runs, names, members, start)]
    for key, title, ytitle, observed, yfmt, caption in charts:
        fig = fan_figure(
            runs,
            names,
            FAN_SERIES[key],
            title=title,
            ytitle=ytitle,
            observed=observed,
            yformat=yfmt,
        )
        parts.append(
            figs.add(
                f"fan_{key}",
                fig,
                caption=caption + " The axis is scaled to the central bands; a 90 % band may"
                " run past the top.",
                units=units[key],
                source="simulated: sahelsim ensemble"
                + ("; observed: UCDP, UNHCR/IDMC" if observed else ""),
                data=fan_table(runs, names, FAN_SERIES[key], observed=observed),
            )
        )
    return "".join(parts)
