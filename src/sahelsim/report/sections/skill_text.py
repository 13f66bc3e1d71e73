"""Forecast skill in plain words: forecaster names and colours, the counts of a backtest
(origins, seeds, horizons), the goals with "met" / "NOT met", the headline (the model's CRPS
against the best baseline's) and the summary's lines (every data value escaped)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from sahelsim.core.canon import month_id_to_year_month
from sahelsim.report.inputs import SkillTables
from sahelsim.viz.palette import BASELINE_COLOUR, MODEL_COLOUR, OKABE_ITO
from sahelsim.viz.text import esc, fmt_num

__all__ = [
    "FORECASTER_COLOURS",
    "FORECASTER_NAMES",
    "FORECASTER_NOTES",
    "HORIZON_UNITS",
    "LEVEL_NAMES",
    "NOT_BASELINES",
    "forecaster_name",
    "forecaster_note",
    "goal_rows",
    "met_html",
    "num",
    "pct",
    "skill_counts",
    "skill_headline",
    "skill_summary_html",
]

LEVEL_NAMES = {"cm": "country-month", "cy": "country-year"}
HORIZON_UNITS = {"cm": "months", "cy": "years"}
#: Plain names of the forecasters (the ids stay in the CSV files); the model's depends on the
#: level: filtered on the data to each origin (cm), calibrated by ABC-SMC per origin (cy).
FORECASTER_NAMES = {
    "zero": "zero",
    "last_value": "last value",
    "conflictology": "conflictology",
    "bootstrap": "bootstrap",
    "negbin": "negative binomial",
    "median_ensemble": "median ensemble",
    "linear_pool": "linear pool",
}
MODEL_NAMES = {"cm": "filtered model", "cy": "filtered model"}
#: What each forecaster does, in a sentence.
FORECASTER_NOTES = {
    "zero": "no deaths, ever",
    "last_value": "Poisson around the last observed value",
    "conflictology": "resampled from the recent history of the same country and type",
    "bootstrap": "resampled from the whole history, the three countries pooled",
    "negbin": "a negative binomial fitted to the recent history",
    "median_ensemble": "the median of the members' quantiles, every member equal",
    "linear_pool": "a mixture of the members, weights fitted on earlier origins only",
}
#: One colour per forecaster in every skill figure (Okabe-Ito, as the rest of the report).
FORECASTER_COLOURS = {
    "model": MODEL_COLOUR,
    "linear_pool": OKABE_ITO["blue"],
    "median_ensemble": OKABE_ITO["sky_blue"],
    "negbin": OKABE_ITO["bluish_green"],
    "conflictology": OKABE_ITO["orange"],
    "bootstrap": OKABE_ITO["reddish_purple"],
    "last_value": OKABE_ITO["black"],
    "zero": BASELINE_COLOUR,
}
#: Not baselines: the model and the ensembles (the verdict's "best baseline" excludes them).
NOT_BASELINES = ("model", "median_ensemble", "linear_pool")
_TRUE = {"true", "1", "yes", "met"}


#: What the model does at each level.
MODEL_NOTES = {
    "cm": "the agent model calibrated (ABC-SMC) on the years before the origin, filtered on the"
    " data up to it, then run forward, its deaths anchored on the 12 observed months",
    "cy": "the agent model calibrated (ABC-SMC) on the years up to the origin, filtered on the"
    " data up to its December, then run forward, its deaths anchored on the observed year",
}


def forecaster_note(name: Any, level: str) -> str | None:
    """A forecaster's one-sentence description (None for an unknown id)."""
    s = str(name)
    return MODEL_NOTES.get(level) if s == "model" else FORECASTER_NOTES.get(s)


def forecaster_name(name: Any, level: str) -> str:
    """The plain name of a forecaster id (unknown ids as they are; escape before HTML)."""
    s = str(name)
    return MODEL_NAMES.get(level, "model") if s == "model" else FORECASTER_NAMES.get(s, s)


def _is_true(v: Any) -> bool:
    return str(v).strip().lower() in _TRUE


