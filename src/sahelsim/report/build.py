"""One self-contained HTML report: data, indicators, claims, scenarios, maps, backtest, model card.

:func:`build_report` writes ``out/report.html``, a single file that opens offline: Plotly's
JavaScript is inlined once, every figure is inlined as JSON in one
``<script type="application/json">`` block, and nothing is fetched when the page opens (no CDN,
no web fonts, no external images). Geographic maps are Plotly ``choropleth`` traces with inline
GeoJSON; Plotly would fetch a world topojson for them, so a stub ``window.PlotlyGeoAssets`` is
defined before the Plotly script, ``geo.visible`` is off and every polygon is wound clockwise
(``shapely.geometry.polygon.orient(g, -1)``), otherwise a polygon fills the whole globe.

Sections
    (a) data overview: the store's ``sources`` ledger, provenance from the data folders'
    ``PROVENANCE.md``, quarantine counts by reason; (b) indicators: UCDP country-year deaths by
    violence type, civilians killed by government and non-state groups, IDPs, the institutional
    timeline (table and markers on a chart); (c) the claims audit; (d) fan charts of the
    scenarios (median, 50 % and 90 % bands; projection start marked); (e) maps: PRIO-GRID cells
    by simulated deaths and by state control, admin-1 units by displaced people hosted; (f)
    backtest scores against the baselines (from ``backtest_dir``); (g) a model card:
    mechanisms, parameters, posterior, calibration diagnostics, known limitations.

Safety: every string that comes from data (files, claims, timeline, scenario files) is escaped
with :func:`html.escape` in HTML and with ``\\u003c``/``\\u003e``/``\\u0026`` in the JSON
block, so a value such as ``<script>alert(1)</script>`` shows as text. Text passed to Plotly
(hover labels, titles) is escaped too, because Plotly renders a subset of HTML.

The module logs to ``sahelsim.report`` and never prints; ``progress(label, done, total)`` is
called between the steps.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go
    import xarray as xr

    from sahelsim.data.store.store import Store

log = logging.getLogger(__name__)

__all__ = ["REPORT_FILE", "SECTION_TITLES", "build_report"]

REPORT_FILE = "report.html"
#: Section anchors and headings, in order (the tests look for every heading).
SECTION_TITLES: dict[str, str] = {
    "data": "Data overview",
    "indicators": "Indicators",
    "claims": "Claims audit",
    "scenarios": "Scenario projections",
    "maps": "Maps",
    "backtest": "Backtest",
    "model": "Model card",
}
CORE = ("MLI", "BFA", "NER")
COUNTRY_NAMES = {"MLI": "Mali", "BFA": "Burkina Faso", "NER": "Niger", "AES": "AES (three states)"}
#: Simulated span: 2012-01 (the model's history start, the spin-up) to 2030-12.
SIM_START = "2012-01"
SIM_END_YEAR = 2030
#: First year shown in the observed indicator charts.
INDICATOR_FROM = 2005
#: The map scenario (falls back to the first scenario run when it is not among them).
MAP_SCENARIO = "acceleration"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: The stub that keeps Plotly's geo module from fetching a world topojson from its CDN.
GEO_STUB = (
    "window.PlotlyGeoAssets = {topojson: {world_110m: "
    '{"type": "Topology", "objects": {}, "arcs": []}}};'
)
_VERDICT_CLASS = {
    "supported": "v-supported",
    "contradicted": "v-contradicted",
    "mixed": "v-mixed",
    "not testable with the data present": "v-untestable",
}
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
_KIND_COLOURS = {
    "coup": "#d62728",
    "withdrawal": "#ff7f0e",
    "institution": "#7f7f7f",
    "alliance": "#9467bd",
    "sanctions": "#8c564b",
    "deployment": "#1f77b4",
    "massacre": "#000000",
    "accord": "#2ca02c",
}

Progress = Callable[[str, int, int], None]


# -- small helpers ---------------------------------------------------------------------------


def _e(value: Any) -> str:
    """Escape a data value for HTML text or attribute."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    return html.escape(str(value), quote=True)


def _pt(value: Any) -> str:
    """Escape a data value for Plotly text (Plotly renders a subset of HTML tags)."""
    return html.escape("" if value is None else str(value), quote=False)


def _num(value: Any, digits: int = 0) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if not math.isfinite(x):
        return "" if math.isnan(x) else ("∞" if x > 0 else "-∞")
    return f"{x:,.{digits}f}"


def _safe_json(text: str) -> str:
    """JSON text made safe inside a ``<script>`` element (no ``</``, ``<!--``, ``]]>``)."""
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _finite(x: Any) -> Any:
    """Replace non-finite floats (JSON has no NaN/Infinity) recursively with None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _scroll(value: Any) -> str:
    """A long data text in a cell that scrolls past a few lines."""
    return f'<div class="scroll">{_e(value)}</div>'


def _note(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{text}</p>'


def _table(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    *,
    fmt: dict[str, Callable[[Any], str]] | None = None,
    row_class: Callable[[pd.Series], str] | None = None,
    cell_class: dict[str, Callable[[Any], str]] | None = None,
    cls: str = "",
) -> str:
    """An HTML table of ``df`` (columns: (column, header)); every cell escaped unless a
    formatter in ``fmt`` (which must escape itself) handles it."""
    fmt = fmt or {}
    cell_class = cell_class or {}
    head = "".join(f"<th>{_e(h)}</th>" for _, h in columns)
    rows = []
    for _, r in df.iterrows():
        rc = f' class="{row_class(r)}"' if row_class else ""
        tds = []
        for col, _h in columns:
            v = r.get(col)
            text = fmt[col](v) if col in fmt else _e(v)
            cc = f' class="{cell_class[col](v)}"' if col in cell_class else ""
            tds.append(f"<td{cc}>{text}</td>")
        rows.append(f"<tr{rc}>{''.join(tds)}</tr>")
    c = f' class="{cls}"' if cls else ""
    return (
        f'<div class="table-wrap"><table{c}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


@dataclass
class _Figures:
    """Figures collected while the sections are built; inlined once at the end.

    The layout template and GeoJSON collections are stored once and shared: a trace's
    ``geojson`` may be ``"@name"`` for the collection registered with :meth:`add_geo`.
    """

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    geo: dict[str, dict[str, Any]] = field(default_factory=dict)
    template: dict[str, Any] | None = None
    maps: set[str] = field(default_factory=set)

    def add_geo(self, name: str, collection: dict[str, Any]) -> str:
        self.geo[name] = collection
        return "@" + name

    def add(self, fid: str, fig: go.Figure, *, caption: str = "", is_map: bool = False) -> str:
        import plotly.io as pio

        if fid in self.items:
            raise ValueError(f"duplicate figure id {fid}")
        d = json.loads(pio.to_json(fig, validate=False, remove_uids=True))
        tpl = d.get("layout", {}).pop("template", None)
        if tpl is not None:
            if self.template is None:
                self.template = tpl
            elif tpl != self.template:
                d["layout"]["template"] = tpl
        self.items[fid] = d
        if is_map:
            self.maps.add(fid)
        kind = "map" if is_map else "chart"
        cap = f"<figcaption>{caption}</figcaption>" if caption else ""
        return (
            f'<figure class="fig"><div id="{fid}" class="plotly-graph-div fig-{kind}" '
            f'data-kind="{kind}"></div>{cap}</figure>'
        )

    def payload(self) -> str:
        doc = {"template": self.template, "geo": self.geo, "figures": self.items}
        return _safe_json(json.dumps(doc, separators=(",", ":"), allow_nan=False))


def _layout(fig: go.Figure, title: str, *, height: int = 420, **kw: Any) -> go.Figure:
    kw.setdefault("margin", {"l": 60, "r": 20, "t": 60, "b": 90})
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        height=height,
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.1, "x": 0, "xanchor": "left"},
        **kw,
    )
    return fig


# -- (a) data overview -----------------------------------------------------------------------


def _provenance(folder: Path) -> dict[str, str]:
    """Title, original source, where obtained and license from a folder's PROVENANCE.md."""
    prov = folder / "PROVENANCE.md"
    out = {"title": "", "original": "", "obtained": "", "license": ""}
    if not prov.is_file():
        return out
    keys = {
        "**Original source**": "original",
        "**Obtained from**": "obtained",
        "**License**": "license",
    }
    for line in prov.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# ") and not out["title"]:
            out["title"] = line[2:].strip()
        for k, name in keys.items():
            if k in line and not out[name]:
                out[name] = line.split(":", 1)[-1].strip().strip("*").strip()
    return out


