"""Running scenarios: build the space, drivers and parameters, simulate, write outputs.

This is the API the CLI, the report and the dashboard call; it holds no dynamics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sahelsim.core.atomic import write_all_atomic
from sahelsim.core.backend import Backend
from sahelsim.core.canon import month_id, month_id_to_year_month
from sahelsim.grid.build import build_grid
from sahelsim.model.engine import Record, summarise
from sahelsim.model.params import SPECS, Params
from sahelsim.model.space import Space
from sahelsim.model.state import State
from sahelsim.scenarios.ensemble import simulate_members
from sahelsim.scenarios.posterior import load_posterior
from sahelsim.scenarios.scenario import Scenario, check_name, load_scenario
from sahelsim.scenarios.setup import build_drivers, space_from_grid

log = logging.getLogger(__name__)

#: First projection month: the month after the latest UCDP country-year data (2024).
PROJECTION_START = int(month_id(2025, 1))
HISTORY_START = int(month_id(2012, 1))


def parse_month(text: str | int) -> int:
    """VIEWS month id from ``YYYY-MM`` (or pass a month id through)."""
    if isinstance(text, (int, np.integer)):
        return int(text)
    y, m = str(text).split("-")[:2]
    return int(month_id(int(y), int(m)))


def month_label(mid: int) -> str:
    y, m = month_id_to_year_month(mid)
    return f"{int(y):04d}-{int(m):02d}"


@lru_cache(maxsize=4)
def _space_for(data_dir: str, start_year: float) -> Space:
    return space_from_grid(build_grid(Path(data_dir)), start_year)


def make_space(data_dir: Path | None, start_month: int, *, synthetic: bool = False) -> Space:
    """The real study grid when the data directory has it, else (or if asked) the synthetic
    grid (logged as a warning, because results on it are illustrations only)."""
    y, m = month_id_to_year_month(start_month)
    if not synthetic and data_dir is not None:
        try:
            return _space_for(str(data_dir), float(y) + (float(m) - 1) / 12)
        except (FileNotFoundError, OSError) as exc:
            log.warning("study grid unavailable (%s): using the synthetic grid", exc)
    elif not synthetic:
        log.warning("no data directory: using the synthetic grid")
    return Space.synthetic()


def run_scenario(
    scenario: str | Path | Scenario,
    *,
    data_dir: Path | None = None,
    members: int | np.ndarray = 100,
    months: int = 168,
    start: str | int = "2012-01",
    seed: int = 0,
    params: Params | None = None,
    record: Record | None = None,
    synthetic: bool = False,
    projection_start: int | None = PROJECTION_START,
    space: Space | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    spinup: bool = True,
    backend: Backend | None = None,
) -> xr.Dataset:
    """Simulate a scenario; returns the dataset with the scenario's name in ``attrs``.

    With ``spinup`` (default), a start later than January 2012 runs the history from 2012 first
    and returns the months from ``start`` on, so a projection starts from a state shaped by
    the years before it rather than from the 2012 priors. ``backend`` runs the ensemble in
    chunks of members (None: in this process); the numbers do not depend on it.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    first = parse_month(start)
    start_id = HISTORY_START if spinup and first > HISTORY_START else first
    months = months + (first - start_id)
    space = space or make_space(data_dir, start_id, synthetic=synthetic)
    drivers = build_drivers(
        space,
        start_id,
        months,
        levers=sc.lever_series(start_id, months),
        flags=sc.flags,
        projection_start=projection_start,
    )
    pm = None
    if params is None:
        params = default_params()
        ids = np.arange(members) if np.isscalar(members) else np.asarray(members)
        pm = posterior_param_matrix(ids, seed)
    ds = simulate_members(space, params, drivers, members=members, seed=seed, record=record,
                          progress=progress, param_matrix=pm, backend=backend)  # fmt: skip
    ds.attrs["parameters"] = "posterior" if pm is not None else "given"
    ds.attrs.update(scenario=sc.name, scenario_title=sc.title,
                    projection_start=int(projection_start or start_id + months))  # fmt: skip
    if first > start_id:
        ds = ds.sel(month=ds.month >= first)
        ds.attrs["spinup_from"] = int(start_id)
    return ds


