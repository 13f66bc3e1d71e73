"""The explorer's runs: a request projected from the present, first its preview, then the full
ensemble, each kept in a process-wide cache.

A run has two parts. The *head* is the first :data:`PREVIEW_MEMBERS` members, recorded at
cell level for the maps; the *tail* is the other members, country aggregates only. Every
member has its own random-number key (member id and seed), so the head is exactly the first
members of the full ensemble, and the full result is the head and the tail joined
(``tests/test_app.py`` checks it against one run of all members). The page draws the head at
once, marked as a preview, and replaces it by the full ensemble when the tail lands; the head
is computed once and reused by the full run (no member is simulated twice).

Both parts run through one :class:`~sahelsim.app.pool.Runner` (here, or in a worker process
when another session's run is busy) and are cached by request: concurrent callers with the
same request wait for one computation.
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
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from sahelsim.app import stored
from sahelsim.app.inputs import RunRequest, build_scenario
from sahelsim.app.pool import Runner
from sahelsim.app.present import ENV_PRESENT, PresentProvider, present_provider, project
from sahelsim.app.settings import ENV_APP_CACHE, ENV_CLAIMS, ENV_GRID, NETCDF_LOCK
from sahelsim.core.canon import ISO3_TO_NAME
from sahelsim.core.config import ENV_CACHE, resolve_data_dir
from sahelsim.grid.build import NATURALEARTH_FOLDER
from sahelsim.model.engine import Record
from sahelsim.scenarios.run import (
    HISTORY_START,
    PROJECTION_START,
    make_space,
    month_label,
    summary_frame,
)
from sahelsim.scenarios.scenario import Scenario

if TYPE_CHECKING:
    from sahelsim.model.space import Space

log = logging.getLogger(__name__)

__all__ = [
    "CACHE_SIZE",
    "MAP_MEMBERS",
    "PAGE_DRAWN",
    "PREVIEW_AFTER_S",
    "PREVIEW_MEMBERS",
    "RUNNER",
    "Memo",
    "Result",
    "clear_runs",
    "default_data_dir",
    "expected_seconds",
    "finished",
    "has_preview",
    "has_stored",
    "present_source",
    "preview_cached",
    "provider",
    "run_cached",
    "set_present_provider",
    "shows_preview",
    "space_for",
    "stored_key",
    "warm_engine",
    "warm_worker",
    "yearly_summary",
]

#: Members whose cell-level maps are recorded (the rest keep country aggregates only: a member's
#: numbers do not depend on which others run with it, so this split changes no result).
MAP_MEMBERS = 25
#: The preview's members (the head of a run): the map members, so a preview carries the maps.
PREVIEW_MEMBERS = MAP_MEMBERS
MAP_CELL_VARS = ("deaths", "hold", "idp")
#: Cached results kept in memory (each holds one ensemble's country aggregates).
CACHE_SIZE = 8
#: Set by the page when it has drawn its first run (the server then starts the worker pool).
PAGE_DRAWN = threading.Event()
#: A run expected to take longer than this (seconds) is drawn as a preview first; a shorter one
#: is drawn once, in full (drawing a preview costs a round of charts in the browser, ~0.5 s on
#: this 2-core machine, which would take longer than the rest of the run).
PREVIEW_AFTER_S = 0.5
#: Engine seconds per member-month before any run is timed here (about this machine's speed,
#: 2 cores, study grid); then the measured speed of this process's runs.
_SPEED = [1.5e-4]


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


def _grid_text(data_dir: str | None) -> str:
    return "study grid" if data_dir is not None else "synthetic grid (illustration only)"


# -- results -----------------------------------------------------------------------------------


@dataclass
class Result:
    """One ensemble: the country aggregates of every member (``ds``, 2012-01 to the horizon)
    and the cell variables of the first :data:`MAP_MEMBERS` members over the projection
    (``cells``, from 2025-01). A preview (:func:`preview_cached`) holds the first
    :data:`PREVIEW_MEMBERS` members only (``preview``), the same numbers as those members of
    the full ensemble."""

    request: RunRequest
    scenario: Scenario
    ds: xr.Dataset
    cells: xr.Dataset
    seconds: float
    grid: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def members(self) -> int:
        """Members in this result: the request's, or fewer for a preview."""
        return int(self.ds.sizes["member"])

    @property
    def preview(self) -> bool:
        """Whether this is the preview of a larger ensemble (its first members only)."""
        return self.members < self.request.members

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
            with NETCDF_LOCK:  # NetCDF I/O is not thread-safe (settings.NETCDF_LOCK)
                ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
            return path.read_bytes()


