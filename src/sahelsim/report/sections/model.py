"""(g) Model card: mechanisms, parameters (with the posterior), calibration diagnostics, known
limitations (a package resource, so the card is the same in an installed wheel)."""

from __future__ import annotations

import importlib
import logging
import re
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sahelsim.data.store.store import Store
from sahelsim.model.engine import ORDER
from sahelsim.model.params import SPECS
from sahelsim.report.html import note, table
from sahelsim.scenarios.posterior import Posterior, load_posterior
from sahelsim.viz.figures import FigureSet, style_layout
from sahelsim.viz.palette import SERIES_PAIR
from sahelsim.viz.text import esc, finite, fmt_num

log = logging.getLogger(__name__)

__all__ = [
    "LIMITATIONS_RESOURCE",
    "limitation_items",
    "markdown_inline",
    "mechanisms",
    "section_model",
]

#: The "Known limitations" of docs/model.md, shipped in ``sahelsim.resources``.
LIMITATIONS_RESOURCE = "limitations.md"


def mechanisms() -> pd.DataFrame:
    """The mechanisms in the engine's order with the first paragraph of each docstring."""
    rows = []
    for name in ORDER:
        mod = importlib.import_module(f"sahelsim.model.mechanisms.{name}")
        doc = (mod.__doc__ or "").strip()
        first = " ".join(doc.split("\n\n")[0].split())
        first = re.sub(r"^\d+\.\s*", "", first)
        rows.append({"mechanism": name, "description": first})
    return pd.DataFrame(rows)


def limitation_items(text: str | None = None) -> list[str]:
    """The bullet items of a markdown list (default: the packaged limitations), each joined
    onto one line; other lines are ignored."""
    if text is None:
        ref = resources.files("sahelsim.resources").joinpath(LIMITATIONS_RESOURCE)
        text = ref.read_text(encoding="utf-8")
    items: list[str] = []
    for line in text.splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.strip() and items:
            items[-1] += " " + line.strip()
    return items


def markdown_inline(s: str) -> str:
    """Escaped text with ``**bold**`` and ```code``` rendered."""
    s = esc(s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", s)


def _limitations() -> str:
    try:
        items = limitation_items()
    except (FileNotFoundError, OSError) as exc:
        log.warning("report: %s unreadable: %s", LIMITATIONS_RESOURCE, exc)
        return note(
            f"The list of known limitations is missing from this installation ({esc(exc)})."
        )
    return "<ul>" + "".join(f"<li>{markdown_inline(i)}</li>" for i in items) + "</ul>"


def _gfmt(v: Any) -> str:
    if v is None or pd.isna(v):
        return ""
    x = float(v)
    return fmt_num(x) if abs(x) >= 1000 else esc(f"{x:.4g}")


def _parameters(post: Posterior | None) -> str:
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
    fmt = {"default": _gfmt}
    if post is None:
        intro = note(
            "No posterior ships with this installation: the model runs on"
            " <strong>uncalibrated priors</strong> (the defaults below).",
            cls="note strong",
        )
    else:
        summ = post.summary().set_index("parameter")
        specs["post_median"] = specs["name"].map(summ["q50"])
        specs["post_90"] = [
            f"{summ.loc[n, 'q05']:.4g} - {summ.loc[n, 'q95']:.4g}" if n in summ.index else ""
            for n in specs["name"]
        ]
        cols[2:2] = [("post_median", "posterior median"), ("post_90", "posterior 90 %")]
        fmt["post_median"] = _gfmt
        intro = note(
            f"Calibrated: {len(post.names)} parameters have a posterior (ABC-SMC against UCDP"
            " and UNHCR/IDMC country-years); each ensemble member draws one particle. The others"
            " keep their defaults."
        )
    return "<h3>Parameters</h3>" + intro + table(specs, cols, fmt=fmt, cls="small prose")


def _fit_match(store: Store, files: list[dict[str, Any]]) -> str:
    ledger = store.ledger()
    current = (
        set(ledger.loc[~ledger["superseded"].astype(bool), "sha256"].astype(str))
        if len(ledger)
        else set()
    )
    same = [str(f.get("sha256", "")) in current for f in files]
    if not files:
        return "unknown (no file list in the posterior)"
    if all(same):
        return "yes: every file the posterior was fitted to is in this store"
    return "no: the store holds other versions of the calibration data"


def _diagnostics_figure(eps: list[float], acc: list[float]) -> go.Figure:
    gen = list(range(max(len(eps), len(acc))))
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=["tolerance ε by generation", "acceptance rate"]
    )
    for col, (ys, name) in enumerate(((eps, "ε"), (acc, "acceptance")), start=1):
        fig.add_trace(
            go.Scatter(
                x=gen[: len(ys)],
                y=ys,
                mode="lines+markers",
                name=name,
                line_color=SERIES_PAIR[col - 1],
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(title_text="generation")
    return fig


def _diagnostics(store: Store, post: Posterior, figs: FigureSet) -> str:
    meta = finite(post.meta)
    st = meta.get("settings", {}) or {}
    dg = meta.get("diagnostics", {}) or {}
    files = meta.get("data_files", []) or []
    ess = fmt_num(1.0 / float(np.sum(post.weights**2)))
    info = pd.DataFrame(
        [
            {"item": "created", "value": meta.get("created", "")},
            {"item": "sahelsim version", "value": meta.get("sahelsim_version", "")},
            {"item": "data hash", "value": meta.get("data_hash", "")},
            {"item": "fitted to the data in this store", "value": _fit_match(store, files)},
            {"item": "years", "value": " - ".join(str(y) for y in st.get("years", []))},
            {
                "item": "particles x generations",
                "value": f"{st.get('n_particles', '')} x {st.get('generations', '')}",
            },
            {"item": "simulations", "value": fmt_num(dg.get("n_simulations"))},
            {"item": "wall time", "value": f"{fmt_num(dg.get('wall_seconds'))} s"},
            {"item": "summary statistics", "value": dg.get("n_statistics", "")},
            {"item": "particles (effective sample size)", "value": f"{len(post.weights)} ({ess})"},
            {"item": "grid", "value": st.get("grid", "")},
        ]
    )
    out = table(info, [("item", "item"), ("value", "value")], cls="small")
    eps, acc = dg.get("epsilon") or [], dg.get("acceptance") or []
    if eps or acc:
        out += figs.add(
            "calib_diag",
            style_layout(_diagnostics_figure(eps, acc), "ABC-SMC diagnostics", height=340),
            caption="Generation 0 samples the prior (ε infinite, not drawn).",
            units="tolerance (distance units of the summary statistics); acceptance share",
            source="the shipped posterior's calibration diagnostics",
        )
    return out


def section_model(store: Store, figs: FigureSet) -> str:
    parts = [
        "<h3>Mechanisms</h3>",
        note("Applied each month in this order (see docs/model.md)."),
        table(
            mechanisms(),
            [("mechanism", "mechanism"), ("description", "what it does")],
            cls="small prose",
        ),
    ]
    try:
        post = load_posterior()
    except Exception as exc:  # a broken posterior file must not stop the report
        log.warning("report: posterior unreadable: %s", exc)
        post = None
    parts.append(_parameters(post))
    parts.append("<h3>Calibration diagnostics</h3>")
    if post is None:
        parts.append(note("Uncalibrated priors: no diagnostics."))
    else:
        parts.append(_diagnostics(store, post, figs))
    parts.append("<h3>Known limitations</h3>")
    parts.append(_limitations())
    return "".join(parts)
