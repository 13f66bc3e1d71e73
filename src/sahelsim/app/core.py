"""Framework-free glue between the scenario explorer and the library.

Everything the browser app needs that is not drawing widgets lives here, so the Streamlit page
(:mod:`sahelsim.app.streamlit_app`) stays a thin client and the tests and the benchmark can call
the same code without a server:

* :func:`make_request` validates what a user typed (scenario, lever values, members, seed,
  horizon) into a canonical, hashable :class:`RunRequest`, or raises :class:`InputError` whose
  message lists every problem (the library's own :class:`~sahelsim.model.scenarios.ScenarioError`
  lines for levers);
* :func:`run_cached` runs the ensemble through :func:`sahelsim.model.run.run_scenario` and keeps
  the last results in a process-wide cache keyed by the request (one computation per key even
  when several sessions ask at once; one simulation at a time, because the compiled engine
  already uses every core and Numba's workqueue layer must not be entered concurrently);
* :func:`fan_figures` and :func:`map_figures` build Plotly figures with the HTML report's
  builders (:mod:`sahelsim.report`), :func:`compare_table` wraps
  :func:`sahelsim.model.run.compare`, :func:`claims_table` reads the cached audit or runs
  :func:`sahelsim.claims.audit` without the model.

Lever semantics (:func:`apply_levers`): a lever the user sets holds that value from the
``effective`` month on (default: the first projection month, 2025-01), replacing the scenario's
own dated changes of that lever from that month; before it, the scenario runs as written. The
override itself goes through :meth:`Scenario.with_overrides`, so bounds, units and messages are
the library's.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import threading
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sahelsim.core.canon import CORE_ISO3
from sahelsim.core.config import resolve_data_dir
from sahelsim.core.errors import SahelsimError
from sahelsim.scenarios.run import HISTORY_START, PROJECTION_START, month_label, parse_month
from sahelsim.scenarios.scenario import (
    LEVER_SPECS,
    LeverSpec,
    Scenario,
    ScenarioError,
    list_scenarios,
    load_scenario,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go
    import xarray as xr

    from sahelsim.model.space import Space

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MEMBERS",
    "DEFAULT_MONTHS",
    "InputError",
    "Result",
    "RunRequest",
    "apply_levers",
    "claims_table",
    "compare_table",
    "fan_figures",
    "lever_defaults",
    "make_request",
    "map_figures",
    "parse_lever_text",
    "run_cached",
]

#: Ensemble size, seed and projection horizon (months from 2025-01) the page starts with.
DEFAULT_MEMBERS = 100
DEFAULT_SEED = 0
DEFAULT_MONTHS = 60
MIN_MEMBERS, MAX_MEMBERS = 2, 1000
MIN_MONTHS, MAX_MONTHS = 6, 72  # the projection may run to 2030-12
MAX_SEED = 2**31 - 1
#: Members whose cell-level maps are recorded (the rest keep country aggregates only: a member's
#: numbers do not depend on which others run with it, so this split changes no result).
MAP_MEMBERS = 25
MAP_CELL_VARS = ("deaths", "hold", "idp")
SIM_START = "2012-01"
#: Cached results kept in memory (each holds one ensemble's country aggregates).
CACHE_SIZE = 8
#: The environment variables the server passes to the page (see :func:`sahelsim.app.serve`).
ENV_GRID = "SAHELSIM_APP_GRID"  # "synthetic" forces the synthetic grid
ENV_CLAIMS = "SAHELSIM_APP_CLAIMS"  # path of a cached claims_audit.csv
DEFAULT_CLAIMS_CSV = Path("out") / "claims" / "claims_audit.csv"
#: Fan charts: id -> (series (variable, label, colour), title, y-axis title, y format).
FANS: dict[str, tuple[tuple[tuple[str, str, str], ...], str, str, str]] = {
    "deaths": (
        (("deaths_total", "fatalities", "#1f77b4"),),
        "Fatalities",
        "deaths per year (all UCDP types)",
        ",.0f",
    ),
    "civilians": (
        (
            ("civilians_killed_by_state_side", "state side", "#b2182b"),
            ("civilians_killed_by_jnim", "JNIM", "#2166ac"),
            ("civilians_killed_by_issp", "IS Sahel", "#4d9221"),
        ),
        "Civilians killed, by perpetrator",
        "one-sided deaths per year",
        ",.0f",
    ),
    "territory": (
        (("territory_state", "state-held share", "#2ca02c"),),
        "Territory held by the state",
        "share of area",
        ".2f",
    ),
    "idps": (
        (("idps", "IDPs hosted", "#9467bd"),),
        "Internally displaced people",
        "people hosted",
        ",.0f",
    ),
}

Value = float | bool | str
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
LeverItems = tuple[tuple[str, str | None, Value], ...]


class InputError(SahelsimError, ValueError):
    """What the user asked for cannot be run; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = [str(p) for p in problems]
        super().__init__("; ".join(self.problems))


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """One ensemble run, in canonical form (the cache key).

    ``levers``: sorted ``(lever, country or None, value)`` triples (None = every country, or the
    alliance); ``months``: projection months from 2025-01 (the run simulates the history from
    2012-01 first); ``data_dir``: the staged data or None for the synthetic grid.
    """

    scenario: str
    levers: LeverItems = ()
    effective: str = month_label(PROJECTION_START)
    members: int = DEFAULT_MEMBERS
    seed: int = DEFAULT_SEED
    months: int = DEFAULT_MONTHS
    data_dir: str | None = None

    @property
    def lever_mapping(self) -> dict[str, Value | dict[str, Value]]:
        """The levers as :meth:`Scenario.with_overrides` takes them."""
        out: dict[str, Any] = {}
        for lever, country, value in self.levers:
            if country is None:
                out[lever] = value
            else:
                out.setdefault(lever, {})[country] = value
        return out

    @property
    def label(self) -> str:
        return self.scenario + (" (edited)" if self.levers else "")

    @property
    def end_month(self) -> int:
        return PROJECTION_START + self.months - 1