#: Variables summed over a year in the yearly summary (the others are read in December).
FLOW_VARS = ("deaths_", "civilians_killed_", "state_losses", "displaced_new")
_UNIT = re.compile(r"\(([^()]*)\)\s*$")


def describe(ds: xr.Dataset, var: str) -> tuple[str, str]:
    """A variable's plain description and unit, from its ``description`` attribute
    ("Deaths ... (deaths)" -> ("Deaths ...", "deaths")); the name itself without one."""
    desc = str(ds[var].attrs.get("description", "")) if var in ds else ""
    m = _UNIT.search(desc)
    return (_UNIT.sub("", desc).strip() or var), (m.group(1) if m else "")


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
        desc, unit = describe(ds, var)
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
                        "country": ISO3_TO_NAME.get(str(country), str(country)),
                        "variable": var,
                        "description": desc,
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


# -- where projections start -------------------------------------------------------------------

_LOCK = threading.Lock()  # the provider
_RUN_LOCK = threading.Lock()  # one simulation at a time in a process
_PROVIDER: list[PresentProvider] = []


def provider() -> PresentProvider:
    """Where projections start (:func:`sahelsim.app.present.present_provider`, made once)."""
    with _LOCK:
        if not _PROVIDER:
            _PROVIDER.append(present_provider())
        return _PROVIDER[0]


def set_present_provider(p: PresentProvider | None) -> None:
    """Use ``p`` for the following runs (None: from the environment again); forgets every
    cached run."""
    with _LOCK:
        _PROVIDER.clear()
        if p is not None:
            _PROVIDER.append(p)
    stored_key.cache_clear()
    clear_runs()


def present_source(req: RunRequest) -> str:
    """Where the request's projection starts (builds the present when it is not cached)."""
    sc = build_scenario(req)
    pres = provider().present(space_for(req.data_dir), sc, members=req.members, seed=req.seed,
                              grid=_grid_text(req.data_dir))  # fmt: skip
    return pres.description


# -- the two parts of a run --------------------------------------------------------------------


def _head(req: RunRequest) -> Result:
    """Members ``0 .. min(members, PREVIEW_MEMBERS) - 1`` with their cell variables."""
    t0 = time.perf_counter()
    sc = build_scenario(req)
    space = space_for(req.data_dir)
    grid = _grid_text(req.data_dir)
    n = min(req.members, PREVIEW_MEMBERS)
    with _RUN_LOCK:
        prov = provider()
        built = getattr(prov, "built", 0)
        pres = prov.present(space, sc, members=req.members, seed=req.seed, grid=grid)
        spun = getattr(prov, "built", 0) > built
        t1 = time.perf_counter()
        ds, cells = project(pres, space, sc, members=np.arange(n), months=req.months,
                            seed=req.seed, record=Record(cells=MAP_CELL_VARS))  # fmt: skip
    assert cells is not None
    ds.attrs["members"] = n
    seconds = time.perf_counter() - t0
    log.info("app: ran members 0-%d of %s (%d months from %s) in %.2f s (present %.2f s)",
             n - 1, req.label, req.months, month_label(pres.start), seconds, t1 - t0)  # fmt: skip
    meta = {"parameters": ds.attrs.get("parameters", ""), "present": pres.description,
            "present_s": t1 - t0, "spun_up": spun, "pid": os.getpid(),
            "head_s": seconds}  # fmt: skip
    return Result(req, sc, ds, cells, seconds, grid, meta)


def _tail(req: RunRequest) -> xr.Dataset | None:
    """Members ``PREVIEW_MEMBERS .. members - 1``, country aggregates only (None: no more)."""
    if req.members <= PREVIEW_MEMBERS:
        return None
    t0 = time.perf_counter()
    ds, _ = _project(req, np.arange(PREVIEW_MEMBERS, req.members), req.months, Record(cells=()))
    log.info("app: ran members %d-%d of %s in %.2f s", PREVIEW_MEMBERS, req.members - 1,
             req.label, time.perf_counter() - t0)  # fmt: skip
    return ds