def _section_data(store: Store, data_dir: Path | None) -> str:
    parts = []
    ledger = store.ledger()
    if len(ledger) == 0:
        parts.append(_note("The store's ledger is empty: nothing was ingested."))
    else:
        led = ledger.copy()
        led["file_name"] = [Path(str(f)).name for f in led["file"]]
        led["sha"] = [str(s)[:12] for s in led["sha256"]]
        led["status"] = np.where(led["superseded"].astype(bool), "superseded", "current")
        n = lambda v: _num(v)  # noqa: E731
        parts.append("<h3>Sources ledger</h3>")
        parts.append(
            _note(
                "One row per ingested file (table <code>sources</code>). Rows read = accepted +"
                " quarantined + filtered (rows of countries outside the region); the sha256"
                " identifies the exact file."
            )
        )
        parts.append(
            _table(
                led,
                [
                    ("source", "source"),
                    ("file_name", "file"),
                    ("sha", "sha256"),
                    ("version", "version"),
                    ("license", "license"),
                    ("rows_read", "read"),
                    ("rows_accepted", "accepted"),
                    ("rows_quarantined", "quarantined"),
                    ("rows_filtered", "filtered"),
                    ("ingested_at", "ingested"),
                    ("status", "status"),
                ],
                fmt={
                    "license": _scroll,
                    **{
                        c: n
                        for c in ("rows_read", "rows_accepted", "rows_quarantined", "rows_filtered")
                    },
                },
                cls="small",
            )
        )
        # provenance: one row per source
        rows = []
        for src, g in led.groupby("source", sort=True):
            first = g.iloc[-1]
            folder = Path(str(first["file"])).parent
            p = _provenance(folder) if folder.is_dir() else {}
            rows.append(
                {
                    "source": src,
                    "title": p.get("title", ""),
                    "original": p.get("original", ""),
                    "obtained": p.get("obtained", ""),
                    "license": p.get("license") or first["license"],
                    "citation": first["citation"],
                }
            )
        parts.append("<h3>Provenance</h3>")
        where = f" (data directory <code>{_e(data_dir)}</code>)" if data_dir else ""
        parts.append(
            _note(
                "From each data folder's <code>PROVENANCE.md</code>" + where + " and the"
                " citation recorded at ingest. Web addresses are shown as text; the report"
                " loads nothing."
            )
        )
        parts.append(
            _table(
                pd.DataFrame(rows),
                [
                    ("source", "source"),
                    ("title", "dataset"),
                    ("original", "original source"),
                    ("obtained", "obtained from"),
                    ("license", "license"),
                    ("citation", "citation"),
                ],
                fmt={c: _scroll for c in ("original", "obtained", "license", "citation")},
                cls="small prose",
            )
        )
    q = store.sql(
        "SELECT source, reason, count(*) AS rows FROM quarantine GROUP BY ALL"
        " ORDER BY source, rows DESC"
    )
    parts.append("<h3>Quarantine</h3>")
    if len(q) == 0:
        parts.append(_note("No row was quarantined."))
    else:
        parts.append(
            _note(
                f"{int(q['rows'].sum()):,} row(s) rejected at ingest (table"
                " <code>quarantine</code>, with file, line, field and raw text)."
            )
        )
        parts.append(
            _table(
                q,
                [("source", "source"), ("reason", "reason"), ("rows", "rows")],
                fmt={"rows": _num},
                cls="small",
            )
        )
    return "".join(parts)


# -- (b) indicators --------------------------------------------------------------------------


def _mid_year(years: Iterable[int]) -> list[str]:
    return [f"{int(y)}-07-01" for y in years]


_EPOCH = np.datetime64("1970-01-01T00:00:00", "ms")


def _ms(dates: Iterable[str]) -> np.ndarray:
    """Milliseconds since the epoch (Plotly's numeric form of a date), as float32: compact in
    the inlined JSON and exact to a few minutes, dates sit mid-month or mid-year."""
    d = np.array([np.datetime64(str(x), "ms") for x in dates])
    return (d - _EPOCH).astype(np.float64).astype(np.float32)


