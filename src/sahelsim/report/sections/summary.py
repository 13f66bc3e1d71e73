"""The executive summary: one screen in plain language before anything else.

What the data cover (the last period of each source), when the projections start and from
what (the filtered ensemble, else a free run from 2012-01 and why), the headline numbers with
90 % intervals (deaths in the first 12 projected months and displaced people at their end, per
country, from the reference scenario's projection), the claims verdicts,
the validation scorecard, the forecast skill against the baselines at each level (from the
run or the shipped measured copy) and the filtered present's last check, and what
changed since the previous report there (``report_summary.json`` beside the report).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from sahelsim.core.atomic import (
    write_text_atomic,
)
from sahelsim.core.canon import GW_TO_ISO3
from sahelsim.core.errors import SahelsimError
from sahelsim.data.store.store import Store
from sahelsim.forecast.views_io import read_views_parquet
from sahelsim.report.html import note, table
from sahelsim.report.inputs import PresentInputs, SkillTables
from sahelsim.report.projection import ProjectionStart, window_words
from sahelsim.report.sections.claims import verdict_class
from sahelsim.report.sections.model import limitation_items, markdown_inline
from sahelsim.report.sections.present import present_counts, present_summary_html
from sahelsim.report.sections.skill_text import skill_headline, skill_summary_html
from sahelsim.scenarios.run import month_label
from sahelsim.viz.runs import COUNTRY_NAMES, SIM_START, ScenarioRuns
from sahelsim.viz.text import VIOLENCE_NAMES, esc, fmt_num

log = logging.getLogger(__name__)

__all__ = [
    "SUMMARY_FILE",
    "VALIDATION_FILES",
    "SummaryInputs",
    "data_cutoffs",
    "load_forecasts",
    "load_validation",
    "read_previous",
    "section_summary",
    "summary_record",
    "write_summary",
]

#: The machine-readable summary kept beside the report (diffed by the next report).
SUMMARY_FILE = "report_summary.json"
#: Where the validation scorecard may be, relative to the output folder.
VALIDATION_FILES = ("validate/validate.json", "validate.json", "validation/validate.json")
#: Plain names of the store's sources (ids stay in machine files).
SOURCE_NAMES = {
    "ucdp_ged": "UCDP georeferenced events (GED)",
    "ucdp_candidate": "UCDP candidate events",
    "acled": "ACLED events",
    "ucdp_country_year": "UCDP country-year deaths",
    "unhcr_population": "UNHCR refugees and IDPs",
    "unhcr_flows": "UNHCR flows",
    "unhcr_solutions": "UNHCR solutions (returns)",
    "idmc": "IDMC internal displacement",
    "iom_dtm_mali": "IOM DTM Mali (admin-level IDPs)",
    "worldbank": "World Bank population",
    "worldpop_priogrid": "WorldPop population per cell",
}
#: (query, how the last period is shown) per table; each gives (source, last).
_CUTOFF_QUERIES = (
    "SELECT source, max(date_start) AS last FROM events GROUP BY source",
    "SELECT 'ucdp_country_year' AS source, max(year) AS last FROM ucdp_country_year",
    "SELECT source, max(coalesce(date, make_date(year, 12, 31))) AS last FROM displacement"
    " GROUP BY source",
    "SELECT source, max(year) AS last FROM population GROUP BY source",
)
#: Verdict order for "the most important claims": decided against the data first.
_VERDICT_RANK = {
    "contradicted": 0,
    "not consistent with the data": 1,
    "supported": 2,
    "consistent with the data": 3,
    "mixed": 4,
    "model: not consistent": 5,
    "model: consistent": 6,
    "model: mixed": 7,
}
_PASS = {"pass", "passed", "ok", "true", "yes"}


def _period(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, int | np.integer):
        return str(int(v))
    try:
        return pd.Timestamp(v).strftime("%Y-%m")
    except (TypeError, ValueError):
        return str(v)


def data_cutoffs(store: Store) -> pd.DataFrame:
    """Columns ``source`` (id), ``dataset`` (plain name), ``last`` (YYYY-MM or YYYY): the last
    period each ingested source covers."""
    rows = []
    for q in _CUTOFF_QUERIES:
        try:
            df = store.sql(q)
        except duckdb.Error as exc:
            log.warning("report: data cut-off query failed: %s", exc)
            continue
        for src, last in zip(df["source"], df["last"], strict=True):
            if last is None or (isinstance(last, float) and math.isnan(last)) or last is pd.NaT:
                continue
            rows.append(
                {
                    "source": str(src),
                    "dataset": SOURCE_NAMES.get(str(src), str(src)),
                    "last": _period(last),
                }
            )
    return pd.DataFrame(rows, columns=["source", "dataset", "last"])


def _interval(m: float, lo: float, hi: float) -> str:
    if not math.isfinite(m):
        return "n/a"
    return f'<strong>{fmt_num(m)}</strong> <span class="iv">({fmt_num(lo)} to {fmt_num(hi)})</span>'


def load_validation(out: Path) -> pd.DataFrame | None:
    """The validation scorecard (``validate.json`` in ``out`` or ``out/validation``) as a
    table with at least ``pattern`` and ``status``; None when absent or unreadable (logged)."""
    for rel in VALIDATION_FILES:
        p = out / rel
        if not p.is_file():
            continue
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("report: %s unreadable: %s", p, exc)
            return None
        rows: Any = doc
        if isinstance(doc, Mapping):
            rows = next((v for k, v in doc.items() if isinstance(v, list) and k != "meta"), None)
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            log.warning("report: %s has no list of patterns", p)
            return None
        df = pd.DataFrame(rows)
        if "status" not in df.columns:
            log.warning("report: %s has no 'status' column", p)
            return None
        if "pattern" not in df.columns:
            df["pattern"] = [f"pattern {i + 1}" for i in range(len(df))]
        return df
    return None


#: The country-year forecasts of ``sahelsim forecast`` (VIEWS layout), per UCDP violence type.
FORECAST_FILE = "forecast/forecast_ged_{target}_country_year.parquet"


def load_forecasts(out: Path) -> pd.DataFrame | None:
    """Median and 90 % interval of the calibrated forecasts in ``out/forecast`` (columns
    ``country, type, year, median, q05, q95``; names, not ids); None when there are none."""
    rows = []
    for target in ("sb", "ns", "os"):
        p = out / FORECAST_FILE.format(target=target)
        if not p.is_file():
            continue
        try:
            df = read_views_parquet(p)
        except (OSError, ValueError, SahelsimError) as exc:
            log.warning("report: forecast %s unreadable: %s", p, exc)
            continue
        for (year, cid), g in df.groupby(["year", "country_id"]):
            q = np.quantile(g["outcome"].to_numpy(dtype=float), [0.05, 0.5, 0.95])
            iso = GW_TO_ISO3.get(int(cid), str(cid))
            rows.append({"country": COUNTRY_NAMES.get(iso, iso), "type": VIOLENCE_NAMES[target],
                         "year": int(year), "median": q[1], "q05": q[0], "q95": q[2]})  # fmt: skip
    return pd.DataFrame(rows) if rows else None


def _forecasts_html(fc: pd.DataFrame) -> str:
    t = fc.sort_values(["year", "country", "type"], kind="stable").copy()
    t["value"] = [_interval(*v) for v in zip(t["median"], t["q05"], t["q95"], strict=True)]
    years = ", ".join(str(y) for y in sorted(set(t["year"])))
    return (
        f"<h3>Calibrated forecasts ({esc(years)})</h3>"
        + table(
            t,
            [
                ("year", "year"),
                ("country", "country"),
                ("type", "violence type"),
                ("value", "deaths: median (90 % interval)"),
            ],
            fmt={"value": str},
            cls="small",
        )
        + note(
            "From <code>forecast/</code> in this folder (<code>sahelsim forecast</code>):"
            " UCDP-type deaths per country and year."
        )
    )


def _passed(status: Any) -> bool:
    return str(status).strip().lower() in _PASS


def _top_claims(claims: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    c = claims.copy()
    c["_rank"] = [_VERDICT_RANK.get(str(v), 9) for v in c["verdict"]]
    c["_ev"] = [0 if str(e) == "data" else 1 for e in c.get("evidence", [""] * len(c))]
    return c.sort_values(["_ev", "_rank"], kind="stable").head(n)


def read_previous(out: Path) -> dict[str, Any] | None:
    """The previous report's summary record in ``out``; None when absent or unreadable."""
    p = out / SUMMARY_FILE
    if not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("report: previous %s unreadable: %s", p, exc)
        return None
    return doc if isinstance(doc, dict) else None


