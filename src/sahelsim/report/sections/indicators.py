"""(b) Indicators: UCDP country-year deaths by violence type, civilians killed by government and
non-state groups, IDPs and refugees, the institutional timeline (table and markers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sahelsim.data.store.store import Store
from sahelsim.evidence import indicators
from sahelsim.evidence.timeline import load_timeline
from sahelsim.report.html import note, table
from sahelsim.viz.figures import FigureSet, style_layout
from sahelsim.viz.palette import (
    COUNTRY_COLOURS,
    EVENT_COLOURS,
    EVENT_OTHER,
    PERPETRATOR_COLOURS,
    VIOLENCE_COLOURS,
)
from sahelsim.viz.runs import CORE, COUNTRY_NAMES
from sahelsim.viz.text import esc, mid_year, plotly_text

__all__ = ["INDICATOR_FROM", "section_indicators"]

#: First year shown in the observed indicator charts.
INDICATOR_FROM = 2005
#: (column, legend label, colour) of the stacked deaths bars.
_VIOLENCE = (
    ("deaths_state_based", "state-based", VIOLENCE_COLOURS["state_based"]),
    ("deaths_non_state", "non-state", VIOLENCE_COLOURS["non_state"]),
    ("deaths_one_sided", "one-sided (civilians)", VIOLENCE_COLOURS["one_sided"]),
)
_PERPETRATORS = (
    ("civilians_killed_by_government", "by government forces", PERPETRATOR_COLOURS["state_side"]),
    ("civilians_killed_by_nonstate", "by non-state groups", PERPETRATOR_COLOURS["non_state"]),
)


def _country_bars(
    cy: pd.DataFrame, bars: tuple[tuple[str, str, str], ...], hover: str, mode: str, ytitle: str
) -> go.Figure:
    """One panel per country, one bar series per (column, label, colour); ``hover`` is the text
    before the value (``{lab}`` is the label)."""
    titles = [COUNTRY_NAMES[c] for c in CORE]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, shared_yaxes=True)
    for j, c in enumerate(CORE, start=1):
        d = cy[cy["iso3"] == c]
        for col, lab, colour in bars:
            fig.add_trace(
                go.Bar(
                    x=d["year"],
                    y=d[col],
                    name=lab,
                    legendgroup=lab,
                    showlegend=j == 1,
                    marker_color=colour,
                    hovertemplate=f"{COUNTRY_NAMES[c]} %{{x}}<br>{hover.format(lab=lab)}: %{{y:,.0f}}"
                    "<extra></extra>",
                ),
                row=1,
                col=j,
            )
    fig.update_layout(barmode=mode)
    fig.update_yaxes(title_text=ytitle, row=1, col=1)
    return fig


#: The displacement lines per country: (column, what, Plotly line dash).
_DISPLACEMENT = (("idps", "IDPs", "solid"), ("refugees_abroad", "refugees abroad", "dot"))


def _displacement(cy: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for c in CORE:
        d = cy[cy["iso3"] == c]
        for col, what, dash in _DISPLACEMENT:
            fig.add_scatter(
                x=d["year"],
                y=d[col],
                mode="lines+markers" if dash == "solid" else "lines",
                name=f"{COUNTRY_NAMES[c]}: {what}",
                line={"color": COUNTRY_COLOURS[c], "dash": dash},
                hovertemplate=f"{COUNTRY_NAMES[c]} %{{x}}: %{{y:,.0f}} {what}<extra></extra>",
            )
    fig.update_yaxes(title_text="people (end of year)")
    return fig


def _cy_data(cy: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The country-year columns of a chart with country names (its CSV download)."""
    d = cy[["iso3", "year", *[c for c in cols if c in cy.columns]]].copy()
    d.insert(0, "country", [COUNTRY_NAMES.get(str(c), str(c)) for c in d["iso3"]])
    return d.drop(columns="iso3")


def _events() -> pd.DataFrame:
    """One row per timeline event (first row of each id), by date."""
    ev = (
        load_timeline()
        .groupby("id", sort=False)
        .agg(
            date=("date", "first"),
            scope=("scope", "first"),
            kind=("kind", "first"),
            label=("label", "first"),
            source=("source", "first"),
            section=("article_section", "first"),
        )
        .reset_index()
        .sort_values("date")
    )
    ev["day"] = pd.to_datetime(ev["date"]).dt.strftime("%Y-%m-%d")
    return ev


