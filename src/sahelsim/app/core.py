"""Framework-free glue between the scenario explorer and the library.

Everything the browser app needs that is not drawing widgets lives here, so the Streamlit page
(:mod:`sahelsim.app.streamlit_app`) stays a thin client and the tests and the benchmark can call
the same code without a server:

* :func:`make_request` (from :mod:`sahelsim.app.inputs`) validates what a user typed (scenario,
  lever values, members, seed, horizon) into a canonical, hashable :class:`RunRequest`, or
  raises :class:`InputError` whose message lists every problem (the library's own
  :class:`~sahelsim.scenarios.scenario.ScenarioError` lines for levers);
* :func:`run_cached` and :func:`preview_cached` (from :mod:`sahelsim.app.runs`) project the
  ensemble from the present state (:mod:`sahelsim.app.present`: the cached December-2024 state
  of a spin-up from 2012, or a filtered ensemble), so a request simulates 2025 onwards only: the
  preview (the first :data:`PREVIEW_MEMBERS` members) first, then the other members, each kept
  in a process-wide cache keyed by the request (one computation per key even when several
  sessions ask at once); requests that overlap run in parallel, up to the cores available
  (:class:`sahelsim.app.pool.Runner`);
* :func:`fan_charts` builds the fan charts as ECharts options (:mod:`sahelsim.viz.echarts`) and
  :func:`map_figures` the maps as Plotly figures, with the figures layer shared with the HTML
  report (:mod:`sahelsim.viz`), :func:`compare_table` wraps
  :func:`sahelsim.scenarios.run.compare`, :func:`claims_table` reads the cached audit or runs
  :func:`sahelsim.claims.audit` without the model.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from sahelsim.app import inputs, runs, stored
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
from sahelsim.app.labels import lever_label
from sahelsim.app.observed import fan_observed
from sahelsim.app.present import PresentProvider
from sahelsim.app.runs import (  # noqa: F401 (re-exported: callers use core.<name>)
    CACHE_SIZE,
    MAP_CELL_VARS,
    MAP_MEMBERS,
    PAGE_DRAWN,
    PREVIEW_MEMBERS,
    RUNNER,
    Memo,
    Result,
    _simulate,
    default_data_dir,
    finished,
    has_preview,
    has_stored,
    present_source,
    preview_cached,
    provider,
    run_cached,
    shows_preview,
    space_for,
    warm_engine,
    warm_worker,
    yearly_summary,
)
from sahelsim.app.settings import DEFAULT_CLAIMS_CSV, ENV_CLAIMS, ENV_GRID
from sahelsim.claims.audit import audit
from sahelsim.data.store.store import Store
from sahelsim.evidence.ingest import ingest_all
from sahelsim.scenarios.run import PROJECTION_START, compare, month_label
from sahelsim.scenarios.scenario import list_scenarios
from sahelsim.viz.echarts import fan_options
from sahelsim.viz.fans import FAN_SERIES
from sahelsim.viz.figures import FigureSet
from sahelsim.viz.maps import load_admin1
from sahelsim.viz.maps import map_figures as draw_maps
from sahelsim.viz.runs import CORE, COUNTRY_NAMES, REGIONS, RunInput, ScenarioRuns, summarise_runs

log = logging.getLogger(__name__)

__all__ = [
    *inputs.__all__,
    "CACHE_SIZE",
    "COUNTRY_NAMES",
    "DEFAULT_CLAIMS_CSV",
    "ENV_CLAIMS",
    "ENV_GRID",
    "FANS",
    "MAP_MEMBERS",
    "PAGE_DRAWN",
    "PREVIEW_MEMBERS",
    "PreparedFigure",
    "REGIONS",
    "Result",
    "cached_claims",
    "claims_csv_path",
    "claims_table",
    "clear_cache",
    "compare_table",
    "compare_view",
    "default_data_dir",
    "chart_alt",
    "fan_charts",
    "fan_charts_for",
    "finished",
    "has_preview",
    "has_stored",
    "map_figures",
    "map_figures_for",
    "month_label",
    "prebuild",
    "present_source",
    "preview_cached",
    "run_cached",
    "set_provider",
    "shows_preview",
    "warm_engine",
    "warm_worker",
    "space_for",
    "yearly_summary",
]

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


@lru_cache(maxsize=2)
def _admin1(data_dir: str | None) -> pd.DataFrame | None:
    return load_admin1(None if data_dir is None else Path(data_dir))


def set_provider(p: PresentProvider | None) -> None:
    """Use ``p`` for the following runs (None: from the environment again); clears the cache."""
    runs.set_present_provider(p)
    clear_cache()


def prebuild(
    data_dir: str | None,
    *,
    members: int = DEFAULT_MEMBERS,
    seed: int = DEFAULT_SEED,
    months: int = DEFAULT_MONTHS,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[tuple[str, str]]:
    """Build the cached present of every shipped scenario (scenarios sharing a history share
    one), the full run of each as shipped (``members``, ``seed``, ``months``; kept on disk by
    :mod:`sahelsim.app.stored`) and the observed panel, so the explorer's first chart,
    and the first chart after a scenario switch, need no simulation; returns (scenario, where
    its projections start)."""
    names = list_scenarios()
    out = []
    for i, name in enumerate(names):
        if progress:
            progress("present and run", i, len(names) + 1)
        req = make_request(name, members=members, seed=seed, months=months, data_dir=data_dir)
        out.append((name, present_source(req)))
        if not has_stored(req):
            run_cached(req)
    stored.flush()  # the runs are on disk before the caller (serve --prebuild) exits
    if progress:
        progress("observed data", len(names), len(names) + 1)
    fan_observed(data_dir)
    if progress:
        progress("done", len(names) + 1, len(names) + 1)
    return out


def clear_cache() -> None:
    """Forget every cached run, preview and figure."""
    runs.clear_runs()
    _FANS.clear()
    _MAPS.clear()


# -- figures -----------------------------------------------------------------------------------


class PreparedFigure(go.Figure):
    """A figure that is not changed once it is drawn, serialised for the browser once.

    ``st.plotly_chart`` calls ``to_dict()`` on every rerun of the page: Plotly deep-copies the
    whole figure and encodes its arrays each time (about 0.3 s a rerun for the explorer's
    figures). Here the first ``to_dict()`` is kept and returned again (change the figure
    before it is first drawn, never after). Made without Plotly's validation by default: the
    figures layer built it (``tests/test_viz.py`` validates those figures in full).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("_validate", False)
        super().__init__(*args, **kwargs)
        self._prepared: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        prepared = getattr(self, "_prepared", None)
        if prepared is None:
            prepared = self._prepared = super().to_dict()
        return prepared


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


