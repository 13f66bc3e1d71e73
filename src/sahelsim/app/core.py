"""Framework-free glue between the scenario explorer and the library.

Everything the browser app needs that is not drawing widgets lives here, so the Streamlit page
(:mod:`sahelsim.app.streamlit_app`) stays a thin client and the tests and the benchmark can call
the same code without a server:

* :func:`make_request` (from :mod:`sahelsim.app.inputs`) validates what a user typed (scenario,
  lever values, members, seed, horizon) into a canonical, hashable :class:`RunRequest`, or
  raises :class:`InputError` whose message lists every problem (the library's own
  :class:`~sahelsim.scenarios.scenario.ScenarioError` lines for levers);
* :func:`run_cached` projects the ensemble from the present state (:mod:`sahelsim.app.present`:
  the cached December-2024 state of a spin-up from 2012, or a filtered ensemble), so a request
  simulates 2025 onwards only, and keeps the last results in a process-wide cache keyed by the
  request (one computation per key even when several sessions ask at once); requests that
  overlap run in parallel, up to the cores available (:class:`sahelsim.app.pool.Runner`);
* :func:`fan_figures` and :func:`map_figures` build Plotly figures with the figures layer shared
  with the HTML report (:mod:`sahelsim.viz`), :func:`compare_table` wraps
  :func:`sahelsim.scenarios.run.compare`, :func:`claims_table` reads the cached audit or runs
  :func:`sahelsim.claims.audit` without the model.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr

from sahelsim.app import inputs
from sahelsim.app.inputs import (  # noqa: F401 (re-exported: callers use core.<name>)
    DEFAULT_MEMBERS,
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    MAX_MEMBERS,
    MAX_MONTHS,
    MAX_SEED,
    MIN_MEMBERS,
    MIN_MONTHS,
    InputError,
    LeverItems,
    RunRequest,
    Value,
    apply_levers,
    build_scenario,
    changed_levers,
    lever_defaults,
    make_request,
    parse_lever_text,
    request_from_params,
    url_value,
)
from sahelsim.app.observed import fan_observed
from sahelsim.app.pool import Runner
from sahelsim.app.present import ENV_PRESENT, PresentProvider, present_provider, project
from sahelsim.app.settings import DEFAULT_CLAIMS_CSV, ENV_APP_CACHE, ENV_CLAIMS, ENV_GRID
from sahelsim.claims.audit import audit
from sahelsim.core.config import ENV_CACHE, resolve_data_dir
from sahelsim.data.store.store import Store
from sahelsim.evidence.ingest import ingest_all
from sahelsim.grid.build import NATURALEARTH_FOLDER
from sahelsim.model.engine import Record
from sahelsim.scenarios.run import (
    HISTORY_START,
    PROJECTION_START,
    compare,
    make_space,
    month_label,
    summary_frame,
)
from sahelsim.scenarios.scenario import Scenario, list_scenarios
from sahelsim.viz.fans import FAN_SERIES, fan_figure
from sahelsim.viz.figures import FigureSet
from sahelsim.viz.maps import load_admin1
from sahelsim.viz.maps import map_figures as draw_maps
from sahelsim.viz.runs import RunInput, ScenarioRuns, summarise_runs
from sahelsim.viz.text import plotly_text

if TYPE_CHECKING:
    from sahelsim.model.space import Space

log = logging.getLogger(__name__)

__all__ = [
    *inputs.__all__,
    "CACHE_SIZE",
    "DEFAULT_CLAIMS_CSV",
    "ENV_CLAIMS",
    "ENV_GRID",
    "FANS",
    "MAP_MEMBERS",
    "Result",
    "cached_claims",
    "claims_csv_path",
    "claims_table",
    "clear_cache",
    "compare_table",
    "default_data_dir",
    "fan_figures",
    "fan_figures_for",
    "map_figures",
    "map_figures_for",
    "month_label",
    "prebuild",
    "present_source",
    "run_cached",
    "set_provider",
    "warm_worker",
    "space_for",
    "yearly_summary",
]

#: Members whose cell-level maps are recorded (the rest keep country aggregates only: a member's
#: numbers do not depend on which others run with it, so this split changes no result).
MAP_MEMBERS = 25
MAP_CELL_VARS = ("deaths", "hold", "idp")
#: Cached results kept in memory (each holds one ensemble's country aggregates).
CACHE_SIZE = 8
#: Fan charts: id -> (series (variable, label, colour), title, y-axis title, y format).
FANS: dict[str, tuple[tuple[tuple[str, str, str], ...], str, str, str]] = {
    "deaths": (FAN_SERIES["deaths"], "Fatalities", "deaths per year (all UCDP types)", ",.0f"),
    "civilians": (
        FAN_SERIES["civilians"],
        "Civilians killed, by perpetrator",
        "one-sided deaths per year",
        ",.0f",
    ),
    "territory": (FAN_SERIES["territory"], "Territory held by the state", "share of area", ".2f"),
    "idps": (FAN_SERIES["idps"], "Internally displaced people", "people hosted", ",.0f"),
}


# -- data location -----------------------------------------------------------------------------


def default_data_dir() -> str | None:
    """The staged data (``resolve_data_dir()``) when it holds the grid inputs, else None (the
    synthetic grid); ``SAHELSIM_APP_GRID=synthetic`` forces the synthetic grid."""
    if os.environ.get(ENV_GRID, "").strip().lower() == "synthetic":
        return None
    d = resolve_data_dir()
    return str(d) if (d / NATURALEARTH_FOLDER).is_dir() else None


@lru_cache(maxsize=4)
def space_for(data_dir: str | None) -> Space:
    """The model space of a data directory (None: the synthetic grid), cached."""
    if data_dir is None:
        return make_space(None, HISTORY_START, synthetic=True)
    return make_space(Path(data_dir), HISTORY_START)


@lru_cache(maxsize=2)
def _admin1(data_dir: str | None) -> pd.DataFrame | None:
    return load_admin1(None if data_dir is None else Path(data_dir))


# -- running -----------------------------------------------------------------------------------


@dataclass
class Result:
    """One ensemble: the country aggregates of every member (``ds``, 2012-01 to the horizon)
    and the cell variables of the first :data:`MAP_MEMBERS` members over the projection
    (``cells``, from 2025-01)."""

    request: RunRequest
    scenario: Scenario
    ds: xr.Dataset
    cells: xr.Dataset
    seconds: float
    grid: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        t = self.scenario.title
        return t + (" - with your lever changes" if self.request.levers else "")

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Median and 50 % / 90 % intervals per month, country and variable."""
        return summary_frame(self.ds)

    @cached_property
    def yearly(self) -> pd.DataFrame:
        """:func:`yearly_summary` of the run."""
        return yearly_summary(self.ds)

    def summary_csv(self) -> bytes:
        """The yearly summary as CSV, the run's settings and levers as ``#`` lines first."""
        req = self.request
        levers = (
            "; ".join(f"{lv}{'.' + c if c else ''} = {v}" for lv, c, v in req.levers)
            if req.levers
            else "none (the scenario as shipped)"
        )
        head = [
            f"# sahelsim scenario explorer: {self.title}",
            f"# scenario: {req.scenario}; members: {req.members}; seed: {req.seed};"
            f" months: {month_label(int(self.ds.month[0]))} to {month_label(req.end_month)}"
            f" (projection from {month_label(PROJECTION_START)})",
            f"# projections start from {self.meta.get('present') or 'a spin-up from 2012-01'}",
            f"# levers changed (from {req.effective}): {levers}",
            f"# grid: {self.grid}; parameters: {self.meta.get('parameters') or 'prior'}",
            "# values: median and 5/25/75/95 % quantiles over members; flows summed over the"
            " year, stocks and shares in December (or the last month simulated)",
        ]
        body = self.yearly.to_csv(index=False, float_format="%.6g", lineterminator="\n")
        return ("\n".join(head) + "\n" + body).encode("utf-8")

    def netcdf_bytes(self) -> bytes:
        """The ensemble as NetCDF-4: every country variable by member and month, plus the map
        members' cell variables over the projection."""
        proj = self.cells.sel(month=self.cells.month >= PROJECTION_START)
        cells = proj.rename({"member": "map_member"}).drop_vars(
            [c for c in ("year", "month_of_year") if c in proj.coords]
        )
        ds = xr.merge(
            [self.ds.drop_vars("cell", errors="ignore"), cells.rename(month="cell_month")],
            compat="override",
            combine_attrs="override",
        )
        ds.attrs.update(
            scenario=self.request.scenario,
            levers=json.dumps(self.request.lever_mapping),
            levers_effective=self.request.effective,
            members=int(self.request.members),
            grid=self.grid,
        )
        encoding = {v: {"zlib": True, "complevel": 1} for v in ds.data_vars}
        with tempfile.TemporaryDirectory(prefix="sahelsim-app-") as tmp:
            path = Path(tmp) / "run.nc"
            ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
            return path.read_bytes()