@dataclass(frozen=True)
class SummaryInputs:
    """What the summary says: the headline scenario, the runs and their headline rows
    (:func:`~sahelsim.report.projection.headline_rows`), the data cut-offs
    (:func:`data_cutoffs`), the claims and the validation scorecard (None when absent), the forecast skill per level (None: not measured), the
    filtered present (None: not run), the ensemble settings."""

    scenario: str
    runs: ScenarioRuns
    rows: list[dict[str, Any]]
    cutoffs: pd.DataFrame
    claims: pd.DataFrame | None
    validation: pd.DataFrame | None
    forecasts: pd.DataFrame | None
    members: int
    seed: int
    names: Sequence[str]
    start: ProjectionStart
    skills: Mapping[str, SkillTables | None] = field(default_factory=dict)
    present: PresentInputs | None = None


def summary_record(inp: SummaryInputs) -> dict[str, Any]:
    """What the next report compares against (plain JSON, no NaN)."""
    scenario, runs, rows, cutoffs = inp.scenario, inp.runs, inp.rows, inp.cutoffs
    claims, validation, members, seed = inp.claims, inp.validation, inp.members, inp.seed

    def num(v: Any) -> float | None:
        return round(float(v), 1) if isinstance(v, float | int) and math.isfinite(v) else None

    return {
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scenario": scenario,
        "members": members,
        "seed": seed,
        "projection_start": inp.start.label,
        "projection_start_kind": inp.start.kind,
        "projection_caveat": inp.start.caveat or inp.start.why or None,
        "first_projected_month": month_label(runs.projection_start),
        "data_last": dict(zip(cutoffs["source"], cutoffs["last"], strict=True)),
        "headline": [
            {k: (num(v) if k not in ("region", "country") else v) for k, v in r.items()}
            for r in rows
        ],
        "claims": {str(k): int(v) for k, v in claims["verdict"].value_counts().items()}
        if claims is not None and len(claims)
        else {},
        "validation_passed": int(sum(_passed(s) for s in validation["status"]))
        if validation is not None
        else None,
        "skill": {lv: _skill_record(t) for lv, t in inp.skills.items()},
        "present": None
        if inp.present is None
        else {"until": inp.present.summary.get("until"), "checks": present_counts(inp.present)},
    }