def _project(
    req: RunRequest, members: np.ndarray, months: int, record: Record
) -> tuple[xr.Dataset, xr.Dataset | None]:
    """``members`` of ``req`` projected ``months`` months from its present (one run at a time
    in this process)."""
    sc = build_scenario(req)
    space = space_for(req.data_dir)
    with _RUN_LOCK:
        pres = provider().present(space, sc, members=req.members, seed=req.seed,
                                  grid=_grid_text(req.data_dir))  # fmt: skip
        return project(pres, space, sc, members=members, months=months, seed=req.seed,
                       record=record)  # fmt: skip


def _join(head: Result, tail: xr.Dataset | None, tail_s: float) -> Result:
    """The full ensemble: the head's members, then the tail's (the head's cells)."""
    if tail is None:
        ds = head.ds.copy(deep=False)
    else:
        ds = xr.concat([head.ds, tail], dim="member", combine_attrs="override")
    ds.attrs["members"] = int(head.request.members)
    meta = {**head.meta, "tail_s": tail_s}
    return Result(head.request, head.scenario, ds, head.cells, head.seconds + tail_s, head.grid,
                  meta)  # fmt: skip


def _compute(job: tuple[str, RunRequest]) -> Result | xr.Dataset | None:
    """One part of a run (``("head" | "tail", request)``), for :data:`RUNNER`."""
    part, req = job
    if part == "head":
        return _head(req)
    if part == "tail":
        return _tail(req)
    raise ValueError(f"unknown run part {part!r} (head or tail)")


def _simulate(req: RunRequest) -> Result:
    """The full ensemble of ``req`` in this process, head then tail, no cache."""
    head = _head(req)
    t0 = time.perf_counter()
    tail = _tail(req)
    return _join(head, tail, time.perf_counter() - t0)


def warm_engine(req: RunRequest) -> float:
    """Load what a first run of ``req``'s kind pays once per process: the present (read from
    disk) and the compiled engine (one member, one month, with cell variables); returns the
    seconds it took. The numbers of any run are unchanged."""
    t0 = time.perf_counter()
    _project(req, np.arange(1), 1, Record(cells=MAP_CELL_VARS))
    seconds = time.perf_counter() - t0
    log.info("app: engine and present loaded in %.2f s", seconds)
    return seconds


def warm_worker(data_dir: str | None) -> int:
    """A worker's start: the library imported (by unpickling this function) and the grid."""
    space_for(data_dir)
    return os.getpid()


#: Runs the parts here or, when they overlap, in worker processes (the settings they inherit).
RUNNER: Runner[tuple[str, RunRequest], Any] = Runner(
    _compute,
    env_keys=(ENV_GRID, ENV_CLAIMS, ENV_PRESENT, ENV_APP_CACHE, ENV_CACHE, "SAHELSIM_DATA"),
)


# -- the caches --------------------------------------------------------------------------------

K = TypeVar("K")
T = TypeVar("T")