def num(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def _period(v: Any, level: str) -> str:
    x = num(v)
    if not math.isfinite(x):
        return esc(v)
    if level == "cy":
        return str(int(x))
    y, m = month_id_to_year_month(int(x))
    return f"{int(y):04d}-{int(m):02d}"


def pct(v: Any) -> str:
    x = num(v)
    return f"{100 * x:.0f} %" if math.isfinite(x) else "n/a"


def skill_counts(t: SkillTables) -> dict[str, Any]:
    """Origins (count, first, last), seeds, horizons, forecasts scored per forecaster and the
    origin-horizon pairs dropped (past the data's last month), from the tables present."""
    out: dict[str, Any] = {}
    w = t.get("weights")
    if w is not None:
        origins = sorted({int(o) for o in w["origin"].dropna()})
        if origins:
            out |= {
                "origins": len(origins),
                "first": _period(origins[0], t.level),
                "last": _period(origins[-1], t.level),
            }
    seeds: list[int] = []
    for name in ("overall_by_seed", "pit", "weights"):
        s = t.get(name)
        if s is not None and "seed" in s.columns:
            seeds = sorted({int(x) for x in s["seed"].dropna()})
            break
    if seeds:
        out["seeds"] = seeds
    bh = t.get("by_horizon")
    if bh is not None:
        hs = sorted({int(h) for h in bh["horizon"].dropna()})
        if hs:
            out["horizons"] = hs
    ov = t.get("overall")
    if ov is not None and "n" in ov.columns and len(ov):
        out["n"] = int(ov["n"].max())
    d = t.tables.get("dropped")
    if d is not None:
        out["dropped"] = len(d)
    return out


def _best_baseline(t: SkillTables) -> tuple[str | None, float]:
    for name in ("goals", "verdict"):
        g = t.get(name)
        if g is not None and {"best_baseline", "best_baseline_crps"} <= set(g.columns):
            return str(g["best_baseline"].iloc[0]), num(g["best_baseline_crps"].iloc[0])
    ov = t.tables["overall"]
    base = ov[~ov["forecaster"].astype(str).isin(NOT_BASELINES)]
    if base.empty:
        return None, math.nan
    r = base.loc[base["crps"].astype(float).idxmin()]
    return str(r["forecaster"]), float(r["crps"])


def _goal_text(goal: str, who: str, best: str, level: str) -> str:
    model, b = forecaster_name("model", level), forecaster_name(best, level)
    g = goal.lower()
    if "model crps" in g:
        return f"the {model} forecasts at least as well (CRPS) as the best baseline ({b})"
    if "coverage" in g:
        return f"the {model}'s 90 % intervals hold 80-95 % of the observed counts"
    if "ensemble" in g:
        return (
            f"the best ensemble ({forecaster_name(who, level)}) has a CRPS at least 15 %"
            f" below the best baseline's ({b})"
        )
    return goal


def goal_rows(t: SkillTables) -> list[dict[str, Any]]:
    """The goals in plain words: ``goal`` (text), ``value`` and ``aim`` (text), ``seeds``
    (range over seeds, text) and ``met`` (bool); from ``goals.csv``, else ``verdict.csv``."""
    best, best_crps = _best_baseline(t)
    rows = []
    g = t.get("goals")
    if g is not None:
        for r in g.to_dict("records"):
            cov = "coverage" in str(r["goal"]).lower()
            f = pct if cov else (lambda v: fmt_num(v, 2))
            lo, hi = r.get("seed_min"), r.get("seed_max")
            seeds = f"{f(lo)} to {f(hi)}" if math.isfinite(num(lo)) else ""
            aim = re.sub(r"(\d)%-(\d+)%", r"\1-\2 %", str(r.get("aim", "")))
            aim = aim.replace("<=", "at most")
            rows.append(
                {
                    "goal": _goal_text(str(r["goal"]), str(r["forecaster"]), str(best), t.level),
                    "value": f(r["value"]),
                    "seeds": seeds,
                    "aim": aim,
                    "met": _is_true(r["met"]),
                }
            )
        return rows
    v = t.get("verdict")
    if v is None:
        return rows
    r = v.iloc[0].to_dict()
    if "meets_crps_aim" in r:
        rows.append(
            {
                "goal": _goal_text("model crps", "model", str(best), t.level),
                "value": fmt_num(r.get("model_crps"), 2),
                "seeds": "",
                "aim": f"at most {fmt_num(best_crps, 2)}",
                "met": _is_true(r["meets_crps_aim"]),
            }
        )
    if "meets_coverage_aim" in r:
        rows.append(
            {
                "goal": _goal_text("coverage", "model", str(best), t.level),
                "value": pct(r.get("model_coverage90")),
                "seeds": "",
                "aim": "80-95 %",
                "met": _is_true(r["meets_coverage_aim"]),
            }
        )
    if "meets_ensemble_aim" in r:
        rows.append(
            {
                "goal": _goal_text("ensemble", str(r.get("best_ensemble")), str(best), t.level),
                "value": fmt_num(r.get("best_ensemble_crps"), 2),
                "seeds": "",
                "aim": f"at most {fmt_num(num(r.get('ensemble_aim_ratio')) * best_crps, 2)}",
                "met": _is_true(r["meets_ensemble_aim"]),
            }
        )
    return rows


def skill_headline(t: SkillTables) -> dict[str, Any]:
    """The model's and the best baseline's CRPS (seed-averaged), their ratio and the goals."""
    best, best_crps = _best_baseline(t)
    ov = t.tables["overall"]
    m = ov[ov["forecaster"].astype(str) == "model"]
    model_crps = float(m["crps"].iloc[0]) if len(m) else math.nan
    ratio = model_crps / best_crps if best_crps and math.isfinite(best_crps) else math.nan
    return {
        "level": t.level,
        "model_crps": model_crps,
        "best_baseline": best,
        "best_baseline_crps": best_crps,
        "ratio": ratio,
        "goals": goal_rows(t),
        "origin": t.origin,
        "date": t.date,
        "command": t.command,
    }


def met_html(ok: bool) -> str:
    return '<span class="met">met</span>' if ok else '<span class="miss">NOT met</span>'


def _ratio_text(ratio: float) -> str:
    if not math.isfinite(ratio):
        return ""
    if abs(ratio - 1) < 0.005:
        return ": the same"
    word = "worse" if ratio > 1 else "better"
    return f": {abs(ratio - 1):.0%} {word}".replace("%", " %")


def skill_summary_html(skills: Mapping[str, SkillTables | None]) -> str:
    """The summary's forecast-skill lines: per level the model's CRPS against the best
    baseline's and each goal met or NOT met (or "not measured")."""
    items = []
    for lv, t in skills.items():
        name = LEVEL_NAMES[lv]
        if t is None:
            items.append(f"<li><strong>{name.capitalize()}: not measured</strong>.</li>")
            continue
        h = skill_headline(t)
        best = forecaster_name(h["best_baseline"], lv)
        model = forecaster_name("model", lv)
        if math.isfinite(h["model_crps"]):
            head = (
                f"the {model}'s CRPS is <strong>{fmt_num(h['model_crps'], 2)}</strong>"
                f" against <strong>{fmt_num(h['best_baseline_crps'], 2)}</strong> for the"
                f" best baseline ({esc(best)}){_ratio_text(h['ratio'])}"
            )
        else:
            head = f"the model is not in these tables (best baseline: {esc(best)})"
        goals = "; ".join(f"{esc(g['goal'])}: {met_html(g['met'])}" for g in h["goals"])
        where = (
            f"this run, {esc(t.date)} UTC"
            if t.origin == "run"
            else f"measured on {esc(t.date)}, not re-run for this report"
        )
        items.append(
            f"<li><strong>{name.capitalize()}</strong> ({where}): {head}."
            + (f" Goals: {goals}." if goals else "")
            + "</li>"
        )
    return (
        '<p class="note fg"><strong>Forecast skill</strong> against the baselines (lower'
        f' CRPS is better):</p><ul class="skill">{"".join(items)}</ul>'
    )