def _skill_record(t: SkillTables | None) -> dict[str, Any] | None:
    """A level's headline for the record (None: not measured)."""
    if t is None:
        return None
    h = skill_headline(t)

    def num(v: Any) -> float | None:
        return round(float(v), 4) if isinstance(v, float | int) and math.isfinite(v) else None

    return {"source": h["origin"], "date": h["date"], "model_crps": num(h["model_crps"]),
            "best_baseline": h["best_baseline"], "best_baseline_crps": num(h["best_baseline_crps"]),
            "goals": {g["goal"]: bool(g["met"]) for g in h["goals"]}}  # fmt: skip


def write_summary(out: Path, record: dict[str, Any]) -> Path:
    """Write ``out/report_summary.json`` atomically."""
    return write_text_atomic(out / SUMMARY_FILE, json.dumps(record, indent=1, allow_nan=False))


def _cutoff_line(cutoffs: pd.DataFrame) -> str:
    if len(cutoffs) == 0:
        return "<p>No data ingested: the store is empty.</p>"
    items = "; ".join(
        f"{esc(d)} to {esc(v)}" for d, v in zip(cutoffs["dataset"], cutoffs["last"], strict=True)
    )
    return f'<p class="cutoffs">Data cover: {items}.</p>'


def _trust_line() -> str:
    """The packaged limitation on calibration, said up front."""
    try:
        items = [i for i in limitation_items() if i.lower().startswith("**calibration")]
    except OSError:
        items = []
    return f'<p class="trust">How far to trust it: {markdown_inline(items[0])}</p>' if items else ""


def _changes(prev: dict[str, Any] | None, rec: dict[str, Any]) -> str:
    if prev is None:
        return note("First report in this folder: nothing to compare with yet.")
    items = []
    old_last = prev.get("data_last") or {}
    for src, last in rec["data_last"].items():
        if str(old_last.get(src, last)) != str(last):
            items.append(
                f"{esc(SOURCE_NAMES.get(src, src))}: data now to {esc(last)}"
                f" (was {esc(old_last.get(src))})"
            )
    if prev.get("projection_start") not in (None, rec["projection_start"]):
        items.append(
            f"projections now start from: {esc(rec['projection_start'])}"
            f" (was: {esc(prev.get('projection_start'))})"
        )
    same_run = prev.get("scenario") == rec["scenario"]
    old = {r.get("region"): r for r in prev.get("headline") or [] if isinstance(r, dict)}
    for r in rec["headline"] if same_run else []:
        o = old.get(r["region"])
        if not o:
            continue
        for key, what in (("deaths_median", "deaths"), ("idps_median", "IDPs")):
            a, b = o.get(key), r.get(key)
            if isinstance(a, int | float) and isinstance(b, int | float) and a != b:
                pct = f" ({(b - a) / a:+.0%})" if a else ""
                items.append(f"{esc(r['country'])} {what}: {fmt_num(a)} → {fmt_num(b)}{pct}")
    if not same_run:
        items.append(
            f"headline scenario changed ({esc(prev.get('scenario'))} → {esc(rec['scenario'])})"
        )
    when = esc(prev.get("generated", "unknown"))
    if not items:
        return note(f"No change in the headline numbers since the previous report ({when}).")
    return (
        f'<p class="note">Since the previous report ({when}):</p><ul class="changes">'
        + "".join(f"<li>{i}</li>" for i in items[:12])
        + "</ul>"
    )