def project_scenario(
    scenario: str | Path | Scenario,
    *,
    state0: State,
    param_matrix: np.ndarray | None,
    start: str | int,
    months: int,
    space: Space,
    members: int | np.ndarray = 100,
    seed: int = 0,
    params: Params | None = None,
    record: Record | None = None,
    present: str = "",
    progress: Callable[[str, int, int], None] | None = None,
    backend: Backend | None = None,
) -> xr.Dataset:
    """``months`` months of a scenario from a present ensemble (e.g. a filtered one): the first
    simulated month is ``start`` (the month after the present), and the scenario's levers and
    switches are those in force from ``start`` on (the history before it is the present's own).

    Member ``i`` (a global id) starts from row ``i % rows`` of ``state0`` with that row's
    parameters (``param_matrix``, one row per present member; None: ``params`` for all), so
    two scenarios run with the same members and seed are paired. Coups are drawn by the model
    from ``start`` on. ``present`` (what the run starts from) goes into ``attrs["present"]``.
    The numbers equal one :func:`~sahelsim.model.engine.simulate` call with ``state0`` and do
    not depend on ``backend`` or on its chunks.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    first = parse_month(start)
    ids = np.arange(members) if np.isscalar(members) else np.asarray(members, dtype=np.int64)
    rows = ids % state0.members
    pm = None if param_matrix is None else np.asarray(param_matrix, dtype=np.float64)[rows]
    drivers = build_drivers(space, first, months, levers=sc.lever_series(first, months),
                            flags=sc.flags, projection_start=first)  # fmt: skip
    ds = simulate_members(space, params or default_params(), drivers, members=ids, seed=seed,
                          record=record, progress=progress, param_matrix=pm, backend=backend,
                          state0=state0.take(rows))  # fmt: skip
    ds.attrs.update(parameters="present" if pm is not None else "given", scenario=sc.name,
                    scenario_title=sc.title, projection_start=int(first), present=present,
                    present_members=int(state0.members))  # fmt: skip
    return ds


def default_params() -> Params:
    """The sourced prior defaults (switches all on)."""
    return Params.default()


def posterior_param_matrix(members: np.ndarray, seed: int, posterior=None) -> np.ndarray | None:
    """One parameter row per member drawn from the shipped posterior (parameter uncertainty
    enters the ensemble); None when no posterior ships."""
    post = posterior if posterior is not None else load_posterior()
    if post is None:
        return None
    names = [s.name for s in SPECS]
    pm = np.broadcast_to(Params.default().vector(), (len(members), len(SPECS))).copy()
    rows = post.sample_rows(members, seed)
    for j, name in enumerate(post.names):
        pm[:, names.index(name)] = post.particles[rows, j]
    return pm


def country_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Country aggregates in long form: member, month_id, country, variable, value."""
    vars_ = [v for v in ds.data_vars if ds[v].dims == ("member", "month", "country")]
    df = ds[vars_].to_dataframe().reset_index()
    df = df.drop(columns=[c for c in ("year", "month_of_year") if c in df])
    return df.melt(id_vars=["member", "month", "country"], var_name="variable").rename(
        columns={"month": "month_id"}
    )


#: Dataset attributes copied into the summary table's ``attrs``.
SUMMARY_ATTRS = ("scenario", "present", "start_kind", "projection_start", "present_folder",
                 "present_until", "seed")  # fmt: skip