def _canon_value(spec: LeverSpec, value: Any) -> Value:
    """A lever value in canonical form (floats rounded to 10 significant digits, so slider
    arithmetic such as 0.30000000000000004 hits the same cache entry as 0.3)."""
    if spec.numeric and isinstance(value, int | float) and not isinstance(value, bool):
        v = float(value)
        return float(f"{v:.10g}") if math.isfinite(v) else v
    return value


def _int_field(name: str, value: Any, lo: int, hi: int, problems: list[str]) -> int:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            problems.append(f"{name}: needs a whole number in {lo}..{hi}, got {text!r}")
            return lo
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        problems.append(f"{name}: needs a whole number in {lo}..{hi}, got {value!r}")
        return lo
    if not lo <= int(value) <= hi:
        problems.append(f"{name}: must be in {lo}..{hi}, got {int(value)}")
    return int(value)


def make_request(
    scenario: str,
    levers: Mapping[str, Any] | None = None,
    *,
    members: Any = DEFAULT_MEMBERS,
    seed: Any = DEFAULT_SEED,
    months: Any = DEFAULT_MONTHS,
    effective: str | None = None,
    data_dir: str | Path | None = None,
) -> RunRequest:
    """Validate a user's choices into a :class:`RunRequest`; raises :class:`InputError`.

    ``levers`` maps a lever name to a value or to a mapping country -> value (as
    :meth:`Scenario.with_overrides`); the whole scenario is built once here so every lever
    problem is reported, with the library's messages (range and unit).
    """
    problems: list[str] = []
    names = list_scenarios()
    if scenario not in names:
        problems.append(f"scenario: no shipped scenario {scenario!r}; available: {names}")
    members = _int_field("members", members, MIN_MEMBERS, MAX_MEMBERS, problems)
    seed = _int_field("seed", seed, 0, MAX_SEED, problems)
    months = _int_field("horizon (months from 2025-01)", months, MIN_MONTHS, MAX_MONTHS, problems)
    eff = effective or month_label(PROJECTION_START)
    end = PROJECTION_START + max(months, MIN_MONTHS) - 1
    try:
        if not _MONTH_RE.match(str(eff).strip()):
            raise ValueError
        eff_id = parse_month(str(eff).strip())
        if not PROJECTION_START <= eff_id <= end:
            raise ValueError
        eff = month_label(eff_id)
    except ValueError:
        problems.append(
            f"effective month: needs YYYY-MM from {month_label(PROJECTION_START)} to "
            f"{month_label(end)}, got {eff!r}"
        )
    items: list[tuple[str, str | None, Value]] = []
    for lever, value in (levers or {}).items():
        spec = LEVER_SPECS.get(lever)
        entries = value.items() if isinstance(value, Mapping) else [(None, value)]
        for country, v in entries:
            cv = _canon_value(spec, v) if spec is not None else v
            items.append((str(lever), None if country is None else str(country), cv))
    if not problems and items:
        try:
            apply_levers(load_scenario(scenario), _mapping(items), eff)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    items.sort(key=lambda t: (t[0], t[1] or ""))
    return RunRequest(
        scenario=scenario,
        levers=tuple(items),
        effective=eff,
        members=members,
        seed=seed,
        months=months,
        data_dir=None if data_dir is None else str(data_dir),
    )


