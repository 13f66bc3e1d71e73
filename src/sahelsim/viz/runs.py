"""What the report and the explorer keep of scenario runs: quantiles per region for the fan
charts, cell arrays for the maps (the datasets themselves are dropped).

:func:`summarise_runs` is the one constructor of :class:`ScenarioRuns`; it takes the runs one at
a time (an iterator may run each scenario lazily, so only one dataset is held at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import xarray as xr

from sahelsim.core.canon import CORE_ISO3, ISO3_TO_NAME
from sahelsim.model.fields_table import HOLD_CODES
from sahelsim.scenarios.run import HISTORY_START, PROJECTION_START, month_label
from sahelsim.viz.text import mid_year, to_ms

if TYPE_CHECKING:
    from sahelsim.model.space import Space

__all__ = [
    "CORE",
    "COUNTRY_NAMES",
    "FAN_VARS",
    "QUANTILES",
    "REGIONS",
    "SIM_START",
    "RunInput",
    "ScenarioRuns",
    "region_areas",
    "region_series",
    "summarise_runs",
]

CORE: tuple[str, ...] = tuple(CORE_ISO3)
COUNTRY_NAMES = {**{c: ISO3_TO_NAME[c] for c in CORE}, "AES": "AES (three states)"}
#: The fan charts' regions: the three states together, then each.
REGIONS: tuple[str, ...] = ("AES", *CORE)
#: Simulated from the model's history start (the spin-up).
SIM_START = month_label(HISTORY_START)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Fan chart variables: (variable, flow or stock). Flows are summed per year.
FAN_VARS = {
    "deaths_total": "flow",
    "civilians_killed_by_state_side": "flow",
    "civilians_killed_by_jnim": "flow",
    "civilians_killed_by_issp": "flow",
    "territory_state": "share",
    "idps": "stock",
}


@dataclass
class ScenarioRuns:
    """Summaries of scenario runs on one space (build with :func:`summarise_runs`)."""

    space: Space
    projection_start: int = PROJECTION_START
    titles: dict[str, str] = field(default_factory=dict)
    # (scenario, variable, region) -> (x labels, quantiles (5, T))
    fans: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    parameters: str = ""
    map_scenario: str = ""
    cell_gid: np.ndarray | None = None
    cell_deaths_median: np.ndarray | None = None  # median over members of projection deaths
    cell_state_share: np.ndarray | None = None  # share of members where the state holds
    # control code -> (cell,) share of members where that holder has the cell (last month);
    # codes and labels from the model (HOLD_CODES), never fixed here
    cell_hold_shares: dict[int, np.ndarray] = field(default_factory=dict)
    hold_labels: dict[int, str] = field(default_factory=dict)
    cell_idp_last: np.ndarray | None = None  # (member, cell) IDPs hosted in the last month
    cell_deaths_members: np.ndarray | None = None  # (member, cell) projection deaths
    cell_deaths_year1_members: np.ndarray | None = None  # (member, cell) first 12 months
    last_month: str = ""

    @property
    def has_maps(self) -> bool:
        return self.cell_gid is not None


class RunInput(NamedTuple):
    """One run for :func:`summarise_runs`: its name and title, the country dataset and, for
    the map run, a dataset with ``cell_deaths``, ``cell_hold`` and ``cell_idp``."""

    name: str
    title: str
    ds: xr.Dataset
    cells: xr.Dataset | None = None


def region_areas(space: Space) -> dict[str, float]:
    """Area (km²) of each core country's cells."""
    return {
        c: float(space.area_km2[space.country == space.countries.index(c)].sum())
        for c in CORE
        if c in space.countries
    }


def region_series(ds: xr.Dataset, var: str, how: str, area: dict[str, float]) -> dict[str, Any]:
    """(member, time) arrays per region (AES + each core country) and the time labels
    (key ``_labels``, Plotly date numbers). ``how``: ``flow`` (summed per year), ``share``
    (AES weighted by area) or ``stock``."""
    da = ds[var]
    arr = da.transpose("member", "month", "country").values  # (member, month, country)
    if how == "flow":  # summed per year (NumPy: xarray's groupby took most of a fan's time)
        years = np.asarray(da["year"].values)
        order = np.argsort(years, kind="stable")
        yrs, first = np.unique(years[order], return_index=True)
        arr = np.add.reduceat(arr[:, order], first, axis=1)
        labels = to_ms(mid_year(yrs))
    else:
        labels = to_ms(month_label(int(m)) + "-15" for m in da["month"].values)
    countries = [str(c) for c in da["country"].values]
    out: dict[str, Any] = {"_labels": labels}
    for c in CORE:
        out[c] = arr[:, :, countries.index(c)]
    if how == "share":
        w = np.array([area[c] for c in CORE], dtype=float)
        w = w / w.sum() if w.sum() > 0 else np.full(3, 1 / 3)
        out["AES"] = sum(out[c] * w[i] for i, c in enumerate(CORE))
    else:
        out["AES"] = sum(out[c] for c in CORE)
    return out


def _add_fans(runs: ScenarioRuns, name: str, ds: xr.Dataset, area: dict[str, float]) -> None:
    for var, how in FAN_VARS.items():
        series = region_series(ds, var, how, area)
        labels = series.pop("_labels")
        for region, arr in series.items():
            q = np.quantile(np.asarray(arr, dtype=float), QUANTILES, axis=0)
            runs.fans[(name, var, region)] = (labels, q.astype(np.float32))


def _add_maps(runs: ScenarioRuns, name: str, cells: xr.Dataset) -> None:
    window = cells["cell_deaths"].sel(month=cells.month >= runs.projection_start).sum("month")
    dm = window.transpose("member", "cell").values.astype(float)
    first = (cells.month >= runs.projection_start) & (cells.month < runs.projection_start + 12)
    year1 = cells["cell_deaths"].sel(month=first).sum("month")
    runs.cell_deaths_year1_members = year1.transpose("member", "cell").values.astype(float)
    runs.map_scenario = name
    runs.cell_gid = cells["cell"].values.astype(np.int64)
    runs.cell_deaths_members = dm
    runs.cell_deaths_median = np.median(dm, axis=0)
    hold = cells["cell_hold"].isel(month=-1).transpose("member", "cell").values
    labels = dict(HOLD_CODES)
    for code in np.unique(hold):
        labels.setdefault(int(code), f"code {int(code)}")
    runs.hold_labels = labels
    runs.cell_hold_shares = {c: (hold == c).mean(axis=0) for c in labels}
    state = [c for c, lab in labels.items() if lab == "state"]
    runs.cell_state_share = (
        runs.cell_hold_shares[state[0]] if state else np.zeros(hold.shape[1], dtype=float)
    )
    runs.cell_idp_last = (
        cells["cell_idp"].isel(month=-1).transpose("member", "cell").values.astype(float)
    )
    runs.last_month = month_label(int(cells["month"].values[-1]))


def summarise_runs(
    runs: Iterable[RunInput], space: Space, *, projection_start: int = PROJECTION_START
) -> ScenarioRuns:
    """The fan quantiles of every run and the maps of the run that carries ``cells`` (the
    last one when several do), keeping no dataset."""
    out = ScenarioRuns(space=space, projection_start=projection_start)
    area = region_areas(space)
    for run in runs:
        out.titles[run.name] = run.title
        out.parameters = str(run.ds.attrs.get("parameters", ""))
        _add_fans(out, run.name, run.ds, area)
        if run.cells is not None:
            _add_maps(out, run.name, run.cells)
        del run  # let a lazy iterator drop the dataset before it runs the next
    return out
