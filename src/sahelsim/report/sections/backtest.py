"""(f) Backtest scores of the model against the baselines (the CSV files of
``sahelsim backtest``)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from sahelsim.report.html import note, table
from sahelsim.viz.figures import FigureSet, style_layout
from sahelsim.viz.palette import BASELINE_COLOUR, MODEL_COLOUR
from sahelsim.viz.runs import COUNTRY_NAMES
from sahelsim.viz.text import VIOLENCE_NAMES, esc, fmt_num, plotly_text

__all__ = ["read_verdict", "section_backtest"]


def read_verdict(backtest_dir: Path | None) -> pd.DataFrame | None:
    """``verdict.csv`` of a backtest (model against the best baseline); None when absent."""
    vp = backtest_dir / "verdict.csv" if backtest_dir else None
    if vp is None or not vp.is_file():
        return None
    try:
        return pd.read_csv(vp)
    except (OSError, ValueError, pd.errors.ParserError):
        return None


def section_backtest(backtest_dir: Path | None, figs: FigureSet) -> str:
    overall_p = backtest_dir / "overall.csv" if backtest_dir else None
    if overall_p is None or not overall_p.is_file():
        where = (
            f" (no <code>overall.csv</code> in <code>{esc(backtest_dir)}</code>)"
            if backtest_dir
            else ""
        )
        return note(
            "Backtest not run" + where + ": run <code>sahelsim backtest --origins 2014-2023"
            "</code> and build the report again to compare the model with the zero,"
            " last-value, conflictology and negative-binomial baselines.",
            cls="note notrun",
        )
    overall = pd.read_csv(overall_p)
    parts = [
        note(
            "Rolling-origin backtest of UCDP country-year deaths (state-based, non-state,"
            " one-sided; Mali, Burkina Faso, Niger): mean scores over origins, horizons,"
            " countries and types. Lower CRPS is better; coverage should match its level."
            f" From <code>{esc(overall_p)}</code>."
        )
    ]
    v = read_verdict(backtest_dir)
    if v is not None and len(v):
        r = v.iloc[0]
        parts.append(
            note(
                f"Model CRPS {fmt_num(r.get('model_crps'), 1)} against the best baseline"
                f" ({esc(r.get('best_baseline'))}) {fmt_num(r.get('best_baseline_crps'), 1)}:"
                f" ratio {fmt_num(r.get('ratio'), 2)} (aim at most"
                f" {fmt_num(r.get('aim_ratio'), 2)}); 90 % coverage"
                f" {fmt_num(100 * float(r.get('model_coverage90', float('nan'))), 0)} %.",
                cls="note strong",
            )
        )
    cols = [
        (c, c)
        for c in (
            "forecaster",
            "n",
            "crps",
            "ignorance",
            "is50",
            "is90",
            "coverage50",
            "coverage90",
        )
        if c in overall.columns
    ]
    fmt = {c: partial(fmt_num, digits=3) for c, _ in cols if c not in ("forecaster", "n")}
    parts.append(table(overall, cols, fmt=fmt, cls="small"))
    if {"forecaster", "crps"} <= set(overall.columns):
        o = overall.sort_values("crps")
        colours = [MODEL_COLOUR if str(f) == "model" else BASELINE_COLOUR for f in o["forecaster"]]
        fig = go.Figure(
            go.Bar(
                x=[plotly_text(f) for f in o["forecaster"]],
                y=o["crps"],
                marker_color=colours,
                hovertemplate="%{x}: CRPS %{y:,.1f}<extra></extra>",
            )
        )
        fig.update_yaxes(title_text="mean CRPS (deaths)")
        parts.append(
            figs.add(
                "backtest_crps",
                style_layout(fig, "CRPS by forecaster (lower is better)", height=380),
                units="mean CRPS, deaths per country-year",
                source=f"sahelsim backtest ({overall_p.name})",
                data=overall,
            )
        )
    sp = backtest_dir / "scores.csv" if backtest_dir else None
    if sp is not None and sp.is_file():
        sc = pd.read_csv(sp)
        if {"forecaster", "iso3", "target", "crps"} <= set(sc.columns):
            wide = sc.pivot_table(
                index=["iso3", "target"], columns="forecaster", values="crps"
            ).reset_index()
            fcs = [c for c in wide.columns if c not in ("iso3", "target")]
            wide["country"] = [COUNTRY_NAMES.get(str(c), str(c)) for c in wide["iso3"]]
            wide["type"] = [VIOLENCE_NAMES.get(str(t), str(t)) for t in wide["target"]]
            parts.append("<h3>CRPS by country and violence type</h3>")
            parts.append(
                table(
                    wide,
                    [("country", "country"), ("type", "violence type")] + [(c, c) for c in fcs],
                    fmt=dict.fromkeys(fcs, partial(fmt_num, digits=1)),
                    cls="small",
                )
            )
    return "".join(parts)