class Memo(Generic[K, T]):
    """``compute(key)`` once per key, the last ``size`` results kept: concurrent callers of one
    key wait for one computation (the least recently used result is dropped; a failure is not
    kept, the next caller computes again)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._futures: OrderedDict[K, Future[T]] = OrderedDict()

    def get(self, key: K, compute: Callable[[K], T]) -> tuple[T, bool]:
        """The value for ``key`` and whether it was cached (or being computed) already."""
        with self._lock:
            fut = self._futures.get(key)
            hit = fut is not None
            if fut is not None:
                self._futures.move_to_end(key)
            else:
                fut = self._futures[key] = Future()
                while len(self._futures) > self.size:
                    self._futures.popitem(last=False)
        if hit:
            return fut.result(), True
        try:
            value = compute(key)
        except BaseException as exc:
            with self._lock:
                if self._futures.get(key) is fut:
                    del self._futures[key]
            fut.set_exception(exc)
            raise
        fut.set_result(value)
        return value, False

    def done(self, key: K) -> T | None:
        """The value for ``key`` when it is computed, else None (never waits)."""
        with self._lock:
            fut = self._futures.get(key)
        if fut is None or not fut.done() or fut.exception() is not None:
            return None
        return fut.result()

    def clear(self) -> None:
        with self._lock:
            self._futures.clear()


_FULL: Memo[RunRequest, Result] = Memo()
_HEADS: Memo[RunRequest, Result] = Memo()


@lru_cache(maxsize=64)
def stored_key(req: RunRequest) -> str | None:
    """The key :mod:`sahelsim.app.stored` keeps ``req``'s full run under, or None when it is
    not kept (lever changes: one visitor's run; or a present that cannot be keyed unread)."""
    prov = provider()
    if req.levers or not hasattr(prov, "key"):
        return None
    sc = build_scenario(req)
    space = space_for(req.data_dir)
    pk = prov.key(space, sc, members=req.members, seed=req.seed)
    return stored.run_key(pk, space, sc, members=req.members, seed=req.seed, months=req.months,
                          map_members=MAP_MEMBERS, map_vars=MAP_CELL_VARS)  # fmt: skip


def has_stored(req: RunRequest) -> bool:
    """Whether ``req``'s full run is on disk (:mod:`sahelsim.app.stored`), so
    :func:`run_cached` reads it instead of simulating."""
    key = stored_key(req)
    return key is not None and stored.exists(key)


def _from_store(req: RunRequest, key: str) -> Result | None:
    got = stored.read(key)
    if got is None:
        return None
    ds, cells, meta = got
    meta = {**meta, "stored": True, "spun_up": False, "pid": os.getpid()}
    return Result(req, build_scenario(req), ds, cells, float(meta.get("seconds", 0.0)),
                  _grid_text(req.data_dir), meta)  # fmt: skip


def _full(req: RunRequest) -> Result:
    key = stored_key(req)
    if key is not None:
        got = _from_store(req, key)
        if got is not None:
            return got
    head, _ = preview_cached(req)
    t0 = time.perf_counter()
    tail = RUNNER.run(("tail", req)) if req.members > PREVIEW_MEMBERS else None
    res = _join(head, tail, time.perf_counter() - t0)
    log.info("app: %s: %d members in %.2f s (preview %.2f s)", req.label, req.members,
             res.seconds, head.seconds)  # fmt: skip
    _timed(req, head, float(res.meta["tail_s"]))
    if key is not None:
        stored.write_later(key, res.ds, res.cells, {**res.meta, "seconds": res.seconds})
    return res


def run_cached(
    req: RunRequest, *, compute: Callable[[RunRequest], Result] | None = None
) -> tuple[Result, bool]:
    """The full ensemble of ``req`` and whether it came from the cache.

    By default it joins the preview (:func:`preview_cached`, computed now unless cached) and
    the other members; ``compute`` replaces that (e.g. :func:`_simulate`, everything in this
    process). Concurrent callers with the same request wait for one computation; the least
    recently used of :data:`CACHE_SIZE` results is dropped. A failed run is not cached.
    """
    return _FULL.get(req, compute or _full)


def preview_cached(req: RunRequest) -> tuple[Result, bool]:
    """The preview of ``req``: its first ``min(members, PREVIEW_MEMBERS)`` members with their
    cell variables (the same numbers as those members of the full run), cached like
    :func:`run_cached`, and whether it came from the cache."""
    return _HEADS.get(req, lambda r: RUNNER.run(("head", r)))


def has_preview(req: RunRequest) -> bool:
    """Whether ``req`` has more members than its preview."""
    return req.members > PREVIEW_MEMBERS


def expected_seconds(req: RunRequest) -> float:
    """The engine time ``req``'s run should take, from the speed of this process's last runs."""
    return req.members * req.months * _SPEED[0]


def shows_preview(req: RunRequest) -> bool:
    """Whether the page draws ``req``'s preview first: it has one, and the run is expected to
    take longer than :data:`PREVIEW_AFTER_S`."""
    return has_preview(req) and expected_seconds(req) > PREVIEW_AFTER_S


def _timed(req: RunRequest, head: Result, tail_s: float) -> None:
    """Update the engine speed from a run (not from one that built its present)."""
    if head.meta.get("spun_up"):
        return
    work = req.members * req.months
    seconds = float(head.meta.get("head_s", 0.0)) - float(head.meta.get("present_s", 0.0)) + tail_s
    if work > 0 and seconds > 0:
        _SPEED[0] = 0.5 * _SPEED[0] + 0.5 * seconds / work


def finished(req: RunRequest) -> Result | None:
    """The full ensemble of ``req`` when it is computed and cached, else None (never waits)."""
    return _FULL.done(req)


def clear_runs() -> None:
    """Forget every cached run and preview."""
    _FULL.clear()
    _HEADS.clear()