def preview_note(res: Result) -> str:
    """What a preview is, for a title ("" for a full ensemble)."""
    if not res.preview:
        return ""
    return f"preview: the first {res.members} of {res.request.members} members"


def fan_charts(
    items: Sequence[tuple[str, Result]], region: str = REGIONS[0]
) -> dict[str, list[dict[str, Any]]]:
    """Fan charts of :data:`FANS` for ``region`` (the AES or one country) as ECharts options
    (median, 50 % and 90 % bands, observed points of the staged data,
    :mod:`sahelsim.app.observed`), one per ``(name, result)``, sharing their y axis
    (:func:`sahelsim.viz.echarts.fan_options`). A preview's charts say so under their titles."""
    if region not in REGIONS:
        raise InputError([f"region: {region!r} is not one of {', '.join(REGIONS)}"])
    runs_ = _summaries(items)
    names = [n for n, _ in items]
    observed = fan_observed(items[0][1].request.data_dir)
    where = COUNTRY_NAMES[region]
    subs = []
    for n, res in items:
        note = preview_note(res)
        head = where if len(items) == 1 else f"{runs_.titles[n]} · {where}"
        subs.append(f"{head} · {note}" if note else head)
    out: dict[str, list[dict[str, Any]]] = {}
    for fid, (series, title, ytitle, yfmt) in FANS.items():
        out[fid] = fan_options(runs_, names, list(series), region, title=title, ytitle=ytitle,
                               yformat=yfmt, observed=observed.get(fid), subtitles=subs,
                               file_names=[_slug(f"{n}_{fid}_{region}") for n in names])  # fmt: skip
    return out