#: Variables summed over a year in the yearly summary (the others are read in December).
FLOW_VARS = ("deaths_", "civilians_killed_", "state_losses", "displaced_new")
_UNIT = re.compile(r"\(([^()]*)\)\s*$")
_COUNTRY_NAMES = {"MLI": "Mali", "BFA": "Burkina Faso", "NER": "Niger"}


def yearly_summary(ds: xr.Dataset) -> pd.DataFrame:
    """One row per year, country and country variable: what it is, its unit, how the year is
    reduced (flows summed, stocks at the year's last month) and the median and 5/25/75/95 %
    quantiles over members."""
    frames = []
    years = ds["year"].values if "year" in ds.coords else ds["month"].values // 12
    for var in ds.data_vars:
        da = ds[var]
        if set(da.dims) != {"member", "month", "country"}:
            continue
        desc = str(da.attrs.get("description", ""))
        m = _UNIT.search(desc)
        unit = m.group(1) if m else ""
        flow = var.startswith(FLOW_VARS)
        g = da.assign_coords(yr=("month", years)).groupby("yr")
        red = g.sum("month") if flow else g.last("month")
        q = red.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="member")
        arr = q.transpose("quantile", "yr", "country").values
        for j, country in enumerate(q["country"].values):
            frames.append(
                pd.DataFrame(
                    {
                        "year": q["yr"].values.astype(int),
                        "country": _COUNTRY_NAMES.get(str(country), str(country)),
                        "variable": var,
                        "description": _UNIT.sub("", desc).strip(),
                        "unit": (unit + " per year") if flow and unit else unit,
                        "how": "sum over the year" if flow else "value in December",
                        "median": arr[2, :, j],
                        "q05": arr[0, :, j],
                        "q25": arr[1, :, j],
                        "q75": arr[3, :, j],
                        "q95": arr[4, :, j],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


_RUN_LOCK = threading.Lock()  # one simulation at a time in a process
_CACHE_LOCK = threading.Lock()
_CACHE: OrderedDict[RunRequest, Future[Result]] = OrderedDict()
_PROVIDER: list[PresentProvider] = []


def provider() -> PresentProvider:
    """Where projections start (:func:`sahelsim.app.present.present_provider`, made once)."""
    with _CACHE_LOCK:
        if not _PROVIDER:
            _PROVIDER.append(present_provider())
        return _PROVIDER[0]


def set_provider(p: PresentProvider | None) -> None:
    """Use ``p`` for the following runs (None: from the environment again); clears the cache."""
    with _CACHE_LOCK:
        _PROVIDER.clear()
        if p is not None:
            _PROVIDER.append(p)
    clear_cache()


def _grid_text(data_dir: str | None) -> str:
    return "study grid" if data_dir is not None else "synthetic grid (illustration only)"


def present_source(req: RunRequest) -> str:
    """Where the request's projection starts (builds the present when it is not cached)."""
    sc = build_scenario(req)
    space = space_for(req.data_dir)
    pres = provider().present(space, sc, members=req.members, seed=req.seed,
                              grid=_grid_text(req.data_dir))  # fmt: skip
    return pres.description


def _simulate(req: RunRequest) -> Result:
    t0 = time.perf_counter()
    sc = build_scenario(req)
    space = space_for(req.data_dir)
    grid = _grid_text(req.data_dir)
    nmap = min(req.members, MAP_MEMBERS)
    with _RUN_LOCK:
        prov = provider()
        built = getattr(prov, "built", 0)
        pres = prov.present(space, sc, members=req.members, seed=req.seed, grid=grid)
        spun = getattr(prov, "built", 0) > built
        t1 = time.perf_counter()
        common = {"months": req.months, "seed": req.seed}
        a, cells = project(pres, space, sc, members=np.arange(nmap),
                           record=Record(cells=MAP_CELL_VARS), **common)  # fmt: skip
        b = None
        if req.members > nmap:
            b, _ = project(pres, space, sc, members=np.arange(nmap, req.members),
                           record=Record(cells=()), **common)  # fmt: skip
    ds = a if b is None else xr.concat([a, b], dim="member", combine_attrs="override")
    ds.attrs["members"] = int(req.members)
    seconds = time.perf_counter() - t0
    log.info("app: ran %s (%d members, %d months from %s) in %.2f s (present %.2f s)", req.label,
             req.members, req.months, month_label(pres.start), seconds, t1 - t0)  # fmt: skip
    assert cells is not None
    meta = {"parameters": a.attrs.get("parameters", ""), "present": pres.description,
            "present_s": t1 - t0, "spun_up": spun, "pid": os.getpid()}  # fmt: skip
    return Result(req, sc, ds, cells, seconds, grid, meta)


def warm_worker(data_dir: str | None) -> int:
    """A worker's start: the library imported (by unpickling this function) and the grid."""
    space_for(data_dir)
    return os.getpid()


#: Runs requests here or, when they overlap, in worker processes (the settings they inherit).
RUNNER: Runner[RunRequest, Result] = Runner(
    _simulate,
    env_keys=(ENV_GRID, ENV_CLAIMS, ENV_PRESENT, ENV_APP_CACHE, ENV_CACHE, "SAHELSIM_DATA"),
)


def prebuild(
    data_dir: str | None,
    *,
    members: int = DEFAULT_MEMBERS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[tuple[str, str]]:
    """Build the cached present of every shipped scenario (scenarios sharing a history share
    one) and the observed panel, so the explorer's first chart needs no spin-up; returns
    (scenario, where its projections start)."""
    names = list_scenarios()
    out = []
    for i, name in enumerate(names):
        if progress:
            progress("present", i, len(names) + 1)
        out.append((name, present_source(make_request(name, members=members, seed=seed,
                                                      data_dir=data_dir))))  # fmt: skip
    if progress:
        progress("observed data", len(names), len(names) + 1)
    fan_observed(data_dir)
    if progress:
        progress("done", len(names) + 1, len(names) + 1)
    return out


def run_cached(
    req: RunRequest, *, compute: Callable[[RunRequest], Result] | None = None
) -> tuple[Result, bool]:
    """The result for ``req`` and whether it came from the cache.

    Concurrent callers with the same request wait for one computation; the least recently used
    of :data:`CACHE_SIZE` results is dropped. A failed run is not cached.
    """
    with _CACHE_LOCK:
        fut = _CACHE.get(req)
        hit = fut is not None
        if hit:
            _CACHE.move_to_end(req)
        else:
            fut = Future()
            _CACHE[req] = fut
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    if hit:
        return fut.result(), True
    try:
        res = (compute or RUNNER.run)(req)
    except BaseException as exc:
        with _CACHE_LOCK:
            if _CACHE.get(req) is fut:
                del _CACHE[req]
        fut.set_exception(exc)
        raise
    fut.set_result(res)
    return res, False


def clear_cache() -> None:
    """Forget every cached run and figure."""
    with _CACHE_LOCK:
        _CACHE.clear()
    fan_figures_for.cache_clear()
    map_figures_for.cache_clear()


# -- figures -----------------------------------------------------------------------------------


def _summaries(items: Sequence[tuple[str, Result]], *, maps: bool = False) -> ScenarioRuns:
    """The runs as the shared figures take them (the first result's cells when ``maps``)."""
    space = space_for(items[0][1].request.data_dir)
    return summarise_runs(
        (
            RunInput(name, res.title, res.ds, res.cells if maps and i == 0 else None)
            for i, (name, res) in enumerate(items)
        ),
        space,
        projection_start=PROJECTION_START,
    )


def fan_figures(items: Sequence[tuple[str, Result]]) -> dict[str, go.Figure]:
    """Fan charts (median, 50 % and 90 % bands; a menu picks the AES or one country) of
    :data:`FANS`, one panel per ``(name, result)``, built by :func:`sahelsim.viz.fan_figure`,
    with the observed points of the staged data (:mod:`sahelsim.app.observed`) over them."""
    runs = _summaries(items)
    names = [n for n, _ in items]
    panel_titles = {plotly_text(runs.titles[n]) for n in names}
    observed = fan_observed(items[0][1].request.data_dir)
    out = {}
    for fid, (series, title, ytitle, yfmt) in FANS.items():
        fig = fan_figure(runs, names, list(series), title=title, ytitle=ytitle, yformat=yfmt,
                         observed=observed.get(fid))  # fmt: skip
        fig.update_layout(height=min(int(fig.layout.height or 460), 460))
        if len(names) == 1:  # the page says which scenario; keep the panel uncluttered
            fig.layout.annotations = [
                a for a in fig.layout.annotations if a.text not in panel_titles
            ]
        out[fid] = fig
    return out


def map_figures(res: Result) -> dict[str, dict[str, Any]]:
    """Maps of the cells (median deaths over the projection, share of members where the state
    holds the cell in the last month) and of admin-1 units (IDPs hosted), built by
    :func:`sahelsim.viz.maps.map_figures`, as Plotly figure dicts (``st.plotly_chart``
    validates them itself); keys ``map_violence``, ``map_control`` and, with the study grid,
    ``map_admin1``."""
    runs = _summaries([(res.request.label, res)], maps=True)
    figs = FigureSet(tables=False)  # the page has its own downloads
    draw_maps(runs, _admin1(res.request.data_dir), figs)
    start, end = month_label(PROJECTION_START), runs.last_month
    titles = {
        "map_violence": f"Median deaths per cell, {start} to {end}",
        "map_control": f"Who holds each cell in most members, {end}",
        "map_admin1": f"Median displaced people hosted per admin-1 unit, {end}",
    }
    out = {}
    for fid in figs.items:
        d = figs.standalone(fid)
        if fid in titles:
            d.setdefault("layout", {}).setdefault("title", {})["text"] = titles[fid]
        out[fid] = d
    return out


@lru_cache(maxsize=CACHE_SIZE)
def fan_figures_for(req: RunRequest) -> dict[str, go.Figure]:
    """:func:`fan_figures` of one request's run (cached; the figures are not modified)."""
    res, _ = run_cached(req)
    return fan_figures([(req.label, res)])


@lru_cache(maxsize=4)
def map_figures_for(req: RunRequest) -> dict[str, dict[str, Any]]:
    """:func:`map_figures` of one request's run (cached)."""
    res, _ = run_cached(req)
    return map_figures(res)


# -- comparison and claims ---------------------------------------------------------------------


def compare_table(a: Result, b: Result) -> pd.DataFrame:
    """B minus A over the projection for every outcome and country, paired by member
    (:func:`sahelsim.model.run.compare`); both runs must share members, seed and horizon."""
    ra, rb = a.request, b.request
    if (ra.members, ra.seed, ra.months) != (rb.members, rb.seed, rb.months):
        raise InputError(["the two runs must have the same members, seed and horizon"])
    return compare(a.ds, b.ds, PROJECTION_START)


def claims_csv_path() -> Path:
    env = os.environ.get(ENV_CLAIMS)
    return Path(env) if env else DEFAULT_CLAIMS_CSV


def cached_claims() -> tuple[pd.DataFrame, str] | None:
    """The audit table written by ``sahelsim claims`` / ``make run`` when present."""
    path = claims_csv_path()
    if not path.is_file():
        return None
    return pd.read_csv(path), f"cached audit {path}"


@lru_cache(maxsize=2)
def _audit_data_only(data_dir: str | None) -> pd.DataFrame:
    with (
        tempfile.TemporaryDirectory(prefix="sahelsim-claims-") as tmp,
        Store(Path(tmp) / "claims.duckdb") as st,
    ):
        if data_dir is not None:
            ingest_all(Path(data_dir), st)
        return audit(st, model=False, data_dir=data_dir)


def claims_table(data_dir: str | None, *, run: bool = False) -> tuple[pd.DataFrame, str] | None:
    """The cached audit, else (when ``run``) the data-only audit of ``data_dir`` (cached in
    the process); None when neither is available yet."""
    cached = cached_claims()
    if cached is not None:
        return cached
    if not run:
        return None
    where = data_dir or "no data directory"
    return _audit_data_only(data_dir), f"data-only audit of {where} (model claims not run)"
