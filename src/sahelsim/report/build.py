"""One self-contained HTML report: data, indicators, claims, scenarios, maps, skill, model card.

:func:`build_report` writes ``out/report.html``, a single file that opens offline: Plotly's
JavaScript is inlined once, every figure is inlined as JSON in one
``<script type="application/json">`` block, and nothing is fetched when the page opens (no CDN,
no web fonts, no external images). Geographic maps are Plotly ``choropleth`` traces with inline
GeoJSON (see :mod:`sahelsim.viz.maps` for how they stay offline).

Sections
    the executive summary (one screen: data cut-off, projection start, headline numbers with
    90 % intervals, the forecast skill against the baselines per level, the filtered present's
    last check, claims, validation, what changed since the
    previous report, kept in ``report_summary.json`` beside it); one section per country
    (observed against projected, the country's map, a watchlist of admin-1 units); then
    (b) indicators: UCDP country-year deaths by
    violence type, civilians killed by government and non-state groups, IDPs, the institutional
    timeline (table and markers on a chart); (c) the claims audit; (d) fan charts of the
    scenarios (median, 50 % and 90 % bands; projection start marked), projected from the
    filtered present in ``out/assimilate`` when there is one, else from a free run from
    2012-01, as the summary says (:mod:`sahelsim.report.projection`); (e) maps: PRIO-GRID cells
    by simulated deaths and by state control, admin-1 units by displaced people hosted; (f)
    forecast skill: the country-month and country-year backtests against the baselines and the
    ensembles (the run's ``backtest_cm``/``backtest`` folders, else the shipped measured copy,
    else "not measured"), and the filtered present (``assimilate``: ESS over time, the last
    observations against the predictive and filtered 90 % intervals); (g) a model card:
    mechanisms, parameters, posterior, calibration diagnostics, known limitations; and last,
    as an appendix, (a) the data: the store's ``sources`` ledger, provenance from the data
    folders' ``PROVENANCE.md``, quarantine counts by reason.

Every figure carries its units and source under it, a CSV of its data (built in the page from
the inlined data, so it works offline) and PNG/SVG export in its toolbar.

Safety: every string that comes from data (files, claims, timeline, scenario files) is escaped
with :func:`html.escape` in HTML and with ``\\u003c``/``\\u003e``/``\\u0026`` in the JSON
block, so a value such as ``<script>alert(1)</script>`` shows as text. Text passed to Plotly
(hover labels, titles) is escaped too, because Plotly renders a subset of HTML.

Layout: this module orchestrates; each section is a module of :mod:`sahelsim.report.sections`,
the page shell (style sheet, renderer script) is :mod:`sahelsim.report.page`, and the figures
shared with the explorer (palette, fan charts, maps, run summaries) come from
:mod:`sahelsim.viz`. The report reads nothing from the source tree (the known limitations are the
package resource ``sahelsim/resources/limitations.md``).

The modules log to ``sahelsim.report`` / ``sahelsim.viz`` and never print;
``progress(label, done, total)`` is called between the steps.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from sahelsim import __version__
from sahelsim.claims.audit import audit
from sahelsim.core.atomic import (
    write_text_atomic,
)
from sahelsim.core.errors import SahelsimError
from sahelsim.data.store.store import Store
from sahelsim.report.inputs import (
    COMMANDS,
    LEVELS,
    PRESENT_FOLDER,
    RUN_FOLDERS,
    load_present,
    load_skill,
)
from sahelsim.report.page import SECTION_TITLES, render_page
from sahelsim.report.projection import PRESENT_MODES, resolve_start
from sahelsim.report.sections.claims import section_claims
from sahelsim.report.sections.country import country_key, section_country
from sahelsim.report.sections.data import section_data
from sahelsim.report.sections.indicators import section_indicators
from sahelsim.report.sections.maps import section_maps
from sahelsim.report.sections.model import section_model
from sahelsim.report.sections.present import section_present
from sahelsim.report.sections.scenarios import (
    MAP_SCENARIO,
    observed_series,
    run_scenarios,
    section_scenarios,
)
from sahelsim.report.sections.skill import section_skill
from sahelsim.report.sections.summary import (
    SUMMARY_FILE,
    SummaryInputs,
    data_cutoffs,
    load_forecasts,
    load_validation,
    read_previous,
    section_summary,
    summary_record,
    write_summary,
)
from sahelsim.report.sections.validation import section_validation
from sahelsim.scenarios.run import HISTORY_START, make_space
from sahelsim.scenarios.scenario import list_scenarios, load_scenario
from sahelsim.viz.figures import FigureSet
from sahelsim.viz.maps import admin1_weights_for, load_admin1
from sahelsim.viz.runs import CORE, ScenarioRuns
from sahelsim.viz.text import esc

log = logging.getLogger(__name__)

__all__ = ["PRESENT_MODES", "REPORT_FILE", "SECTION_TITLES", "SUMMARY_FILE", "build_report"]

REPORT_FILE = "report.html"

Progress = Callable[[str, int, int], None]


def build_report(
    store: Store,
    *,
    data_dir: str | Path | None,
    out: Path,
    members: int = 200,
    seed: int = 0,
    scenarios: Sequence[str] | None = None,
    backtest_dir: Path | None = None,
    claims: pd.DataFrame | None = None,
    progress: Progress | None = None,
    backtest_cm_dir: Path | None = None,
    present_dir: Path | None = None,
    present: str = "auto",
) -> Path:
    """Write ``out/report.html`` and return its path.

    ``store``: an ingested :class:`~sahelsim.store.Store`; ``data_dir``: the staged data (the
    study grid, admin-1 polygons, provenance files; None = the synthetic grid and no admin-1
    map). ``members``/``seed``: the ensemble of every scenario (the same members and seed for
    each, so scenario comparisons are paired), projected to 2030-12.
    ``scenarios``: names (default: every shipped scenario). ``backtest_dir``: folder with
    ``overall.csv`` (and ``scores.csv``, ``verdict.csv``) from ``sahelsim backtest --level cy``;
    default ``out/backtest``. ``backtest_cm_dir``: the same of ``--level cm``; default
    ``out/backtest_cm``. A level whose folder has no ``overall.csv`` is shown from the shipped
    measured copy (labelled so), else as "not measured" (:mod:`sahelsim.report.inputs`).
    ``present_dir``: the folder of ``sahelsim assimilate``; default ``out/assimilate``.
    ``present``: where the projections start (:mod:`sahelsim.report.projection`): ``auto``
    (default) from the filtered ensemble in ``present_dir`` when it holds a usable one, else a
    free run from 2012-01 (the summary says which, and why); ``filter`` reuses ``present_dir``
    when it holds the filter of the store's data to their last month, else filters ``members``
    members and writes it there; ``none`` the free run.
    ``claims``: a claims audit table (default: :func:`sahelsim.claims.audit`
    with the model, ``members`` and ``seed``). ``progress(label, done, total)`` is called
    between steps.
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir) if data_dir is not None else None
    out = Path(out)
    names = list(list_scenarios() if scenarios is None else scenarios)
    if not names:
        raise ValueError("scenarios is empty: give at least one scenario name")
    for n in names:
        load_scenario(n)  # fail early on an unknown name
    if members < 2:
        raise ValueError(f"members must be at least 2 for intervals, got {members}")
    if present not in PRESENT_MODES:
        raise ValueError(f"present must be one of {', '.join(PRESENT_MODES)}, got {present!r}")
    folders = {
        "cy": Path(backtest_dir) if backtest_dir is not None else out / RUN_FOLDERS["cy"],
        "cm": Path(backtest_cm_dir) if backtest_cm_dir is not None else out / RUN_FOLDERS["cm"],
    }
    present_dir = Path(present_dir) if present_dir is not None else out / PRESENT_FOLDER
    total = 9 + len(names)
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        if progress:
            progress(label, step, total)
        step += 1

    figs = FigureSet()
    sections: dict[str, str] = {}
    tick("data overview")
    sections["data"] = section_data(store, data_dir)
    tick("indicators")
    sections["indicators"], cy = section_indicators(store, figs)
    tick("claims audit")
    error = ""
    if claims is None:
        try:
            claims = audit(store, model=True, members=members, seed=seed, data_dir=data_dir)
        except (LookupError, SahelsimError, ValueError) as exc:
            log.warning("report: claims audit failed: %s", exc)
            error = str(exc)
    sections["claims"] = section_claims(claims, error)
    tick("projection start")
    space = make_space(data_dir, HISTORY_START)
    start = resolve_start(store, present_dir, present=present, space=space, data_dir=data_dir,
                          members=members, seed=seed)  # fmt: skip
    head_sc = MAP_SCENARIO if MAP_SCENARIO in names else names[0]
    runs, rows = run_scenarios(
        names,
        data_dir=data_dir,
        members=members,
        seed=seed,
        progress=progress,
        step=step,
        total=total,
        space=space,
        start=start,
        headline_scenario=head_sc,
    )
    step += len(names)
    sections["scenarios"] = section_scenarios(runs, names, cy, figs, members, start)
    tick("maps")
    admin1 = load_admin1(data_dir) if runs.has_maps else None
    sections["maps"] = section_maps(runs, admin1, data_dir, figs)
    tick("countries")
    sections.update(_countries(runs, names, cy, rows, admin1, figs))
    tick("forecast skill")
    skills = {lv: load_skill(lv, folders[lv]) for lv in LEVELS}
    sections["skill"] = section_skill(skills, folders, COMMANDS, figs)
    present = load_present(present_dir)
    sections["present"] = section_present(present, present_dir, figs)
    validation = load_validation(out)
    sections["validation"] = section_validation(validation)
    tick("model card")
    sections["model"] = section_model(store, figs)
    tick("summary")
    inputs = SummaryInputs(
        scenario=head_sc,
        runs=runs,
        rows=rows,
        cutoffs=data_cutoffs(store),
        claims=claims,
        validation=validation,
        forecasts=load_forecasts(out),
        members=members,
        seed=seed,
        names=names,
        start=start,
        skills=skills,
        present=present,
    )
    record = summary_record(inputs)
    sections["summary"] = section_summary(inputs, record, read_previous(out))
    sections = {k: sections[k] for k in SECTION_TITLES if k in sections}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    params = {"posterior": "calibrated posterior", "present": "the filtered members' own"}
    meta_html = (
        f'<p class="meta">Generated {esc(now)} by sahelsim {esc(__version__)};'
        f" {members} members per scenario, seed {seed}; scenarios: {esc(', '.join(names))};"
        f" grid: {'study grid' if data_dir is not None else 'synthetic grid'}; projections"
        f" from the {esc(start.label)}; parameters:"
        f" {esc(params.get(runs.parameters, 'uncalibrated priors'))}."
        "</p>"
    )
    html_text = render_page(
        "sahelsim report: the Central Sahel conflict system", meta_html, sections, figs
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    write_text_atomic(path, html_text)
    write_summary(out, record)
    if progress:
        progress("written", total, total)
    size = path.stat().st_size
    log.info(
        "report: wrote %s (%.1f MB, %d figures) in %.0f s",
        path,
        size / 1e6,
        len(figs.items),
        time.perf_counter() - t0,
    )
    if size > 8_000_000:
        log.warning("report: %s is %.1f MB (aim < 8 MB)", path, size / 1e6)
    return path


def _countries(
    runs: ScenarioRuns,
    names: Sequence[str],
    cy: pd.DataFrame | None,
    rows: list[dict[str, object]],
    admin1: pd.DataFrame | None,
    figs: FigureSet,
) -> dict[str, str]:
    """The section of each core country."""
    deaths, _civ, idp = observed_series(cy)
    weights = admin1_weights_for(runs, admin1) if admin1 is not None and runs.has_maps else None
    by_region = {str(r["region"]): r for r in rows}
    out = {}
    for iso in CORE:
        last = ""
        if cy is not None:
            years = cy.loc[(cy["iso3"] == iso) & cy["deaths_total"].notna(), "year"]
            last = str(int(years.max())) if len(years) else ""
        out[country_key(iso)] = section_country(
            iso,
            runs=runs,
            names=names,
            observed=(deaths, idp),
            headline=by_region.get(iso),
            admin1=admin1,
            weights=weights,
            last_year=last,
            figs=figs,
        )
    return out