def _slug(text: str) -> str:
    """A file name from a label: letters, digits, '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9-]+", "_", text).strip("_") or "chart"


def chart_alt(fid: str, res: Result, region: str = REGIONS[0]) -> str:
    """A fan chart's text for screen readers: what it shows, the scenario with its lever
    changes and seed, and the members drawn (``"<n> of <N> members"``; the benchmark reads it too)."""
    req = res.request
    levers = "; ".join(f"{lever_label(lv, c)} = {v}" for lv, c, v in req.levers)
    return (
        f"{FANS[fid][1]}, {COUNTRY_NAMES[region]}: fan chart of {res.title}"
        f"{f': {levers}' if levers else ''}; seed {req.seed}; {res.members} of"
        f" {req.members} members"
    )


def map_figures(res: Result) -> dict[str, dict[str, Any]]:
    """Maps of the cells (median deaths over the projection, share of members where the state
    holds the cell in the last month) and of admin-1 units (IDPs hosted), built by
    :func:`sahelsim.viz.maps.map_figures`, as Plotly figure dicts; keys ``map_violence``,
    ``map_control`` and, with the study grid, ``map_admin1``. The maps use the cells of the
    first :data:`MAP_MEMBERS` members only, so a preview's maps are the full run's."""
    runs_ = _summaries([(res.request.label, res)], maps=True)
    figs = FigureSet(tables=False)  # the page has its own downloads
    draw_maps(runs_, _admin1(res.request.data_dir), figs)
    start, end = month_label(PROJECTION_START), runs_.last_month
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


def fan_charts_for(
    req: RunRequest, preview: bool = False, region: str = REGIONS[0]
) -> dict[str, dict[str, Any]]:
    """:func:`fan_charts` of one request's run, or of its preview (:func:`preview_cached`)
    with ``preview``, one option per chart id (cached, built once even when sessions ask at
    once; not to be modified)."""
    return _FANS.get((req, bool(preview), region), _fans_of)[0]


def _fans_of(key: tuple[RunRequest, bool, str]) -> dict[str, dict[str, Any]]:
    req, preview, region = key
    res, _ = preview_cached(req) if preview else run_cached(req)
    return {fid: opts[0] for fid, opts in fan_charts([(req.label, res)], region).items()}


def map_figures_for(req: RunRequest) -> dict[str, go.Figure]:
    """:func:`map_figures` of one request's run (cached), from the preview unless the full run
    is done (the maps are the same: they use the first members' cells)."""
    return _MAPS.get(req, _maps_of)[0]


def _maps_of(req: RunRequest) -> dict[str, go.Figure]:
    res = finished(req) or preview_cached(req)[0]
    return {fid: PreparedFigure(d) for fid, d in map_figures(res).items()}


_FANS: Memo[tuple[RunRequest, bool, str], dict[str, dict[str, Any]]] = Memo(8 * CACHE_SIZE)
_MAPS: Memo[RunRequest, dict[str, go.Figure]] = Memo(4)


# -- comparison and claims ---------------------------------------------------------------------


def compare_table(a: Result, b: Result) -> pd.DataFrame:
    """B minus A over the projection for every outcome and country, paired by member
    (:func:`sahelsim.model.run.compare`); both runs must share members, seed and horizon."""
    ra, rb = a.request, b.request
    if (ra.members, ra.seed, ra.months) != (rb.members, rb.seed, rb.months):
        raise InputError(["the two runs must have the same members, seed and horizon"])
    return compare(a.ds, b.ds, PROJECTION_START)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def compare_view(table: pd.DataFrame, ds: Any) -> pd.DataFrame:
    """:func:`compare_table` for people: outcomes described with their units (from ``ds``,
    one of the two runs' datasets), the three states by name, numbers as text with sensible
    digits."""
    t = table[table["country"].isin(CORE)]
    about = {v: runs.describe(ds, v) for v in t["outcome"].unique()}
    return pd.DataFrame(
        {
            "outcome": t["outcome"].map(lambda v: about[v][0]),
            "unit": t["outcome"].map(lambda v: about[v][1]),
            "country": t["country"].map(COUNTRY_NAMES),
            "A median": t["a_median"].map(_num),
            "B median": t["b_median"].map(_num),
            "B - A (median)": t["diff_median"].map(_num),
            "B - A (90 % interval)": [
                f"{_num(lo)} to {_num(hi)}"
                for lo, hi in zip(t["diff_q05"], t["diff_q95"], strict=True)
            ],
            "share of members B > A": t["share_b_higher"].map(lambda x: f"{x:.0%}"),
        }
    )


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