def _mapping(items: Sequence[tuple[str, str | None, Value]]) -> dict[str, Any]:
    return RunRequest(scenario="", levers=tuple(items)).lever_mapping


def parse_lever_text(text: str) -> dict[str, Any]:
    """Lever values typed as TOML lines (``restraint = 0.5``, ``russia_personnel = {MLI =
    3000}``); raises :class:`InputError` naming the line. Values are checked later, by
    :func:`make_request`. The text is parsed as data only; nothing in it is evaluated."""
    if not text.strip():
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            [f"lever text is not valid TOML ('lever = value' per line): {exc}"]
        ) from None


def apply_levers(sc: Scenario, levers: Mapping[str, Any], effective: str) -> Scenario:
    """The scenario with ``levers`` holding from ``effective`` on (see the module docstring).

    A scenario change of an overridden lever dated at or after ``effective`` is dropped for the
    overridden countries (a change for all countries is kept for the others); one-off pulses
    (``legitimacy_shock``) are added, not replaced. Raises :class:`ScenarioError`.
    """
    if not levers:
        return sc
    eff = parse_month(effective)
    keep = []
    for c in sc.changes:
        spec = LEVER_SPECS[c.lever]
        if c.lever not in levers or spec.kind == "impulse" or c.month_id < eff:
            keep.append(c)
            continue
        value = levers[c.lever]
        over = set(value) if isinstance(value, Mapping) else set(CORE_ISO3)
        affected = {c.country} if c.country else set(CORE_ISO3)
        rest = [k for k in CORE_ISO3 if k in affected - over]
        if spec.scope == "alliance" or not rest:
            continue
        if c.country is None:
            keep.extend(c.model_copy(update={"country": k}) for k in rest)
        else:
            keep.append(c)
    base = sc.model_copy(update={"changes": keep})
    return base.with_overrides(effective=effective, **levers)


def lever_defaults(
    sc: Scenario, months: int = DEFAULT_MONTHS
) -> dict[str, Value | dict[str, float]]:
    """Each lever's value at the end of the horizon as the scenario sets it: one number when the
    three countries agree, else a mapping country -> value; switches as set; pulses 0. These are
    the widgets' starting values (a lever left there is not overridden)."""
    start = HISTORY_START
    n = PROJECTION_START + months - start
    series = sc.lever_series(start, n)
    flags = sc.flags
    out: dict[str, Any] = {}
    for name, spec in LEVER_SPECS.items():
        if spec.kind == "impulse":
            out[name] = 0.0
        elif spec.kind in ("bool", "enum"):
            out[name] = flags[name]
        else:
            last = [float(f"{v:.10g}") for v in series[name][-1]]
            if spec.scope == "alliance" or len(set(last)) == 1:
                out[name] = last[0]
            else:
                out[name] = dict(zip(CORE_ISO3, last, strict=True))
    return out