def _start_words(start: ProjectionStart, runs: ScenarioRuns) -> str:
    """Where the projections start, in plain words (HTML, escaped)."""
    f = start.filtered
    if f is not None:
        return (
            f"from <strong>{esc(f.describe())}</strong>: the model's members conditioned on"
            f" the observations up to {esc(month_label(f.until))}, each run forward under"
            " every scenario"
            + (
                ", its deaths by type anchored on the 12 observed months to"
                f" {esc(month_label(f.until))}"
                if start.ratio is not None
                else ", its deaths not anchored on the observed level (the folder keeps no recent"
                " counts)"
            )
            + (f" (<strong>note</strong>: {esc(start.caveat)})" if start.caveat else "")
            + "."
        )
    calibrated = runs.parameters == "posterior"
    return (
        f"from <strong>a free run from {esc(SIM_START)}</strong> with "
        + ("calibrated parameters" if calibrated else "uncalibrated prior parameters")
        + ", <strong>not conditioned on the latest data</strong>"
        + f" ({esc(start.why)})."
    )


def section_summary(
    inp: SummaryInputs, record: dict[str, Any], previous: dict[str, Any] | None
) -> str:
    """The summary's HTML (every data value escaped); ``record``: this report's
    :func:`summary_record`, ``previous``: the last one in the folder (:func:`read_previous`)."""
    scenario, runs, rows, cutoffs = inp.scenario, inp.runs, inp.rows, inp.cutoffs
    claims, validation, names = inp.claims, inp.validation, inp.names
    scenario_title = runs.titles.get(scenario, scenario)
    start = month_label(runs.projection_start)
    in_window, at_end = window_words(runs.projection_start)
    ucdp = cutoffs[cutoffs["source"].isin(["ucdp_country_year", "ucdp_ged"])]["last"]
    last_obs = max((str(v)[:4] for v in ucdp), default="")
    parts = [
        '<div class="keyfacts">',
        f"<p><strong>Observed data end in {esc(last_obs or 'an unknown year')}</strong>"
        f" (UCDP deaths); <strong>projections start in {esc(start)}</strong>, "
        + _start_words(inp.start, runs)
        + "</p>",
        _cutoff_line(cutoffs),
        _trust_line(),
        "</div>",
    ]
    if rows:
        t = pd.DataFrame(rows)
        t["deaths"] = [_interval(*v) for v in zip(t.deaths_median, t.deaths_q05, t.deaths_q95,
                                                   strict=True)]  # fmt: skip
        t["idps"] = [_interval(*v) for v in zip(t.idps_median, t.idps_q05, t.idps_q95,
                                                 strict=True)]  # fmt: skip
        parts.append(
            f"<h3>Headline: {esc(scenario_title)}</h3>"
            + table(
                t,
                [
                    ("country", "country"),
                    ("deaths", f"deaths {in_window}"),
                    ("idps", f"internally displaced people, {at_end}"),
                ],
                fmt={"deaths": str, "idps": str},
                cls="headline",
            )
            + note(
                f"Median of the ensemble and, in brackets, the 90 % interval (5th to 95th"
                f" percentile of members) of the projection from {esc(inp.start.label)}."
                f" Deaths: all UCDP violence types, {start} to"
                f" {month_label(runs.projection_start + 11)}. Other scenarios ({esc(', '.join(n for n in names if n != scenario))})"
                " are in the country sections."
            )
        )
    if inp.skills:
        parts.append(skill_summary_html(inp.skills))
    parts.append(present_summary_html(inp.present))
    if claims is not None and len(claims):
        counts = claims["verdict"].value_counts()
        pills = " ".join(
            f'<span class="{verdict_class(v)} pill">{esc(v)}: {int(n)}</span>'
            for v, n in counts.items()
        )
        top = _top_claims(claims)
        lis = "".join(
            f'<li><span class="{verdict_class(v)} pill">{esc(v)}</span> {esc(c)}</li>'
            for c, v in zip(top["claim"], top["verdict"], strict=True)
        )
        parts.append(f"<h3>Claims of the article ({len(claims)})</h3><p>{pills}</p><ol>{lis}</ol>")
    if validation is not None:
        ok = int(sum(_passed(s) for s in validation["status"]))
        failing = validation[[not _passed(s) for s in validation["status"]]]["pattern"]
        fail_text = ", ".join(esc(p) for p in failing.head(3))
        parts.append(
            note(
                f"<strong>Validation scorecard: {ok} of {len(validation)} patterns pass</strong>"
                + (
                    f"; not passing: {fail_text}" + (", ..." if len(failing) > 3 else "")
                    if len(failing)
                    else ""
                )
                + ".",
                cls="note fg",
            )
        )
    if inp.forecasts is not None:
        parts.append(_forecasts_html(inp.forecasts))
    parts.append("<h3>What changed</h3>")
    parts.append(_changes(previous, record))
    return "".join(parts)
