"""Forecast skill: the rolling-origin backtests of the model against the baselines and the two
ensembles, at each level found (country-month ``sahelsim backtest --level cm``, country-year
``--level cy``; see :mod:`sahelsim.report.inputs` for where the tables come from).

Per level: where the numbers came from (the run's folder and its date, or the shipped copy's
command, commit and date, labelled "not re-run for this report"), how many origins, seeds and
horizons were scored, the goals with "met" / "NOT met" in words, the overall scores per
forecaster, the CRPS by country and violence type (best bolded), the CRPS by horizon (a figure,
one line per forecaster) and the spread over seeds. Forecasters, countries and violence types
are named in words; every data value is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from sahelsim.report.html import left_out_note, note, table
from sahelsim.report.inputs import SkillTables
from sahelsim.report.sections.skill_text import (
    FORECASTER_COLOURS,
    HORIZON_UNITS,
    LEVEL_NAMES,
    NOT_BASELINES,
    forecaster_name,
    forecaster_note,
    goal_rows,
    met_html,
    num,
    pct,
    skill_counts,
)
from sahelsim.viz.figures import FigureSet, style_layout
from sahelsim.viz.palette import INK
from sahelsim.viz.runs import CORE, COUNTRY_NAMES
from sahelsim.viz.text import VIOLENCE_NAMES, esc, fmt_num, plotly_text

__all__ = ["section_skill"]


def _counts_html(t: SkillTables) -> str:
    c = skill_counts(t)
    unit = HORIZON_UNITS[t.level]
    bits = []
    if "origins" in c:
        bits.append(f"{c['origins']} origins ({esc(c['first'])} to {esc(c['last'])})")
    if "horizons" in c:
        h = c["horizons"]
        bits.append(f"{len(h)} horizons ({h[0]}-{h[-1]} {unit} ahead)")
    if "seeds" in c:
        s = c["seeds"]
        bits.append(f"{len(s)} seed{'s' if len(s) != 1 else ''} ({', '.join(map(str, s))})")
    if "n" in c:
        bits.append(
            f"{fmt_num(c['n'])} scored forecasts per forecaster (country x violence"
            " type x origin x horizon, all seeds)"
        )
    text = "; ".join(bits) if bits else "counts not recorded in these tables"
    if c.get("dropped"):
        text += f"; {c['dropped']} origin-horizon pairs after the data's last month were dropped"
    return note(text + ".")


def _short(commit: object) -> str:
    """A commit hash shortened to 12 characters; anything else as it is."""
    c = str(commit)
    return c[:12] if len(c) == 40 and all(ch in "0123456789abcdef" for ch in c) else c


def _provenance_html(t: SkillTables) -> str:
    if t.origin == "run":
        return note(
            f"From <code>{esc(t.where)}</code>, written {esc(t.date)} UTC by"
            f" <code>{esc(t.command)}</code> (this run's output folder)."
        )
    p = t.provenance
    extra = [
        f"commit {esc(_short(p['commit']))}" if p.get("commit") else "",
        f"on {esc(p['machine'])}" if p.get("machine") else "",
    ]
    extra_text = ", ".join(e for e in extra if e)
    return note(
        f"<strong>Measured on {esc(t.date)} with <code>{esc(t.command)}</code>, not"
        " re-run for this report</strong> (a copy shipped with the package,"
        f" <code>{esc(t.where)}</code>" + (f"; {extra_text}" if extra_text else "") + ").",
        cls="note notrun",
    )


def _bold_best(values: pd.Series, digits: int, best: float | None) -> list[str]:
    out = []
    for v in values:
        text = fmt_num(v, digits)
        out.append(f"<strong>{text}</strong>" if best is not None and num(v) == best else text)
    return out


def _overall_html(t: SkillTables) -> str:
    ov = t.tables["overall"].copy()
    ov["crps"] = ov["crps"].astype(float)
    ov = ov.sort_values("crps", kind="stable")
    ov["name"] = [forecaster_name(f, t.level) for f in ov["forecaster"]]
    cols: list[tuple[str, str]] = [("name", "forecaster")]
    fmt: dict[str, Any] = {}
    if "n" in ov.columns:
        cols.append(("n", "forecasts scored"))
        fmt["n"] = fmt_num
    for col, head, digits in (
        ("crps", "CRPS (deaths)", 2),
        ("ignorance", "ignorance (bits)", 2),
        ("is95", "95 % interval score", 1),
    ):
        if col in ov.columns:
            vals = pd.to_numeric(ov[col], errors="coerce")
            best = float(vals.min()) if vals.notna().any() else None
            ov[col + "_h"] = _bold_best(vals, digits, best)
            cols.append((col + "_h", head))
            fmt[col + "_h"] = str
    for col, level in (("coverage50", 0.5), ("coverage90", 0.9)):
        if col in ov.columns:
            vals = pd.to_numeric(ov[col], errors="coerce")
            gap = (vals - level).abs()
            best = float(vals[gap.idxmin()]) if gap.notna().any() else None
            ov[col + "_h"] = [
                f"<strong>{pct(v)}</strong>" if num(v) == best else pct(v) for v in vals
            ]
            cols.append((col + "_h", f"{int(level * 100)} % coverage (aim {int(level * 100)} %)"))
            fmt[col + "_h"] = str
    legend = "; ".join(
        f"<em>{esc(forecaster_name(f, t.level))}</em>: {esc(forecaster_note(f, t.level))}"
        for f in ov["forecaster"]
        if forecaster_note(f, t.level)
    )

    return table(ov, cols, fmt=fmt, cls="small") + note(
        "Mean over every origin, horizon, country, violence type and seed; lower"
        " CRPS, ignorance and interval score are better, coverage should match its"
        " level; the best of each column is bold. " + legend + "."
    )


def _country_type_html(t: SkillTables, order: Sequence[str]) -> str:
    sc = t.get("scores")
    if sc is None:
        return ""
    wide = sc.pivot_table(
        index=["iso3", "target"], columns="forecaster", values="crps", aggfunc="mean"
    ).reset_index()
    fcs = [f for f in order if f in wide.columns] + [
        c for c in wide.columns if c not in ("iso3", "target") and c not in order
    ]
    rank_c = {c: i for i, c in enumerate(CORE)}
    rank_t = {k: i for i, k in enumerate(("sb", "ns", "os"))}
    wide["_c"] = [rank_c.get(str(c), 9) for c in wide["iso3"]]
    wide["_t"] = [rank_t.get(str(k), 9) for k in wide["target"]]
    wide = wide.sort_values(["_c", "iso3", "_t", "target"], kind="stable")
    wide["country"] = [COUNTRY_NAMES.get(str(c), str(c)) for c in wide["iso3"]]
    wide["type"] = [VIOLENCE_NAMES.get(str(k), str(k)) for k in wide["target"]]
    best = wide[fcs].min(axis=1)
    cols = [("country", "country"), ("type", "violence type")]
    fmt: dict[str, Any] = {}
    for i, f in enumerate(fcs):
        key = f"_f{i}"
        wide[key] = [
            f"<strong>{fmt_num(v, 1)}</strong>" if v == b else fmt_num(v, 1)
            for v, b in zip(wide[f], best, strict=True)
        ]
        cols.append((key, forecaster_name(f, t.level)))
        fmt[key] = str
    return (
        f"<h4>CRPS by country and violence type ({LEVEL_NAMES[t.level]} deaths)</h4>"
        + table(wide, cols, fmt=fmt, cls="small")
        + note(
            "Mean CRPS in deaths per " + LEVEL_NAMES[t.level] + " over origins,"
            " horizons and seeds; the best forecaster of each row is bold."
        )
    )


def _source_text(t: SkillTables, name: str) -> str:
    if t.origin == "run":
        return f"{t.command} ({t.where}/{name}, {t.date} UTC)"
    return f"{t.command}, measured {t.date}, shipped copy {t.where}/{name}, not re-run"


def _horizon_html(t: SkillTables, order: Sequence[str], figs: FigureSet) -> str:
    bh = t.get("by_horizon")
    if bh is None:
        return ""
    unit = HORIZON_UNITS[t.level]
    fig = go.Figure()
    names = [f for f in order if f in set(bh["forecaster"])] + [
        f for f in dict.fromkeys(bh["forecaster"]) if f not in order
    ]
    for f in names:
        g = bh[bh["forecaster"] == f].sort_values("horizon")
        label = plotly_text(forecaster_name(f, t.level))
        baseline = str(f) not in NOT_BASELINES
        fig.add_trace(
            go.Scatter(
                x=g["horizon"].tolist(),
                y=g["crps"].tolist(),
                name=label,
                mode="lines+markers",
                line={
                    "color": FORECASTER_COLOURS.get(str(f), INK),
                    "width": 3 if f == "model" else 2,
                    "dash": "dot" if baseline else "solid",
                },
                hovertemplate=f"{label}: CRPS %{{y:,.2f}} at %{{x}} {unit}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=f"horizon ({unit} after the origin)", dtick=1)
    fig.update_yaxes(
        title_text=f"mean CRPS (deaths per {LEVEL_NAMES[t.level]})", rangemode="tozero"
    )
    data = bh.copy()
    data.insert(1, "forecaster_name", [forecaster_name(f, t.level) for f in data["forecaster"]])
    keep = [
        c
        for c in (
            "forecaster",
            "forecaster_name",
            "horizon",
            "n",
            "crps",
            "ignorance",
            "is95",
            "coverage50",
            "coverage90",
        )
        if c in data.columns
    ]
    style_layout(fig, f"CRPS by horizon, {LEVEL_NAMES[t.level]} (lower is better)", height=460)
    fig.update_layout(legend={"y": -0.2}, margin={"b": 120})  # below the axis title
    return figs.add(
        f"skill_{t.level}_horizon",
        fig,
        units=f"mean CRPS, deaths per {LEVEL_NAMES[t.level]}; horizon in {unit}",
        source=_source_text(t, "by_horizon.csv"),
        data=data[keep],
    )


def _spread_html(t: SkillTables) -> str:
    sp = t.get("seed_spread")
    if sp is None:
        return ""
    s = sp.copy().sort_values("crps", kind="stable")
    s["name"] = [forecaster_name(f, t.level) for f in s["forecaster"]]
    s["range"] = [
        f"{fmt_num(a, 2)} to {fmt_num(b, 2)}"
        for a, b in zip(s["crps_min"], s["crps_max"], strict=True)
    ]
    cols = [("name", "forecaster")]
    if "seeds" in s.columns:
        cols.append(("seeds", "seeds"))
    cols += [("crps", "CRPS, mean over seeds"), ("range", "CRPS, lowest to highest seed")]
    fmt: dict[str, Any] = {"crps": lambda v: fmt_num(v, 2), "range": str}
    if "crps_sd" in s.columns:
        cols.append(("crps_sd", "CRPS, sd over seeds"))
        fmt["crps_sd"] = lambda v: fmt_num(v, 2)
    if {"coverage90_min", "coverage90_max"} <= set(s.columns):
        s["cov"] = [
            f"{pct(a)} to {pct(b)}"
            for a, b in zip(s["coverage90_min"], s["coverage90_max"], strict=True)
        ]
        cols.append(("cov", "90 % coverage, lowest to highest seed"))
        fmt["cov"] = str
    return (
        "<h4>Seed noise</h4>"
        + table(s, cols, fmt=fmt, cls="small")
        + note(
            "The same backtest run with different random seeds: a difference between"
            " forecasters smaller than these ranges is noise."
        )
    )


def _goals_html(t: SkillTables) -> str:
    rows = goal_rows(t)
    if not rows:
        return note("No goals recorded in these tables (no <code>goals.csv</code>).")
    df = pd.DataFrame(rows)
    df["result"] = [met_html(m) for m in df["met"]]
    n_met = int(df["met"].sum())
    return f"<h4>Goals: {n_met} of {len(df)} met</h4>" + table(
        df,
        [
            ("goal", "goal"),
            ("value", "measured"),
            ("seeds", "over seeds"),
            ("aim", "aim"),
            ("result", "result"),
        ],
        fmt={"result": str},
        cls="small goals",
    )


def _setup_html(t: SkillTables) -> str:
    """What the model ran with (``setup.csv``): above all whether its parameters had seen the
    scored period, said plainly."""
    setup = t.get("setup")
    if setup is None:
        return note("The run does not say which parameters the model started from (no"
                    " <code>setup.csv</code>): treat its parameters as possibly in-sample.",
                    cls="note notrun")  # fmt: skip
    rows = "".join(f"<tr><th>{esc(r.item)}</th><td>{esc(r.value)}</td></tr>"
                   for r in setup.itertuples())  # fmt: skip
    oos = setup.loc[setup["item"] == "parameters out of sample", "value"]
    warn = ""
    if len(oos) and not str(oos.iloc[0]).startswith("yes"):
        warn = note("<strong>The model's parameters were fitted to data of the scored"
                    " period</strong>: its scores here are not out of sample.", cls="note notrun")  # fmt: skip
    cal = t.get("calibrations")
    cal_html = ""
    if cal is not None:
        cal_html = "<p class=\"note\">Calibrations: " + "; ".join(
            f"origins {esc(r.first_origin)} to {esc(r.last_origin)} from data of"
            f" {esc(r.calibrated_on)}" for r in cal.itertuples()) + ".</p>"  # fmt: skip
    return warn + f'<table class="setup">{rows}</table>' + cal_html


def _level_html(
    t: SkillTables | None, level: str, folder: Path | None, command: str, figs: FigureSet
) -> str:
    name = LEVEL_NAMES[level]
    head = f"<h3>{name.capitalize()} deaths</h3>"
    if t is None:
        where = f"no <code>{esc(folder)}</code>, " if folder is not None else ""
        return head + note(
            f"<strong>{name.capitalize()} skill: not measured</strong> ({where}no"
            " shipped copy): run <code>" + esc(command) + "</code> and build the"
            " report again.",
            cls="note notrun",
        )
    order = list(t.tables["overall"].sort_values("crps", kind="stable")["forecaster"])
    parts = [head, _provenance_html(t), _counts_html(t), _setup_html(t)]
    parts.append(left_out_note(t.problems))
    parts += [
        _goals_html(t),
        _overall_html(t),
        _country_type_html(t, order),
        _horizon_html(t, order, figs),
        _spread_html(t),
    ]
    return "".join(parts)


def section_skill(
    skills: Mapping[str, SkillTables | None],
    folders: Mapping[str, Path | None],
    commands: Mapping[str, str],
    figs: FigureSet,
) -> str:
    """The "Forecast skill" section: every level of ``skills`` (None: not measured, with the
    folder it was looked for in ``folders`` and the ``commands`` that would measure it)."""
    intro = note(
        "Rolling-origin backtests: at each origin every forecaster sees only the data up to it"
        " and forecasts UCDP deaths by country (Mali, Burkina Faso, Niger) and violence type"
        " (state-based, non-state, one-sided) for the following periods; the forecasts are"
        " then scored against what was observed. CRPS (continuous ranked probability score,"
        " in deaths) rewards forecasts that are both sharp and right; the baselines are the"
        " simple forecasts any model must beat."
    )
    return intro + "".join(
        _level_html(skills.get(lv), lv, folders.get(lv), commands[lv], figs) for lv in skills
    )