def changed_levers(
    defaults: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Value | dict[str, Value]]:
    """The entries of ``values`` (same shape as :func:`lever_defaults`) that differ from the
    defaults; per-country mappings keep only the countries that changed."""
    out: dict[str, Any] = {}
    for name, v in values.items():
        d = defaults.get(name)
        if isinstance(v, Mapping):
            dd = d if isinstance(d, Mapping) else dict.fromkeys(v, d)
            ch = {k: x for k, x in v.items() if not _same(x, dd.get(k))}
            if ch:
                out[name] = ch
        elif not _same(v, d):
            out[name] = v
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return a == b


# -- data location -----------------------------------------------------------------------------


def default_data_dir() -> str | None:
    """The staged data (``resolve_data_dir()``) when it holds the grid inputs, else None (the
    synthetic grid); ``SAHELSIM_APP_GRID=synthetic`` forces the synthetic grid."""
    if os.environ.get(ENV_GRID, "").strip().lower() == "synthetic":
        return None
    d = resolve_data_dir()
    from sahelsim.grid.build import NATURALEARTH_FOLDER

    return str(d) if (d / NATURALEARTH_FOLDER).is_dir() else None


@lru_cache(maxsize=4)
def _space(data_dir: str | None) -> Space:
    from sahelsim.model.space import Space
    from sahelsim.scenarios.run import make_space

    if data_dir is None:
        return Space.synthetic()
    return make_space(Path(data_dir), HISTORY_START)


@lru_cache(maxsize=2)
def _admin1(data_dir: str | None) -> pd.DataFrame | None:
    if data_dir is None:
        return None
    from sahelsim.grid.build import build_grid

    try:
        admin1 = build_grid(Path(data_dir)).admin1
    except (FileNotFoundError, OSError, ValueError) as exc:
        log.warning("app: no admin-1 polygons (%s)", exc)
        return None
    return admin1[admin1["iso3"].isin(CORE_ISO3)].reset_index(drop=True)


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
        from sahelsim.scenarios.run import summary_frame

        return summary_frame(self.ds)

    def summary_csv(self) -> bytes:
        return self.summary.to_csv(index=False).encode("utf-8")

    def netcdf_bytes(self) -> bytes:
        """The ensemble as NetCDF-4: every country variable by member and month, plus the map
        members' cell variables over the projection."""
        import xarray as xr

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


_RUN_LOCK = threading.Lock()  # one simulation at a time
_CACHE_LOCK = threading.Lock()
_CACHE: OrderedDict[RunRequest, Future[Result]] = OrderedDict()


def build_scenario(req: RunRequest) -> Scenario:
    sc = load_scenario(req.scenario)
    return apply_levers(sc, req.lever_mapping, req.effective)


def _simulate(req: RunRequest) -> Result:
    import xarray as xr

    from sahelsim.model.engine import Record
    from sahelsim.scenarios.run import run_scenario

    t0 = time.perf_counter()
    sc = build_scenario(req)
    space = _space(req.data_dir)
    months = req.end_month - HISTORY_START + 1
    nmap = min(req.members, MAP_MEMBERS)
    common = {"months": months, "start": SIM_START, "seed": req.seed, "space": space}
    with _RUN_LOCK:
        a = run_scenario(sc, members=np.arange(nmap), record=Record(cells=MAP_CELL_VARS), **common)
        b = (
            run_scenario(
                sc, members=np.arange(nmap, req.members), record=Record(cells=()), **common
            )
            if req.members > nmap
            else None
        )
    cell_vars = [f"cell_{v}" for v in MAP_CELL_VARS]
    cells = a[cell_vars].sel(month=a.month >= PROJECTION_START)  # the maps' window
    ds = a.drop_vars(cell_vars)
    if b is not None:
        ds = xr.concat([ds, b], dim="member", combine_attrs="override")
    ds.attrs["members"] = int(req.members)
    seconds = time.perf_counter() - t0
    grid = "study grid" if req.data_dir is not None else "synthetic grid (illustration only)"
    log.info(
        "app: ran %s (%d members, %d months) in %.2f s", req.label, req.members, months, seconds
    )
    return Result(req, sc, ds, cells, seconds, grid, {"parameters": a.attrs.get("parameters", "")})


