"""The filtered present: how well the particle filter (``sahelsim assimilate``) follows the data
up to its cut-off, and whether the last observations fall inside its 90 % intervals.

From the assimilate folder (:func:`sahelsim.report.inputs.load_present`): the effective sample
size (ESS) and the number of unique particles at each observation time (a figure), and the
check at the last observation time (December of the cut-off year for ``--until 2024-12``):
deaths by violence type and internally displaced people per country, each observed value
against the one-step-ahead predictive 90 % interval (before the filter saw it) and the filtered
90 % interval (after), with "inside" yes/no and the counts ("7 of 9").
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from sahelsim.core.canon import month_id_to_year_month
from sahelsim.report.html import left_out_note, note, table
from sahelsim.report.inputs import PresentInputs
from sahelsim.viz.figures import FigureSet, style_layout
from sahelsim.viz.palette import INK, SERIES_PAIR
from sahelsim.viz.runs import CORE, COUNTRY_NAMES
from sahelsim.viz.text import VIOLENCE_NAMES, esc, fmt_num, plotly_text

__all__ = ["last_checks", "present_counts", "present_summary_html", "section_present"]

#: Groups of observations, in the order shown.
GROUPS = {
    "sb": "deaths",
    "ns": "deaths",
    "os": "deaths",
    "idps": "idps",
    "territory_state": "territory",
}
GROUP_NAMES = {
    "deaths": "deaths by violence type",
    "idps": "internally displaced people",
    "territory": "territory held by the state",
}
COMMAND = "sahelsim assimilate --until YYYY-MM --out DIR"


def _month(mid: Any) -> str:
    y, m = month_id_to_year_month(int(mid))
    return f"{int(y):04d}-{int(m):02d}"


def _what(r: pd.Series) -> str:
    obs, res = str(r["observable"]), str(r["resolution"])
    if obs in ("sb", "ns", "os"):
        when = _month(r["month_id"]) if res == "month" else str(int(r["year"]))
        return f"{VIOLENCE_NAMES[obs]} deaths, {when}"
    if obs == "idps":
        return f"internally displaced people, end of {int(r['year'])}"
    if obs == "territory_state":
        return f"share of territory held by the state, end of {int(r['year'])}"
    return f"{obs}, {_month(r['month_id'])}"


def _bool(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def last_checks(p: PresentInputs) -> pd.DataFrame | None:
    """The checks at the last observation time (at or before the cut-off), in display order:
    countries Mali, Burkina Faso, Niger; deaths by type, then IDPs, then territory."""
    c = p.checks
    if c is None or not len(c):
        return None
    until = p.summary.get("until_month_id")
    ok = c["month_id"] <= int(until) if isinstance(until, int | float) else c["month_id"] > 0
    c = c[ok]
    if not len(c):
        return None
    last = c[c["month_id"] == c["month_id"].max()].copy()
    rank_o = {k: i for i, k in enumerate(GROUPS)}
    rank_c = {k: i for i, k in enumerate(CORE)}
    last["_o"] = [rank_o.get(str(o), 9) for o in last["observable"]]
    last["_c"] = [rank_c.get(str(i), 9) for i in last["iso3"]]
    last["group"] = [GROUPS.get(str(o), "other") for o in last["observable"]]
    last["pred_in"] = [_bool(v) for v in last["pred_in_90"]]
    last["sim_in"] = [_bool(v) for v in last["sim_in_90"]]
    order = {g: i for i, g in enumerate(dict.fromkeys(GROUPS.values()))}
    last["_g"] = [order.get(g, 9) for g in last["group"]]
    return last.sort_values(["_g", "_c", "iso3", "_o"], kind="stable").reset_index(drop=True)


def present_counts(p: PresentInputs) -> dict[str, dict[str, int]]:
    """Per group of the last check: ``{"n", "predictive", "filtered"}`` (observations, and how
    many fall inside each 90 % interval)."""
    last = last_checks(p)
    out: dict[str, dict[str, int]] = {}
    if last is None:
        return out
    for g, rows in last.groupby("group", sort=False):
        out[str(g)] = {
            "n": len(rows),
            "predictive": int(rows["pred_in"].sum()),
            "filtered": int(rows["sim_in"].sum()),
        }
    return out


def _value(v: Any, obs: str) -> str:
    x = float(v) if v is not None else math.nan
    if not math.isfinite(x):
        return ""
    return f"{100 * x:.0f}\u00a0%" if obs == "territory_state" else fmt_num(x)


def _interval(lo: Any, hi: Any, obs: str) -> str:
    return f"{_value(lo, obs)} to {_value(hi, obs)}"


def _inside(ok: bool) -> str:
    return '<span class="met">yes</span>' if ok else '<span class="miss">no</span>'


def _counts_sentence(counts: dict[str, dict[str, int]]) -> str:
    bits = []
    for g, c in counts.items():
        bits.append(
            f"{esc(GROUP_NAMES.get(g, g))}: <strong>{c['predictive']} of {c['n']}</strong>"
            f" inside the predictive and <strong>{c['filtered']} of {c['n']}</strong>"
            " inside the filtered 90 % interval"
        )
    return "; ".join(bits)


def _check_html(p: PresentInputs) -> str:
    last = last_checks(p)
    if last is None:
        return note("No observation at or before the cut-off in <code>checks.csv</code>.")
    when = _month(last["month_id"].iloc[0])
    t = last.copy()
    t["country"] = [COUNTRY_NAMES.get(str(i), str(i)) for i in t["iso3"]]
    t["what"] = [_what(r) for _, r in t.iterrows()]
    t["observed"] = [
        _interval(r["lo"], r["hi"], "territory_state")
        if str(r["resolution"]) == "range"
        else _value(r["value"], str(r["observable"]))
        for _, r in t.iterrows()
    ]
    t["pred"] = [
        _interval(a, b, str(o))
        for a, b, o in zip(t["pred_q05"], t["pred_q95"], t["observable"], strict=True)
    ]
    t["sim"] = [
        _interval(a, b, str(o))
        for a, b, o in zip(t["sim_q05"], t["sim_q95"], t["observable"], strict=True)
    ]
    t["pred_yes"] = [_inside(v) for v in t["pred_in"]]
    t["sim_yes"] = [_inside(v) for v in t["sim_in"]]
    cols = [
        ("country", "country"),
        ("what", "observed quantity"),
        ("observed", "observed"),
        ("pred", "predictive 90 % interval (before this data)"),
        ("pred_yes", "inside"),
        ("sim", "filtered 90 % interval (after)"),
        ("sim_yes", "inside"),
    ]
    return (
        f"<h3>Check at {esc(when)}</h3>"
        + note(_counts_sentence(present_counts(p)) + ".", cls="note fg")
        + table(t, cols, fmt={"pred_yes": str, "sim_yes": str}, cls="small")
        + note(
            "The predictive interval is the ensemble's forecast of the observation one"
            " step ahead, observation noise included, before the filter weighs the"
            " particles by it; the filtered interval is the simulated quantity after the"
            " reweighting. Deaths: UCDP; displaced people: UNHCR (else IDMC); territory:"
            " the range of published estimates."
        )
    )


def _all_times_html(p: PresentInputs) -> str:
    c = p.checks
    if c is None or not len(c):
        return ""
    c = c.assign(group=[GROUPS.get(str(o), "other") for o in c["observable"]])
    bits = []
    for g, rows in c.groupby("group", sort=False):
        inside = sum(_bool(v) for v in rows["pred_in_90"])
        bits.append(
            f"{esc(GROUP_NAMES.get(str(g), str(g)))} {fmt_num(inside)} of {fmt_num(len(rows))}"
            f" ({inside / len(rows):.0%})".replace("%)", " %)")
        )
    span = f"{_month(c['month_id'].min())} to {_month(c['month_id'].max())}"
    return note(
        f"Over every observation time ({esc(span)}), the predictive 90 % interval held: "
        + "; ".join(bits)
        + " (a calibrated forecast holds about 90 %)."
    )


def _diagnostics_html(p: PresentInputs, figs: FigureSet) -> str:
    d = p.diagnostics
    if d is None or not len(d):
        return note("No <code>diagnostics.csv</code>: the filter's health is not shown.")
    d = d.sort_values("month_id")
    x = [f"{_month(m)}-01" for m in d["month_id"]]
    fig = go.Figure()
    for col, name, colour in (
        ("ess", "effective sample size", SERIES_PAIR[0]),
        ("unique", "unique particles after resampling", SERIES_PAIR[1]),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=d[col].tolist(),
                name=name,
                mode="lines+markers",
                line={"color": colour, "width": 2},
                marker={"size": 4},
                hovertemplate=f"{plotly_text(name)}: %{{y:,.1f}} (%{{x|%Y-%m}})<extra></extra>",
            )
        )
    members = p.summary.get("members")
    if isinstance(members, int | float) and members > 0:
        fig.add_hline(
            y=float(members),
            line={"color": INK, "dash": "dash", "width": 1},
            annotation_text=f"{int(members)} members",
            annotation_position="top left",
        )
        fig.add_hline(
            y=0.1 * float(members),
            line={"color": INK, "dash": "dot", "width": 1},
            annotation_text="10 % of members (fewer unique particles: degenerate)",
            annotation_position="bottom left",
        )
    fig.update_yaxes(title_text="particles", rangemode="tozero")
    fig.update_xaxes(title_text="observation time")
    data = d.copy()
    data.insert(1, "month", [_month(m) for m in data["month_id"]])
    s = p.summary
    deg = s.get("degenerate_times")
    text = (
        f"Final ESS {fmt_num(s.get('final_ess'), 1)} of {esc(members)} members;"
        f" {esc(s.get('resamplings', 'n/a'))} resamplings; {esc(deg if deg is not None else 'n/a')}"
        " observation times with fewer than 10 % unique particles (degenerate)."
    )
    style_layout(fig, "Particle filter: effective sample size and unique particles", height=440)
    fig.update_layout(legend={"y": -0.2}, margin={"b": 120})  # below the axis title
    return figs.add(
        "present_ess",
        fig,
        units="particles (members of the filtered ensemble)",
        source=f"sahelsim assimilate ({p.where}/diagnostics.csv, {p.date} UTC)",
        data=data,
    ) + note(text)


def section_present(p: PresentInputs | None, folder: Any, figs: FigureSet) -> str:
    """The "Filtered present" section (``folder``: where the assimilate folder was looked for)."""
    if p is None:
        where = f" (no <code>{esc(folder)}/summary.json</code>)" if folder is not None else ""
        return note(
            "<strong>Filtered present: not run</strong>"
            + where
            + ": run <code>"
            + esc(COMMAND)
            + "</code> (the main job writes <code>out/assimilate</code>)"
            " and build the report again.",
            cls="note notrun",
        )
    s = p.summary
    start = {"posterior": "the shipped posterior", "uniform priors": "uniform priors"}.get(
        str(s.get("start")), str(s.get("start", "unknown"))
    )
    parts = [
        note(
            f"The ensemble filtered on the data up to <strong>{esc(s.get('until', '?'))}"
            f"</strong>: {esc(s.get('members', '?'))} members, seed {esc(s.get('seed', '?'))},"
            f" started from {esc(start)}, {fmt_num(s.get('observations'))} observations,"
            f" log-likelihood {fmt_num(s.get('loglik'), 1)}. From <code>{esc(p.where)}</code>,"
            f" written {esc(p.date)} UTC by <code>sahelsim assimilate</code>; projections that"
            " start from the filtered present start from these members."
        )
    ]
    parts.append(left_out_note(p.problems))
    parts += [
        _check_html(p),
        _all_times_html(p),
        "<h3>Filter health</h3>",
        _diagnostics_html(p, figs),
    ]
    return "".join(parts)


def present_summary_html(p: PresentInputs | None) -> str:
    """The summary's line on the filtered present: the last check's counts."""
    if p is None:
        return note(
            "<strong>Filtered present</strong>: not run (no <code>assimilate</code> folder).",
            cls="note fg",
        )
    counts = present_counts(p)
    last = last_checks(p)
    when = _month(last["month_id"].iloc[0]) if last is not None else "?"
    text = _counts_sentence(counts) if counts else "no observations to check"
    return note(
        f"<strong>Filtered present</strong> (data to {esc(p.summary.get('until', '?'))},"
        f" {esc(p.summary.get('members', '?'))} members), check at {esc(when)}: " + text + ".",
        cls="note fg",
    )