def _timeline(cy: pd.DataFrame, ev: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for c in CORE:
        d = cy[cy["iso3"] == c]
        fig.add_trace(
            go.Scatter(
                x=mid_year(d["year"]),
                y=d["deaths_total"],
                name=COUNTRY_NAMES[c],
                mode="lines+markers",
                line_color=COUNTRY_COLOURS[c],
                hovertemplate=f"{COUNTRY_NAMES[c]} %{{x|%Y}}: %{{y:,.0f}} deaths<extra></extra>",
            )
        )
    ymax = float(np.nanmax(cy["deaths_total"].to_numpy(dtype=float))) * 1.08 or 1.0
    for kind, g in ev.groupby("kind", sort=True):
        col = EVENT_COLOURS.get(str(kind), EVENT_OTHER)
        for day in g["day"]:
            fig.add_shape(
                type="line",
                x0=day,
                x1=day,
                y0=0,
                y1=ymax,
                xref="x",
                yref="y",
                line={"color": col, "width": 1, "dash": "dot"},
                opacity=0.6,
            )
        fig.add_trace(
            go.Scatter(
                x=list(g["day"]),
                y=[ymax] * len(g),
                mode="markers",
                name=f"event: {plotly_text(kind)}",
                marker={"symbol": "triangle-down", "size": 10, "color": col},
                text=[
                    f"{plotly_text(d)} ({plotly_text(s)}): {plotly_text(lab)}"
                    for d, s, lab in zip(g["day"], g["scope"], g["label"], strict=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="deaths per year (UCDP, all types)", rangemode="tozero")
    fig.update_xaxes(range=["2011-01-01", f"{int(ev['day'].str[:4].max()) + 1}-06-30"])
    return fig


def section_indicators(store: Store, figs: FigureSet) -> tuple[str, pd.DataFrame | None]:
    """The section's HTML and the core countries' country-year table (None when missing)."""
    try:
        cy = indicators.compute(store).country_year
    except LookupError as exc:
        return note(f"Indicators not available: {esc(exc)}"), None
    cy = cy[cy["iso3"].isin(CORE) & (cy["year"] >= INDICATOR_FROM)].copy()
    if len(cy) == 0:
        return note("No country-year rows for Mali, Burkina Faso or Niger."), None
    ver = ", ".join(sorted({str(v) for v in cy["ucdp_version"].dropna()}))
    parts = [
        note(
            f"UCDP country-year v{esc(ver)} best estimates, {INDICATOR_FROM}-"
            f"{int(cy['year'].max())}; displacement from UNHCR (IDMC where UNHCR has no"
            " figure); hover for values."
        )
    ]
    fig = _country_bars(cy, _VIOLENCE, "{lab}", "stack", "deaths per year")
    parts.append(
        figs.add(
            "ind_deaths",
            style_layout(fig, "Deaths by UCDP violence type"),
            caption="Stacked bars: state-based, non-state and one-sided deaths.",
            units="deaths per year",
            source=f"UCDP country-year v{ver}, best estimates",
            data=_cy_data(cy, [c for c, _, _ in _VIOLENCE]),
        )
    )
    fig = _country_bars(
        cy, _PERPETRATORS, "civilians killed {lab}", "group", "one-sided deaths per year"
    )
    parts.append(
        figs.add(
            "ind_civilians",
            style_layout(fig, "Civilians killed: government vs non-state groups"),
            caption="UCDP one-sided violence by the government and by non-state"
            " groups (killings of unknown perpetrators left out).",
            units="civilians killed per year",
            source=f"UCDP one-sided violence v{ver}, best estimates",
            data=_cy_data(cy, [c for c, _, _ in _PERPETRATORS]),
        )
    )
    parts.append(
        figs.add(
            "ind_idps",
            style_layout(_displacement(cy), "Internally displaced people and refugees"),
            caption="UNHCR end-year stocks of IDPs (solid) and of refugees and"
            " asylum seekers from the country (dotted).",
            units="people (end of year)",
            source="UNHCR population statistics; IDMC where UNHCR has no figure",
            data=_cy_data(cy, [c for c, _, _ in _DISPLACEMENT]),
        )
    )
    ev = _events()
    parts.append("<h3>Institutional timeline</h3>")
    parts.append(
        figs.add(
            "ind_timeline",
            style_layout(
                _timeline(cy, ev), "Deaths per year with the dated institutional events", height=460
            ),
            caption="Dotted vertical lines mark the events of the timeline table"
            " below (coloured by kind; hover the triangles).",
            units="deaths per year (all UCDP violence types)",
            source=f"UCDP country-year v{ver}; sahelsim institutional timeline",
        )
    )
    parts.append(
        table(
            ev,
            [
                ("day", "date"),
                ("scope", "scope"),
                ("kind", "kind"),
                ("label", "event"),
                ("section", "article section"),
                ("source", "source"),
            ],
            cls="small prose",
        )
    )
    return "".join(parts), cy