def _section_indicators(store: Store, figs: _Figures) -> tuple[str, pd.DataFrame | None]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from sahelsim.evidence import indicators
    from sahelsim.evidence.timeline import load_timeline

    try:
        cy = indicators.compute(store).country_year
    except LookupError as exc:
        return _note(f"Indicators not available: {_e(exc)}"), None
    cy = cy[cy["iso3"].isin(CORE) & (cy["year"] >= INDICATOR_FROM)].copy()
    if len(cy) == 0:
        return _note("No country-year rows for Mali, Burkina Faso or Niger."), None
    ver = ", ".join(sorted({str(v) for v in cy["ucdp_version"].dropna()}))
    parts = [
        _note(
            f"UCDP country-year v{_e(ver)} best estimates, {INDICATOR_FROM}-"
            f"{int(cy['year'].max())}; displacement from UNHCR (IDMC where UNHCR has no"
            " figure); hover for values."
        )
    ]
    titles = [COUNTRY_NAMES[c] for c in CORE]
    # deaths by violence type, stacked per country
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, shared_yaxes=True)
    types = [
        ("deaths_state_based", "state-based"),
        ("deaths_non_state", "non-state"),
        ("deaths_one_sided", "one-sided (civilians)"),
    ]
    for j, c in enumerate(CORE, start=1):
        d = cy[cy["iso3"] == c]
        for k, (col, lab) in enumerate(types):
            fig.add_trace(
                go.Bar(
                    x=d["year"],
                    y=d[col],
                    name=lab,
                    legendgroup=lab,
                    showlegend=j == 1,
                    marker_color=_PALETTE[k],
                    hovertemplate=f"{c} %{{x}}<br>{lab}: %{{y:,.0f}}<extra></extra>",
                ),
                row=1,
                col=j,
            )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="deaths per year", row=1, col=1)
    parts.append(
        figs.add(
            "ind_deaths",
            _layout(fig, "Deaths by UCDP violence type"),
            caption="Stacked bars: state-based, non-state and one-sided deaths.",
        )
    )
    # civilians by perpetrator
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, shared_yaxes=True)
    perps = [
        ("civilians_killed_by_government", "by government forces"),
        ("civilians_killed_by_nonstate", "by non-state groups"),
    ]
    for j, c in enumerate(CORE, start=1):
        d = cy[cy["iso3"] == c]
        for k, (col, lab) in enumerate(perps):
            fig.add_trace(
                go.Bar(
                    x=d["year"],
                    y=d[col],
                    name=lab,
                    legendgroup=lab,
                    showlegend=j == 1,
                    marker_color=("#b2182b", "#2166ac")[k],
                    hovertemplate=f"{c} %{{x}}<br>civilians killed {lab}: %{{y:,.0f}}"
                    "<extra></extra>",
                ),
                row=1,
                col=j,
            )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="one-sided deaths per year", row=1, col=1)
    parts.append(
        figs.add(
            "ind_civilians",
            _layout(fig, "Civilians killed: government vs non-state groups"),
            caption="UCDP one-sided violence by the government and by non-state"
            " groups (killings of unknown perpetrators left out).",
        )
    )
    # IDPs
    fig = go.Figure()
    for k, c in enumerate(CORE):
        d = cy[cy["iso3"] == c]
        fig.add_trace(
            go.Scatter(
                x=d["year"],
                y=d["idps"],
                mode="lines+markers",
                name=f"{COUNTRY_NAMES[c]}: IDPs",
                line_color=_PALETTE[k],
                hovertemplate=f"{c} %{{x}}: %{{y:,.0f}} IDPs<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=d["year"],
                y=d["refugees_abroad"],
                mode="lines",
                name=f"{COUNTRY_NAMES[c]}: refugees abroad",
                line={"color": _PALETTE[k], "dash": "dot"},
                hovertemplate=f"{c} %{{x}}: %{{y:,.0f}} refugees abroad<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="people (end of year)")
    parts.append(
        figs.add(
            "ind_idps",
            _layout(fig, "Internally displaced people and refugees"),
            caption="UNHCR end-year stocks of IDPs (solid) and of refugees and"
            " asylum seekers from the country (dotted).",
        )
    )
    # timeline: table + markers on the deaths chart
    tl = load_timeline()
    ev = (
        tl.groupby("id", sort=False)
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
    fig = go.Figure()
    for k, c in enumerate(CORE):
        d = cy[cy["iso3"] == c]
        fig.add_trace(
            go.Scatter(
                x=_mid_year(d["year"]),
                y=d["deaths_total"],
                name=COUNTRY_NAMES[c],
                mode="lines+markers",
                line_color=_PALETTE[k],
                hovertemplate=f"{c} %{{x|%Y}}: %{{y:,.0f}} deaths<extra></extra>",
            )
        )
    ymax = float(np.nanmax(cy["deaths_total"].to_numpy(dtype=float))) * 1.08 or 1.0
    for kind, g in ev.groupby("kind", sort=True):
        col = _KIND_COLOURS.get(str(kind), "#444444")
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
                name=f"event: {_pt(kind)}",
                marker={"symbol": "triangle-down", "size": 10, "color": col},
                text=[
                    f"{_pt(d)} ({_pt(s)}): {_pt(lab)}"
                    for d, s, lab in zip(g["day"], g["scope"], g["label"], strict=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="deaths per year (UCDP, all types)", rangemode="tozero")
    fig.update_xaxes(range=["2011-01-01", f"{int(ev['day'].str[:4].max()) + 1}-06-30"])
    parts.append("<h3>Institutional timeline</h3>")
    parts.append(
        figs.add(
            "ind_timeline",
            _layout(fig, "Deaths per year with the dated institutional events", height=460),
            caption="Dotted vertical lines mark the events of the timeline table"
            " below (coloured by kind; hover the triangles).",
        )
    )
    parts.append(
        _table(
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


# -- (c) claims ------------------------------------------------------------------------------


def _section_claims(claims: pd.DataFrame | None, error: str = "") -> str:
    if claims is None or len(claims) == 0:
        return _note(f"The claims audit did not run{': ' + _e(error) if error else '.'}")
    counts = claims["verdict"].value_counts()
    summ = " ".join(
        f'<span class="{_VERDICT_CLASS.get(str(v), "v-other")} pill">{_e(v)}: {int(n)}</span>'
        for v, n in counts.items()
    )
    cols = [
        ("id", "id"),
        ("claim", "claim"),
        ("section", "article section"),
        ("verdict", "verdict"),
        ("figure", "figure"),
        ("source", "source"),
        ("why_sources_differ", "why sources differ"),
        ("evidence", "evidence"),
        ("interval", "interval"),
    ]
    cols = [c for c in cols if c[0] in claims.columns]
    return (
        _note(
            "Each checkable claim of the article against the data (UCDP, UNHCR/IDMC, the"
            " timeline) or, where marked <em>model</em>, against paired scenario runs, which"
            " show what the model's assumptions imply, not what happened."
        )
        + f"<p>{summ}</p>"
        + _table(
            claims,
            cols,
            fmt={"figure": _scroll, "why_sources_differ": _scroll},
            cell_class={"verdict": lambda v: _VERDICT_CLASS.get(str(v), "v-other")},
            cls="small prose claims",
        )
    )


# -- (d) scenarios ---------------------------------------------------------------------------


@dataclass
class _Runs:
    """What the report keeps of each scenario run (the datasets themselves are dropped)."""

    titles: dict[str, str] = field(default_factory=dict)
    # (scenario, variable, region) -> (x labels, quantiles (5, T))
    fans: dict[tuple[str, str, str], tuple[list[str], np.ndarray]] = field(default_factory=dict)
    map_scenario: str = ""
    cell_gid: np.ndarray | None = None
    cell_deaths_median: np.ndarray | None = None  # median over members of 2025-30 deaths
    cell_state_share: np.ndarray | None = None  # share of members where the state holds
    cell_idp_last: np.ndarray | None = None  # (member, cell) IDPs hosted in the last month
    cell_deaths_members: np.ndarray | None = None  # (member, cell) 2025-30 deaths
    last_month: str = ""
    parameters: str = ""
    projection_start: int = 0
    space: Any = None  # the model Space the runs used


#: Fan chart variables: (variable, flow or stock). Flows are summed per year.
FAN_VARS = {
    "deaths_total": "flow",
    "civilians_killed_by_state_side": "flow",
    "civilians_killed_by_jnim": "flow",
    "civilians_killed_by_issp": "flow",
    "territory_state": "share",
    "idps": "stock",
}


def _region_series(ds: xr.Dataset, var: str, how: str, area: dict[str, float]) -> dict[str, Any]:
    """(member, time) arrays per region (AES + each core country) and the time labels."""
    da = ds[var]
    if how == "flow":
        da = da.groupby("year").sum("month")
        labels = _ms(_mid_year(da["year"].values))
        tdim = "year"
    else:
        from sahelsim.scenarios.run import month_label

        labels = _ms(month_label(int(m)) + "-15" for m in da["month"].values)
        tdim = "month"
    out: dict[str, Any] = {"_labels": labels}
    for c in CORE:
        out[c] = da.sel(country=c).transpose("member", tdim).values
    if how == "share":
        w = np.array([area[c] for c in CORE], dtype=float)
        w = w / w.sum() if w.sum() > 0 else np.full(3, 1 / 3)
        out["AES"] = sum(out[c] * w[i] for i, c in enumerate(CORE))
    else:
        out["AES"] = sum(out[c] for c in CORE)
    return out


def _run_scenarios(
    names: Sequence[str],
    *,
    data_dir: Path | None,
    members: int,
    seed: int,
    progress: Progress | None,
    step: int,
    total: int,
) -> _Runs:
    from sahelsim.core.canon import month_id
    from sahelsim.model.engine import Record
    from sahelsim.scenarios.run import (
        HISTORY_START,
        PROJECTION_START,
        make_space,
        month_label,
        run_scenario,
    )

    space = make_space(data_dir, HISTORY_START)
    months = int(month_id(SIM_END_YEAR, 12)) - HISTORY_START + 1
    area = {
        c: float(space.area_km2[space.country == space.countries.index(c)].sum())
        for c in CORE
        if c in space.countries
    }
    runs = _Runs(projection_start=PROJECTION_START, space=space)
    map_sc = MAP_SCENARIO if MAP_SCENARIO in names else names[0]
    runs.map_scenario = map_sc
    for i, name in enumerate(names):
        if progress:
            progress(f"scenario {name}", step + i, total)
        t0 = time.perf_counter()
        cells = ("deaths", "hold", "idp") if name == map_sc else ()
        ds = run_scenario(
            name,
            data_dir=data_dir,
            members=members,
            months=months,
            start=SIM_START,
            seed=seed,
            record=Record(cells=cells),
            space=space,
        )
        runs.titles[name] = str(ds.attrs.get("scenario_title", name))
        runs.parameters = str(ds.attrs.get("parameters", ""))
        for var, how in FAN_VARS.items():
            series = _region_series(ds, var, how, area)
            labels = series.pop("_labels")
            for region, arr in series.items():
                q = np.quantile(np.asarray(arr, dtype=float), QUANTILES, axis=0)
                runs.fans[(name, var, region)] = (labels, q.astype(np.float32))
        if name == map_sc:
            window = ds["cell_deaths"].sel(month=ds.month >= PROJECTION_START).sum("month")
            dm = window.transpose("member", "cell").values.astype(float)
            runs.cell_gid = ds["cell"].values.astype(np.int64)
            runs.cell_deaths_members = dm
            runs.cell_deaths_median = np.median(dm, axis=0)
            hold = ds["cell_hold"].isel(month=-1).transpose("member", "cell").values
            runs.cell_state_share = (hold == 1).mean(axis=0)
            runs.cell_idp_last = (
                ds["cell_idp"].isel(month=-1).transpose("member", "cell").values.astype(float)
            )
            runs.last_month = month_label(int(ds["month"].values[-1]))
        log.info("report: scenario %s, %d members, %.1f s", name, members, time.perf_counter() - t0)
        del ds
    return runs


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _fan_figure(
    runs: _Runs,
    names: Sequence[str],
    series: Sequence[tuple[str, str, str]],  # (variable, legend label, colour)
    *,
    title: str,
    ytitle: str,
    observed: dict[str, list[tuple[str, Any, list[float]]]] | None = None,
    yformat: str = ",.0f",
) -> go.Figure:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from sahelsim.scenarios.run import month_label

    regions = ["AES", *CORE]
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        shared_yaxes=True,
        shared_xaxes=True,
        subplot_titles=[_pt(runs.titles.get(n, n)) for n in names],
        vertical_spacing=0.16 if nrows > 1 else 0.1,
        horizontal_spacing=0.03,
    )
    top, bottom = 100, 110
    height = 330 * nrows + top + bottom
    region_of: list[str] = []
    legend_of: list[bool] = []  # the trace carries the legend entry when its region is shown
    for i, name in enumerate(names):
        row, col = i // ncols + 1, i % ncols + 1
        for region in regions:
            for k, (var, lab, colour) in enumerate(series):
                x, q = runs.fans[(name, var, region)]
                first = i == 0 and region == "AES"
                vis = region == "AES"
                xx = np.concatenate([x, x[::-1]])
                when = "%{x|%Y}" if FAN_VARS[var] == "flow" else "%{x|%Y-%m}"
                for lo, hi, alpha, band in ((0, 4, 0.15, "90 %"), (1, 3, 0.3, "50 %")):
                    fig.add_trace(
                        go.Scatter(
                            x=xx,
                            y=np.concatenate([q[lo], q[hi][::-1]]),
                            fill="toself",
                            fillcolor=_rgba(colour, alpha),
                            line={"width": 0},
                            mode="lines",
                            name=f"{band} interval"
                            if len(series) > 1
                            else f"{lab}: {band} interval",
                            legendgroup=f"{k}{band}",
                            showlegend=first and k == 0,
                            hoverinfo="skip",
                            visible=vis,
                        ),
                        row=row,
                        col=col,
                    )
                    region_of.append(region)
                    legend_of.append(i == 0 and k == 0)
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=q[2],
                        mode="lines",
                        line={"color": colour, "width": 2},
                        name=f"{lab}: median",
                        legendgroup=f"{k}m",
                        showlegend=first,
                        customdata=np.stack([q[0], q[1], q[3], q[4]], axis=1).astype(np.float32),
                        hovertemplate=(
                            f"{region} {_pt(lab)} {when}<br>median %{{y:{yformat}}}"
                            f"<br>50 %: %{{customdata[1]:{yformat}}} - "
                            f"%{{customdata[2]:{yformat}}}<br>90 %: "
                            f"%{{customdata[0]:{yformat}}} - %{{customdata[3]:{yformat}}}"
                            "<extra></extra>"
                        ),
                        visible=vis,
                    ),
                    row=row,
                    col=col,
                )
                region_of.append(region)
                legend_of.append(i == 0)
            for j, (lab, x, y) in enumerate((observed or {}).get(region, [])):
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=y,
                        mode="markers",
                        marker={
                            "color": "black",
                            "size": 6,
                            "symbol": ("circle-open", "diamond-open", "square-open")[j % 3],
                        },
                        name=f"observed: {lab}",
                        legendgroup=f"obs{lab}",
                        showlegend=i == 0 and region == "AES",
                        hovertemplate=f"{region} observed {lab} %{{x|%Y}}: %{{y:{yformat}}}"
                        "<extra></extra>",
                        visible=region == "AES",
                    ),
                    row=row,
                    col=col,
                )
                region_of.append(region)
                legend_of.append(i == 0)
        fig.add_vline(
            x=month_label(runs.projection_start) + "-01",
            row=row,
            col=col,
            line={"color": "#555", "width": 1, "dash": "dash"},
        )
    fig.add_annotation(
        x=month_label(runs.projection_start) + "-01",
        xref="x",
        yref="y domain",
        y=0.98,
        text="projection →",
        showarrow=False,
        xanchor="left",
        font={"size": 11, "color": "#555"},
    )
    buttons = [
        {
            "label": COUNTRY_NAMES[r],
            "method": "restyle",
            "args": [
                {
                    "visible": [reg == r for reg in region_of],
                    "showlegend": [
                        reg == r and leg for reg, leg in zip(region_of, legend_of, strict=True)
                    ],
                }
            ],
        }
        for r in regions
    ]
    fig.update_layout(
        updatemenus=[
            {
                "buttons": buttons,
                "direction": "down",
                "x": 1.0,
                "xanchor": "right",
                "y": 1 + (top - 12) / (height - top - bottom),
                "yanchor": "top",
                "showactive": True,
            }
        ]
    )
    fig.update_yaxes(title_text=ytitle, col=1)
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(type="date")
    return _layout(fig, title, height=height, margin={"l": 70, "r": 20, "t": top, "b": bottom})


def _section_scenarios(
    runs: _Runs, names: Sequence[str], cy: pd.DataFrame | None, figs: _Figures, members: int
) -> str:
    from sahelsim.scenarios.run import month_label
    from sahelsim.scenarios.scenario import load_scenario

    rows = []
    for n in names:
        sc = load_scenario(n)
        rows.append(
            {
                "name": n,
                "title": sc.title,
                "description": sc.description,
                "section": sc.article_section,
            }
        )
    param_text = (
        "parameters drawn per member from the shipped calibrated posterior"
        if runs.parameters == "posterior"
        else "the prior default parameters (uncalibrated)"
    )
    parts = [
        _note(
            f"{members} ensemble members per scenario, simulated monthly from {SIM_START}"
            f" (the history, used as spin-up) to {SIM_END_YEAR}-12 with {param_text}; the"
            f" projection starts in {month_label(runs.projection_start)} (dashed line)."
            " Bands: 50 % and 90 % intervals across members; line: median. Deaths are yearly"
            " sums of the monthly values; territory and IDPs are monthly. Use the menu at the"
            " top right of each chart for one country; the default is the three states"
            " together (territory weighted by area)."
        ),
        _table(
            pd.DataFrame(rows),
            [
                ("name", "scenario"),
                ("title", "title"),
                ("description", "description"),
                ("section", "article section"),
            ],
            cls="small prose",
        ),
    ]
    observed_deaths: dict[str, list[tuple[str, Any, list[float]]]] = {}
    observed_civ: dict[str, list[tuple[str, Any, list[float]]]] = {}
    observed_idp: dict[str, list[tuple[str, Any, list[float]]]] = {}
    if cy is not None:
        d = cy[cy["year"] >= int(SIM_START[:4])]
        aes = d.groupby("year")[
            [
                "deaths_total",
                "civilians_killed_by_government",
                "civilians_killed_by_nonstate",
                "idps",
            ]
        ].sum(min_count=3)
        for region in ("AES", *CORE):
            g = aes.reset_index() if region == "AES" else d[d["iso3"] == region]
            yrs = g["year"].astype(int).tolist()
            observed_deaths[region] = [
                ("UCDP deaths", _ms(_mid_year(yrs)), g["deaths_total"].astype(float).tolist())
            ]
            observed_civ[region] = [
                (
                    "UCDP one-sided, government",
                    _ms(_mid_year(yrs)),
                    g["civilians_killed_by_government"].astype(float).tolist(),
                ),
                (
                    "UCDP one-sided, non-state",
                    _ms(_mid_year(yrs)),
                    g["civilians_killed_by_nonstate"].astype(float).tolist(),
                ),
            ]
            observed_idp[region] = [
                (
                    "UNHCR/IDMC IDPs",
                    _ms(f"{y}-12-15" for y in yrs),
                    g["idps"].astype(float).tolist(),
                )
            ]
    parts.append(
        figs.add(
            "fan_deaths",
            _fan_figure(
                runs,
                names,
                [("deaths_total", "fatalities", _PALETTE[0])],
                title="Fatalities (all UCDP violence types)",
                ytitle="deaths per year",
                observed=observed_deaths,
            ),
        )
    )
    parts.append(
        figs.add(
            "fan_civilians",
            _fan_figure(
                runs,
                names,
                [
                    ("civilians_killed_by_state_side", "state side", "#b2182b"),
                    ("civilians_killed_by_jnim", "JNIM", "#2166ac"),
                    ("civilians_killed_by_issp", "IS Sahel", "#4d9221"),
                ],
                title="Civilians killed by perpetrator (state side: army, militias, Russians)",
                ytitle="one-sided deaths per year",
                observed=observed_civ,
            ),
            caption="Observed UCDP one-sided deaths: by the government (compare with the state"
            " side) and by non-state groups (compare with JNIM + IS Sahel).",
        )
    )
    parts.append(
        figs.add(
            "fan_territory",
            _fan_figure(
                runs,
                names,
                [("territory_state", "state-held share", _PALETTE[2])],
                title="Territory held by the state (share of area)",
                ytitle="share of area",
                yformat=".2f",
            ),
            caption="No observed series: territorial control is not in the staged data.",
        )
    )
    parts.append(
        figs.add(
            "fan_idps",
            _fan_figure(
                runs,
                names,
                [("idps", "IDPs hosted", _PALETTE[3])],
                title="Displacement: internally displaced people hosted",
                ytitle="people",
                observed=observed_idp,
            ),
        )
    )
    return "".join(parts)


# -- (e) maps --------------------------------------------------------------------------------


def _cell_geojson(gid: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    from shapely.geometry import box, mapping
    from shapely.geometry.polygon import orient

    from sahelsim.core.canon import CELL_DEG

    h = CELL_DEG / 2
    feats = []
    for g, y, x in zip(gid, lat, lon, strict=True):
        poly = orient(box(float(x) - h, float(y) - h, float(x) + h, float(y) + h), -1)
        feats.append(
            {"type": "Feature", "id": str(int(g)), "properties": {}, "geometry": mapping(poly)}
        )
    return {"type": "FeatureCollection", "features": feats}


def _clockwise(geom: Any, tolerance: float = 0.01) -> Any:
    """Simplified geometry with every polygon wound clockwise (Plotly's geo convention)."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon
    from shapely.geometry.polygon import orient

    g = shapely.set_precision(geom.simplify(tolerance, preserve_topology=True), 0.001)
    polys = (
        [g]
        if isinstance(g, Polygon)
        else [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon)]
    )
    polys = [orient(p, -1) for p in polys if not p.is_empty]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _outline_trace(admin1: pd.DataFrame) -> go.Scattergeo | None:
    """Country borders of the three states as one line trace."""
    import plotly.graph_objects as go
    import shapely

    lons: list[float | None] = []
    lats: list[float | None] = []
    for c in CORE:
        geoms = admin1.loc[admin1["iso3"] == c, "geometry"].tolist()
        if not geoms:
            continue
        u = shapely.union_all(geoms).simplify(0.02)
        for poly in getattr(u, "geoms", [u]):
            xs, ys = poly.exterior.coords.xy
            lons += [round(v, 3) for v in xs] + [None]
            lats += [round(v, 3) for v in ys] + [None]
    if not lons:
        return None
    return go.Scattergeo(
        lon=lons,
        lat=lats,
        mode="lines",
        line={"color": "#333", "width": 1},
        hoverinfo="skip",
        showlegend=False,
        name="borders",
    )


def _geo_layout(fig: go.Figure) -> None:
    fig.update_geos(
        visible=False,
        fitbounds="locations",
        projection_type="equirectangular",
        bgcolor="rgba(0,0,0,0)",
    )


def _admin1_weights(
    admin1: pd.DataFrame, gid: np.ndarray, lat: np.ndarray, lon: np.ndarray, cell_iso: np.ndarray
) -> np.ndarray:
    """(cells, units) share of each core cell's area in each core admin-1 unit; rows of cells
    that touch a unit sum to 1 (the part outside every unit is given to those it touches)."""
    import shapely
    from shapely.geometry import box

    from sahelsim.core.canon import CELL_DEG

    h = CELL_DEG / 2
    geoms = list(admin1["geometry"])
    unit_iso = admin1["iso3"].to_numpy(dtype=object)
    tree = shapely.STRtree(geoms)
    w = np.zeros((len(gid), len(geoms)))
    for i in range(len(gid)):
        if cell_iso[i] not in CORE:
            continue
        b = box(lon[i] - h, lat[i] - h, lon[i] + h, lat[i] + h)
        for j in tree.query(b, predicate="intersects"):
            if unit_iso[j] == cell_iso[i]:
                w[i, j] = b.intersection(geoms[j]).area
    s = w.sum(axis=1, keepdims=True)
    return np.divide(w, s, out=np.zeros_like(w), where=s > 0)


def _section_maps(runs: _Runs, data_dir: Path | None, figs: _Figures) -> str:
    import plotly.graph_objects as go

    from sahelsim.scenarios.run import month_label

    if runs.cell_gid is None or runs.space is None:
        return _note("No scenario was run: no maps.")
    space = runs.space
    pos = {int(g): i for i, g in enumerate(space.gid)}
    idx = np.array([pos[int(g)] for g in runs.cell_gid])
    lat, lon = space.lat[idx], space.lon[idx]
    iso = np.array(
        [space.countries[k] if k >= 0 else None for k in space.country[idx]], dtype=object
    )
    gid = runs.cell_gid
    geo = figs.add_geo("cells", _cell_geojson(gid, lat, lon))
    locs = [str(int(g)) for g in gid]
    admin1 = None
    if data_dir is not None:
        try:
            from sahelsim.grid.build import build_grid

            admin1 = build_grid(data_dir).admin1
        except (FileNotFoundError, OSError, ValueError) as exc:
            log.warning("report: no admin-1 polygons (%s)", exc)
    outline = _outline_trace(admin1) if admin1 is not None else None
    sc = _pt(runs.titles.get(runs.map_scenario, runs.map_scenario))
    start = month_label(runs.projection_start)
    parts = [
        _note(
            f"Scenario <strong>{_e(runs.titles.get(runs.map_scenario, runs.map_scenario))}"
            f"</strong>; PRIO-GRID 0.5° cells of the study grid"
            + ("" if data_dir is not None else " (synthetic grid: no data directory)")
            + ". Maps are drawn from inline polygons; no base map is loaded."
        )
    ]
    dmed = runs.cell_deaths_median
    assert dmed is not None and runs.cell_state_share is not None
    z = np.log10(1.0 + dmed)
    top = max(float(z.max()), 1.0)
    ticks = list(range(math.ceil(top) + 1))
    fig = go.Figure(
        go.Choropleth(
            geojson=geo,
            locations=locs,
            z=z,
            featureidkey="id",
            colorscale="YlOrRd",
            zmin=0,
            zmax=top,
            marker={"line": {"width": 0.2, "color": "#999"}},
            colorbar={
                "title": {"text": "deaths"},
                "tickvals": ticks,
                "ticktext": [f"{10**t - 1:,.0f}" if t else "0" for t in ticks],
            },
            customdata=np.stack([dmed, lat, lon], axis=1),
            hovertemplate="cell %{location} (%{customdata[1]:.2f}, %{customdata[2]:.2f})<br>"
            "median deaths %{customdata[0]:,.0f}<extra></extra>",
        )
    )
    if outline is not None:
        fig.add_trace(outline)
    _geo_layout(fig)
    parts.append(
        figs.add(
            "map_violence",
            _layout(
                fig,
                f"Simulated violence: median deaths per cell {start} to {runs.last_month} ({sc})",
                height=560,
            ),
            is_map=True,
            caption="Median over members of each cell's total deaths over the projection"
            " (log colour scale).",
        )
    )
    share = runs.cell_state_share
    fig = go.Figure(
        go.Choropleth(
            geojson=geo,
            locations=locs,
            z=share,
            featureidkey="id",
            colorscale="RdBu",
            zmin=0,
            zmax=1,
            marker={"line": {"width": 0.2, "color": "#999"}},
            colorbar={"title": {"text": "state holds"}, "tickformat": ".0%"},
            customdata=np.stack([lat, lon], axis=1),
            hovertemplate="cell %{location} (%{customdata[0]:.2f}, %{customdata[1]:.2f})<br>"
            "state holds in %{z:.0%} of members<extra></extra>",
        )
    )
    if outline is not None:
        fig.add_trace(outline)
    _geo_layout(fig)
    parts.append(
        figs.add(
            "map_control",
            _layout(
                fig,
                f"Simulated control in {runs.last_month}: share of members where the state holds"
                f" the cell ({sc})",
                height=560,
            ),
            is_map=True,
            caption="Blue: the state holds the cell in most members; red: JNIM, IS Sahel or"
            " contested in most members.",
        )
    )
    if admin1 is None or runs.cell_idp_last is None:
        parts.append(
            _note(
                "Admin-1 map not drawn: the Natural Earth polygons are not in the data directory."
            )
        )
        return "".join(parts)
    units = admin1[admin1["iso3"].isin(CORE)].reset_index(drop=True)
    w = _admin1_weights(units, gid, lat, lon, iso)
    idp_units = np.median(runs.cell_idp_last @ w, axis=0)
    deaths_units = (
        np.median(runs.cell_deaths_members @ w, axis=0)
        if runs.cell_deaths_members is not None
        else np.zeros(len(units))
    )
    feats = []
    from shapely.geometry import mapping

    for i, r in units.iterrows():
        feats.append(
            {
                "type": "Feature",
                "id": f"u{i}",
                "properties": {},
                "geometry": mapping(_clockwise(r["geometry"])),
            }
        )
    ugeo = figs.add_geo("admin1", {"type": "FeatureCollection", "features": feats})
    names = [f"{_pt(n)} ({_pt(c)})" for n, c in zip(units["name"], units["iso3"], strict=True)]
    fig = go.Figure(
        go.Choropleth(
            geojson=ugeo,
            locations=[f"u{i}" for i in range(len(units))],
            z=idp_units,
            featureidkey="id",
            colorscale="Purples",
            marker={"line": {"width": 0.5, "color": "#555"}},
            colorbar={"title": {"text": "IDPs hosted"}},
            text=names,
            customdata=np.stack([deaths_units], axis=1),
            hovertemplate="%{text}<br>median IDPs hosted %{z:,.0f}<br>median deaths "
            f"{start} to {runs.last_month}: %{{customdata[0]:,.0f}}"
            "<extra></extra>",
        )
    )
    _geo_layout(fig)
    parts.append(
        figs.add(
            "map_admin1",
            _layout(
                fig,
                f"Displaced people hosted per admin-1 unit in {runs.last_month} ({sc})",
                height=560,
            ),
            is_map=True,
            caption="Natural Earth admin-1 units of the three states; cell values split by the share"
            " of the cell's area in each unit of its country; median over members (hover for"
            " deaths over the projection).",
        )
    )
    return "".join(parts)


# -- (f) backtest ----------------------------------------------------------------------------


def _section_backtest(backtest_dir: Path | None, figs: _Figures) -> str:
    import plotly.graph_objects as go

    overall_p = backtest_dir / "overall.csv" if backtest_dir else None
    if overall_p is None or not overall_p.is_file():
        where = (
            f" (no <code>overall.csv</code> in <code>{_e(backtest_dir)}</code>)"
            if backtest_dir
            else ""
        )
        return _note(
            "Backtest not run" + where + ": run <code>sahelsim backtest --origins 2014-2023"
            "</code> and build the report again to compare the model with the zero,"
            " last-value, conflictology and negative-binomial baselines.",
            cls="note notrun",
        )
    overall = pd.read_csv(overall_p)
    parts = [
        _note(
            "Rolling-origin backtest of UCDP country-year deaths (state-based, non-state,"
            " one-sided; Mali, Burkina Faso, Niger): mean scores over origins, horizons,"
            " countries and types. Lower CRPS is better; coverage should match its level."
            f" From <code>{_e(overall_p)}</code>."
        )
    ]
    vp = backtest_dir / "verdict.csv" if backtest_dir else None
    if vp is not None and vp.is_file():
        v = pd.read_csv(vp)
        if len(v):
            r = v.iloc[0]
            parts.append(
                _note(
                    f"Model CRPS {_num(r.get('model_crps'), 1)} against the best baseline"
                    f" ({_e(r.get('best_baseline'))}) {_num(r.get('best_baseline_crps'), 1)}:"
                    f" ratio {_num(r.get('ratio'), 2)} (aim at most"
                    f" {_num(r.get('aim_ratio'), 2)}); 90 % coverage"
                    f" {_num(100 * float(r.get('model_coverage90', float('nan'))), 0)} %.",
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
    fmt = {c: (lambda v: _num(v, 3)) for c, _ in cols if c not in ("forecaster", "n")}
    parts.append(_table(overall, cols, fmt=fmt, cls="small"))
    if {"forecaster", "crps"} <= set(overall.columns):
        o = overall.sort_values("crps")
        colours = ["#d62728" if str(f) == "model" else "#7f7f7f" for f in o["forecaster"]]
        fig = go.Figure(
            go.Bar(
                x=[_pt(f) for f in o["forecaster"]],
                y=o["crps"],
                marker_color=colours,
                hovertemplate="%{x}: CRPS %{y:,.1f}<extra></extra>",
            )
        )
        fig.update_yaxes(title_text="mean CRPS (deaths)")
        parts.append(
            figs.add(
                "backtest_crps", _layout(fig, "CRPS by forecaster (lower is better)", height=380)
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
            parts.append("<h3>CRPS by country and violence type</h3>")
            parts.append(
                _table(
                    wide,
                    [("iso3", "country"), ("target", "type")] + [(c, c) for c in fcs],
                    fmt={c: (lambda v: _num(v, 1)) for c in fcs},
                    cls="small",
                )
            )
    return "".join(parts)


# -- (g) model card --------------------------------------------------------------------------


def _mechanisms() -> pd.DataFrame:
    from sahelsim.model.engine import ORDER

    rows = []
    for name in ORDER:
        mod = importlib.import_module(f"sahelsim.model.mechanisms.{name}")
        doc = (mod.__doc__ or "").strip()
        first = " ".join(doc.split("\n\n")[0].split())
        first = re.sub(r"^\d+\.\s*", "", first)
        rows.append({"mechanism": name, "description": first})
    return pd.DataFrame(rows)


def _limitations() -> str:
    """The "Known limitations" section of docs/model.md as HTML (escaped, light markdown)."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "model.md"
    if not doc.is_file():
        return _note("docs/model.md is not available in this installation.")
    text = doc.read_text(encoding="utf-8")
    m = re.search(r"^## Known limitations\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        return _note("docs/model.md has no Known limitations section.")
    items: list[str] = []
    for line in m.group(1).splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.strip() and items:
            items[-1] += " " + line.strip()

    def md(s: str) -> str:
        s = _e(s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    return "<ul>" + "".join(f"<li>{md(i)}</li>" for i in items) + "</ul>"


def _section_model(store: Store, figs: _Figures) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from sahelsim.model.params import SPECS
    from sahelsim.scenarios.posterior import load_posterior

    parts = [
        "<h3>Mechanisms</h3>",
        _note("Applied each month in this order (see docs/model.md)."),
        _table(
            _mechanisms(),
            [("mechanism", "mechanism"), ("description", "what it does")],
            cls="small prose",
        ),
    ]
    try:
        post = load_posterior()
    except Exception as exc:  # a broken posterior file must not stop the report
        log.warning("report: posterior unreadable: %s", exc)
        post = None
    specs = pd.DataFrame(
        [
            {
                "name": s.name,
                "default": s.default,
                "unit": s.unit,
                "range": f"{s.lo:g} - {s.hi:g}",
                "mechanism": s.mechanism,
                "source": s.source,
                "section": s.section,
            }
            for s in SPECS
        ]
    )
    cols = [
        ("name", "parameter"),
        ("default", "default"),
        ("unit", "unit"),
        ("range", "prior range"),
        ("mechanism", "mechanism"),
        ("source", "source"),
        ("section", "article section"),
    ]

    def gfmt(v: Any) -> str:
        if v is None or pd.isna(v):
            return ""
        x = float(v)
        return _num(x) if abs(x) >= 1000 else _e(f"{x:.4g}")

    fmt = {"default": gfmt}
    if post is not None:
        summ = post.summary().set_index("parameter")
        specs["post_median"] = specs["name"].map(summ["q50"])
        specs["post_90"] = [
            f"{summ.loc[n, 'q05']:.4g} - {summ.loc[n, 'q95']:.4g}" if n in summ.index else ""
            for n in specs["name"]
        ]
        cols[2:2] = [("post_median", "posterior median"), ("post_90", "posterior 90 %")]
        fmt["post_median"] = gfmt
    parts.append("<h3>Parameters</h3>")
    if post is None:
        parts.append(
            _note(
                "No posterior ships with this installation: the model runs on"
                " <strong>uncalibrated priors</strong> (the defaults below).",
                cls="note strong",
            )
        )
    else:
        parts.append(
            _note(
                f"Calibrated: {len(post.names)} parameters have a posterior (ABC-SMC against UCDP"
                " and UNHCR/IDMC country-years); each ensemble member draws one particle. The others"
                " keep their defaults."
            )
        )
    parts.append(_table(specs, cols, fmt=fmt, cls="small prose"))
    parts.append("<h3>Calibration diagnostics</h3>")
    if post is None:
        parts.append(_note("Uncalibrated priors: no diagnostics."))
    else:
        meta = _finite(post.meta)
        st = meta.get("settings", {}) or {}
        dg = meta.get("diagnostics", {}) or {}
        files = meta.get("data_files", []) or []
        ledger = store.ledger()
        current = (
            set(ledger.loc[~ledger["superseded"].astype(bool), "sha256"].astype(str))
            if len(ledger)
            else set()
        )
        same = [str(f.get("sha256", "")) in current for f in files]
        match = (
            "yes: every file the posterior was fitted to is in this store"
            if files and all(same)
            else "no: the store holds other versions of the calibration data"
            if files
            else "unknown (no file list in the posterior)"
        )
        info = pd.DataFrame(
            [
                {"item": "created", "value": meta.get("created", "")},
                {"item": "sahelsim version", "value": meta.get("sahelsim_version", "")},
                {"item": "data hash", "value": meta.get("data_hash", "")},
                {"item": "fitted to the data in this store", "value": match},
                {"item": "years", "value": " - ".join(str(y) for y in st.get("years", []))},
                {
                    "item": "particles x generations",
                    "value": f"{st.get('n_particles', '')} x {st.get('generations', '')}",
                },
                {"item": "simulations", "value": _num(dg.get("n_simulations"))},
                {"item": "wall time", "value": f"{_num(dg.get('wall_seconds'))} s"},
                {"item": "summary statistics", "value": dg.get("n_statistics", "")},
                {
                    "item": "particles (effective sample size)",
                    "value": f"{len(post.weights)} ({_num(1.0 / float(np.sum(post.weights**2)))})",
                },
                {"item": "grid", "value": st.get("grid", "")},
            ]
        )
        parts.append(_table(info, [("item", "item"), ("value", "value")], cls="small"))
        eps, acc = dg.get("epsilon") or [], dg.get("acceptance") or []
        if eps or acc:
            gen = list(range(max(len(eps), len(acc))))
            fig = make_subplots(
                rows=1, cols=2, subplot_titles=["tolerance ε by generation", "acceptance rate"]
            )
            fig.add_trace(
                go.Scatter(
                    x=gen[: len(eps)], y=eps, mode="lines+markers", name="ε", line_color=_PALETTE[0]
                ),
                row=1,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=gen[: len(acc)],
                    y=acc,
                    mode="lines+markers",
                    name="acceptance",
                    line_color=_PALETTE[1],
                ),
                row=1,
                col=2,
            )
            fig.update_xaxes(title_text="generation")
            parts.append(
                figs.add(
                    "calib_diag",
                    _layout(fig, "ABC-SMC diagnostics", height=340),
                    caption="Generation 0 samples the prior (ε infinite, not drawn).",
                )
            )
    parts.append("<h3>Known limitations</h3>")
    parts.append(_limitations())
    return "".join(parts)


# -- the page --------------------------------------------------------------------------------

_CSS = """
:root { --fg:#1b1b1b; --muted:#5b5b5b; --line:#dedede; --bg:#fff; --accent:#7a3b00; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: var(--fg); background: var(--bg); margin: 0; line-height: 1.45; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 3px solid var(--accent); }
h1 { margin: 0 0 6px; font-size: 28px; }
h2 { margin-top: 40px; padding-top: 8px; border-top: 1px solid var(--line); font-size: 22px; }
h3 { margin-top: 26px; font-size: 17px; }
nav ol { display: flex; flex-wrap: wrap; gap: 4px 34px; padding-left: 18px; }
.meta { color: var(--muted); font-size: 14px; }
.note { color: var(--muted); font-size: 14px; max-width: 1000px; }
.note.strong { color: var(--fg); font-weight: 600; }
.note.notrun { color: #8a4b00; background: #fff4e5; padding: 10px 14px; border-left: 4px solid
  #e08a00; }
.table-wrap { overflow-x: auto; margin: 8px 0 18px; }
table { border-collapse: collapse; font-size: 14px; }
table.small { font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
  vertical-align: top; }
th { background: #f5f5f5; position: sticky; top: 0; }
table.prose td { min-width: 80px; max-width: 420px; }
.scroll { max-height: 7.5em; overflow-y: auto; }
td { overflow-wrap: anywhere; }
.v-supported { background: #dff3e0; color: #14532d; font-weight: 600; }
.v-contradicted { background: #fbe0e0; color: #7f1d1d; font-weight: 600; }
.v-mixed { background: #fff1cc; color: #6b4a00; font-weight: 600; }
.v-untestable, .v-other { background: #ececec; color: #444; }
.pill { padding: 2px 8px; border-radius: 10px; margin-right: 6px; font-size: 13px; }
figure.fig { margin: 10px 0 26px; }
figcaption { color: var(--muted); font-size: 13px; }
.plotly-graph-div { width: 100%; min-height: 300px; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
footer { color: var(--muted); font-size: 13px; padding: 30px 24px; }
"""

_RENDER_JS = """
(function () {
  "use strict";
  var node = document.getElementById("sahelsim-figures");
  var doc = JSON.parse(node.textContent);
  var figs = doc.figures, geo = doc.geo || {};
  var ids = Object.keys(figs);
  var done = 0;
  var config = {displaylogo: false, responsive: true};
  document.body.setAttribute("data-plots-total", String(ids.length));
  document.body.setAttribute("data-plots-done", "0");
  ids.forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) { console.error("no element for figure " + id); return; }
    var f = figs[id];
    var layout = f.layout || {};
    if (!layout.template && doc.template) { layout.template = doc.template; }
    (f.data || []).forEach(function (t) {
      if (typeof t.geojson === "string" && t.geojson.charAt(0) === "@") {
        t.geojson = geo[t.geojson.slice(1)];
      }
    });
    Plotly.newPlot(el, f.data, layout, config).then(function () {
      done += 1;
      document.body.setAttribute("data-plots-done", String(done));
    }, function (err) { console.error("figure " + id + " failed: " + err); });
  });
})();
"""


def _page(title: str, meta_html: str, sections: dict[str, str], figs: _Figures) -> str:
    import plotly
    import plotly.offline

    plotly_js = plotly.offline.get_plotlyjs()
    if "</script" in plotly_js.lower():  # never true for released bundles; guards the inline
        raise RuntimeError("plotly.js contains '</script': cannot inline it safely")
    nav = "".join(f'<li><a href="#{k}">{_e(SECTION_TITLES[k])}</a></li>' for k in sections)
    body = "".join(
        f'<section id="{k}"><h2>{_e(SECTION_TITLES[k])}</h2>{v}</section>'
        for k, v in sections.items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing may load from elsewhere, whatever a data string contains
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>{meta_html}<nav><ol>{nav}</ol></nav></header>"
        f"<main>{body}</main>"
        "<footer>Generated by sahelsim (sahelsim.report). Single self-contained file: Plotly"
        f" {_e(plotly.__version__)} and every figure's data are inlined; it opens offline.</footer>"
        f'<script type="application/json" id="sahelsim-figures">{figs.payload()}</script>'
        f"<script>{GEO_STUB}</script>"
        f'<script type="text/javascript">/* plotly.js bundled with plotly {_e(plotly.__version__)} */\n{plotly_js}'
        "</script>"
        f"<script>{_RENDER_JS}</script>"
        "</body></html>\n"
    )


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
) -> Path:
    """Write ``out/report.html`` and return its path.

    ``store``: an ingested :class:`~sahelsim.store.Store`; ``data_dir``: the staged data (the
    study grid, admin-1 polygons, provenance files; None = the synthetic grid and no admin-1
    map). ``members``/``seed``: the ensemble of every scenario (2012-01 to 2030-12).
    ``scenarios``: names (default: every shipped scenario). ``backtest_dir``: folder with
    ``overall.csv`` (and ``scores.csv``, ``verdict.csv``) from ``sahelsim backtest``; default
    ``out/backtest``. ``claims``: a claims audit table (default: :func:`sahelsim.claims.audit`
    with the model, ``members`` and ``seed``). ``progress(label, done, total)`` is called
    between steps.
    """
    from sahelsim.scenarios.scenario import list_scenarios, load_scenario

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
    backtest_dir = Path(backtest_dir) if backtest_dir is not None else out / "backtest"
    total = 6 + len(names)
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        if progress:
            progress(label, step, total)
        step += 1

    figs = _Figures()
    sections: dict[str, str] = {}
    tick("data overview")
    sections["data"] = _section_data(store, data_dir)
    tick("indicators")
    sections["indicators"], cy = _section_indicators(store, figs)
    tick("claims audit")
    error = ""
    if claims is None:
        from sahelsim.claims.audit import audit
        from sahelsim.core.errors import SahelsimError

        try:
            claims = audit(store, model=True, members=members, seed=seed, data_dir=data_dir)
        except (LookupError, SahelsimError, ValueError) as exc:
            log.warning("report: claims audit failed: %s", exc)
            error = str(exc)
    sections["claims"] = _section_claims(claims, error)
    runs = _run_scenarios(
        names,
        data_dir=data_dir,
        members=members,
        seed=seed,
        progress=progress,
        step=step,
        total=total,
    )
    step += len(names)
    sections["scenarios"] = _section_scenarios(runs, names, cy, figs, members)
    tick("maps")
    sections["maps"] = _section_maps(runs, data_dir, figs)
    tick("backtest")
    sections["backtest"] = _section_backtest(backtest_dir, figs)
    tick("model card")
    sections["model"] = _section_model(store, figs)
    import sahelsim

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta_html = (
        f'<p class="meta">Generated {_e(now)} by sahelsim {_e(sahelsim.__version__)};'
        f" {members} members per scenario, seed {seed}; scenarios: {_e(', '.join(names))};"
        f" grid: {'study grid' if data_dir is not None else 'synthetic grid'}; parameters:"
        f" {_e('calibrated posterior' if runs.parameters == 'posterior' else 'uncalibrated priors')}."
        "</p>"
    )
    html_text = _page(
        "sahelsim report: the Central Sahel conflict system", meta_html, sections, figs
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html_text, encoding="utf-8")
    tmp.replace(path)
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