def run_cached(
    req: RunRequest, *, compute: Callable[[RunRequest], Result] = _simulate
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
        res = compute(req)
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


def _runs(items: Sequence[tuple[str, Result]]) -> Any:
    """The HTML report's run summary (:class:`sahelsim.report._Runs`) for these results."""
    from sahelsim.report.build import FAN_VARS, QUANTILES, _region_series, _Runs

    first = items[0][1]
    space = _space(first.request.data_dir)
    area = {
        c: float(space.area_km2[space.country == space.countries.index(c)].sum())
        for c in CORE_ISO3
        if c in space.countries
    }
    runs = _Runs(projection_start=PROJECTION_START, space=space)
    for name, res in items:
        runs.titles[name] = res.title
        runs.parameters = str(res.meta.get("parameters", ""))
        for var, how in FAN_VARS.items():
            series = _region_series(res.ds, var, how, area)
            labels = series.pop("_labels")
            for region, arr in series.items():
                q = np.quantile(np.asarray(arr, dtype=float), QUANTILES, axis=0)
                runs.fans[(name, var, region)] = (labels, q.astype(np.float32))
    return runs


def fan_figures(items: Sequence[tuple[str, Result]]) -> dict[str, go.Figure]:
    """Fan charts (median, 50 % and 90 % bands; a menu picks the AES or one country) of
    :data:`FANS`, one panel per ``(name, result)``, built by the report's ``_fan_figure``."""
    from sahelsim.report.build import _fan_figure, _pt

    runs = _runs(items)
    names = [n for n, _ in items]
    panel_titles = {_pt(runs.titles[n]) for n in names}
    out = {}
    for fid, (series, title, ytitle, yfmt) in FANS.items():
        fig = _fan_figure(runs, names, list(series), title=title, ytitle=ytitle, yformat=yfmt)
        fig.update_layout(height=min(int(fig.layout.height or 460), 460))
        if len(names) == 1:  # the page says which scenario; keep the panel uncluttered
            fig.layout.annotations = [
                a for a in fig.layout.annotations if a.text not in panel_titles
            ]
        out[fid] = fig
    return out


def map_figures(res: Result) -> dict[str, dict[str, Any]]:
    """Maps of the cells (median deaths over the projection, share of members where the state
    holds the cell in the last month) and of admin-1 units (IDPs hosted), built by the report's
    map section, as Plotly figure dicts (``st.plotly_chart`` validates them itself); keys
    ``map_violence``, ``map_control`` and, with the study grid, ``map_admin1``."""
    from sahelsim.report.build import _Figures, _section_maps

    runs = _runs([(res.request.label, res)])
    c = res.cells
    window = c["cell_deaths"].sel(month=c.month >= PROJECTION_START).sum("month")
    dm = window.transpose("member", "cell").values.astype(float)
    runs.map_scenario = res.request.label
    runs.cell_gid = c["cell"].values.astype(np.int64)
    runs.cell_deaths_members = dm
    runs.cell_deaths_median = np.median(dm, axis=0)
    hold = c["cell_hold"].isel(month=-1).transpose("member", "cell").values
    runs.cell_state_share = (hold == 1).mean(axis=0)
    runs.cell_idp_last = (
        c["cell_idp"].isel(month=-1).transpose("member", "cell").values.astype(float)
    )
    runs.last_month = month_label(int(c["month"].values[-1]))
    figs = _Figures()
    data_dir = Path(res.request.data_dir) if res.request.data_dir else None
    _section_maps(runs, data_dir, figs)
    start, end = month_label(PROJECTION_START), runs.last_month
    titles = {
        "map_violence": f"Median deaths per cell, {start} to {end}",
        "map_control": f"Share of members in which the state holds the cell, {end}",
        "map_admin1": f"Median displaced people hosted per admin-1 unit, {end}",
    }
    out = {}
    for fid, d in figs.items.items():
        layout = d.setdefault("layout", {})
        if fid in titles:
            layout.setdefault("title", {})["text"] = titles[fid]
        if "template" not in layout and figs.template is not None:
            layout["template"] = figs.template
        for t in d.get("data", []):
            g = t.get("geojson")
            if isinstance(g, str) and g.startswith("@"):
                t["geojson"] = figs.geo[g[1:]]
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
    from sahelsim.scenarios.run import compare

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
    from sahelsim.claims.audit import audit
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all

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
