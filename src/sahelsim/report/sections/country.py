"""One section per country (Mali, Burkina Faso, Niger): observed against projected (fan charts of
deaths and displaced people with the observed points up to the last data year), the country's
map with its capital and regional capitals, and a watchlist of admin-1 units ranked by projected
deaths with 90 % intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sahelsim.report.html import note, table
from sahelsim.report.projection import window_words
from sahelsim.scenarios.run import month_label
from sahelsim.viz.fans import FAN_SERIES, Observed, fan_figure, fan_table
from sahelsim.viz.figures import FigureSet
from sahelsim.viz.maps import country_map
from sahelsim.viz.places import watchlist
from sahelsim.viz.runs import COUNTRY_NAMES, ScenarioRuns
from sahelsim.viz.text import esc, fmt_num

__all__ = ["WATCHLIST_ROWS", "country_key", "section_country"]

#: Admin-1 units listed per country.
WATCHLIST_ROWS = 10
#: Sources of the fan charts' observed points and of the simulated series.
FAN_SOURCES = {
    "deaths": "observed: UCDP country-year best estimates (all violence types);"
    " simulated: sahelsim ensemble",
    "idps": "observed: UNHCR end-year IDP stocks (IDMC where UNHCR has none);"
    " simulated: sahelsim ensemble",
}


def country_key(iso3: str) -> str:
    """The section anchor of a country."""
    return f"country_{iso3.lower()}"


def _iv(m: float, lo: float, hi: float) -> str:
    if not math.isfinite(m):
        return ""
    return f"{fmt_num(m)} ({fmt_num(lo)} to {fmt_num(hi)})"


def _watchlist_html(wl: pd.DataFrame, runs: ScenarioRuns) -> str:
    start = runs.projection_start
    y1 = f"{month_label(start)} to {month_label(start + 11)}"
    t = wl.head(WATCHLIST_ROWS).copy()
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    t["year1"] = [_iv(*v) for v in zip(t.year1_median, t.year1_q05, t.year1_q95, strict=True)]
    t["allp"] = [_iv(*v) for v in zip(t.all_median, t.all_q05, t.all_q95, strict=True)]
    return (
        "<h3>Watchlist: admin-1 units by projected deaths</h3>"
        + note(
            f"Median and 90 % interval over members of the simulated deaths in each unit"
            f" ({esc(runs.titles.get(runs.map_scenario, runs.map_scenario))}); cells are split"
            " between units by area (Natural Earth admin-1 polygons). Ranked by the first"
            " projection year."
        )
        + table(
            t,
            [
                ("rank", "rank"),
                ("unit", "admin-1 unit"),
                ("year1", f"deaths {y1}"),
                ("allp", f"deaths {month_label(start)} to {runs.last_month}"),
            ],
            cls="small watchlist",
        )
    )


def section_country(
    iso3: str,
    *,
    runs: ScenarioRuns,
    names: Sequence[str],
    observed: tuple[Observed, Observed],
    headline: dict[str, Any] | None,
    admin1: pd.DataFrame | None,
    weights: np.ndarray | None,
    last_year: str,
    figs: FigureSet,
) -> str:
    """The section of one country; ``observed``: (deaths, IDPs) per region as the fan charts
    take them; ``weights``: the cells' admin-1 shares (None without polygons)."""
    name = COUNTRY_NAMES[iso3]
    parts = []
    if headline:
        in_window, at_end = window_words(runs.projection_start)
        parts.append(
            note(
                f"Reference scenario: <strong>{fmt_num(headline['deaths_median'])}</strong>"
                f" deaths {in_window} (90 %: {fmt_num(headline['deaths_q05'])} to"
                f" {fmt_num(headline['deaths_q95'])}) and <strong>"
                f"{fmt_num(headline['idps_median'])}</strong> internally displaced people at"
                f" {at_end} (90 %: {fmt_num(headline['idps_q05'])} to"
                f" {fmt_num(headline['idps_q95'])}). Observed data to {esc(last_year)}.",
                cls="note fg",
            )
        )
    charts = (
        ("deaths", f"{name}: deaths per year, observed and projected", "deaths per year",
         observed[0], "deaths per year (all UCDP violence types)"),
        ("idps", f"{name}: internally displaced people, observed and projected", "people",
         observed[1], "people (internally displaced, end of month)"),
    )  # fmt: skip
    for key, title, ytitle, obs, units in charts:
        fig = fan_figure(runs, names, FAN_SERIES[key], title=title, ytitle=ytitle,
                         observed=obs, regions=(iso3,))  # fmt: skip
        parts.append(
            figs.add(
                f"{country_key(iso3)}_{key}",
                fig,
                caption="Open markers: observed; line: median of the ensemble; bands: 50 % and"
                " 90 % intervals; dashed line: projection start. The axis is scaled to the"
                " central bands, so a 90 % band may run past the top.",
                units=units,
                source=FAN_SOURCES[key],
                data=fan_table(runs, names, FAN_SERIES[key], regions=(iso3,), observed=obs),
            )
        )
    if runs.has_maps:
        parts.append(country_map(runs, admin1, figs, iso3))
    if runs.has_maps and admin1 is not None and weights is not None:
        mine = (admin1["iso3"] == iso3).to_numpy()
        if mine.any():
            wl = watchlist(runs, admin1[mine].reset_index(drop=True), weights[:, mine])
            parts.append(_watchlist_html(wl, runs))
    else:
        parts.append(note("No admin-1 watchlist: the Natural Earth polygons are not available."))
    return "".join(parts)