def summary_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Median and 50 % / 90 % intervals per month, country and variable (``attrs``: where
    the run started, :data:`SUMMARY_ATTRS`)."""
    q = summarise(ds)
    df = q.to_dataframe().reset_index()
    df = df.drop(columns=[c for c in ("year", "month_of_year") if c in df])
    long = df.melt(id_vars=["q", "month", "country"], var_name="variable")
    wide = long.pivot_table(index=["month", "country", "variable"], columns="q", values="value")
    wide.columns = [f"q{round(c * 100):02d}" for c in wide.columns]
    wide = wide.reset_index().rename(columns={"month": "month_id", "q50": "median"})
    wide.insert(1, "date", [month_label(m) for m in wide["month_id"]])
    # where the run started travels with the table (pandas keeps ``attrs`` in Parquet files)
    wide.attrs = {k: str(ds.attrs[k]) for k in SUMMARY_ATTRS if k in ds.attrs}
    return wide


def output_paths(name: str, out: Path) -> list[Path]:
    """The files :func:`write_outputs` writes for scenario ``name`` (a validated scenario name,
    so a file name never holds a separator, a newline or markup)."""
    check_name(name)
    return [out / f"{name}.nc", out / f"{name}_country.parquet", out / f"{name}_summary.csv",
            out / f"{name}_summary.parquet"]  # fmt: skip


def write_outputs(ds: xr.Dataset, out: Path) -> list[Path]:
    """NetCDF of the full dataset, Parquet of the country aggregates, CSV/Parquet summaries.

    Atomic as a set: every file is written to a temporary name in ``out`` and renamed into
    place only when all succeeded; on a failure the previous results are left untouched."""
    paths = output_paths(str(ds.attrs.get("scenario", "run")), Path(out))
    sm = summary_frame(ds)
    writers = [lambda p: ds.to_netcdf(p), lambda p: country_frame(ds).to_parquet(p, index=False),
               lambda p: sm.to_csv(p, index=False), lambda p: sm.to_parquet(p, index=False)]  # fmt: skip
    return write_all_atomic(list(zip(paths, writers, strict=True)))


#: Outcomes compared between scenarios: (variable, how to reduce over the projection window).
OUTCOMES = (
    ("deaths_total", "sum"),
    ("civilians_killed_by_state_side", "sum"),
    ("civilians_killed_by_jnim", "sum"),
    ("civilians_killed_by_issp", "sum"),
    ("civilians_killed_by_other_groups", "sum"),
    ("territory_state", "last"),
    ("territory_jnim", "last"),
    ("territory_issp", "last"),
    ("territory_other", "last"),
    ("territory_contested", "last"),
    ("territory_ungoverned", "last"),
    ("idps", "last"),
    ("refugees", "last"),
    ("fighters_jnim", "last"),
    ("fighters_issp", "last"),
    ("legitimacy", "last"),
    ("coups", "last"),
    ("dependency", "last"),
)


def outcome_table(ds: xr.Dataset, window_start: int) -> xr.Dataset:
    """Per member and country, each outcome reduced over months >= ``window_start``."""
    sub = ds.sel(month=ds.month >= window_start)
    res = {}
    for var, how in OUTCOMES:
        res[var] = sub[var].sum("month") if how == "sum" else sub[var].isel(month=-1)
    return xr.Dataset(res)


def compare(a: xr.Dataset, b: xr.Dataset, window_start: int) -> pd.DataFrame:
    """B minus A for each outcome and country, paired by member (same seed: common random
    numbers), with medians and 50 % / 90 % intervals of the difference."""
    ta, tb = outcome_table(a, window_start), outcome_table(b, window_start)
    rows = []
    for var, how in OUTCOMES:
        for c in ta.country.values:
            xa = ta[var].sel(country=c).values
            xb = tb[var].sel(country=c).values
            d = xb - xa
            q = np.quantile(d, [0.05, 0.25, 0.5, 0.75, 0.95])
            rows.append({
                "outcome": var, "reduce": how, "country": str(c),
                "a_median": float(np.median(xa)), "b_median": float(np.median(xb)),
                "diff_median": q[2], "diff_q05": q[0], "diff_q25": q[1], "diff_q75": q[3],
                "diff_q95": q[4], "share_b_higher": float(np.mean(d > 0)),
            })  # fmt: skip
    return pd.DataFrame(rows)
