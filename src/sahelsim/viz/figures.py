"""A collection of Plotly figures serialised once (shared template and GeoJSON), and the common
layout every figure gets."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from sahelsim.viz.text import esc, safe_json

__all__ = ["FONT_FAMILY", "FigureSet", "figure_csv", "layout_style", "style_layout", "trace_table"]

#: Values of a Plotly date axis above this are epoch milliseconds (1973 onwards).
_MS_DATES = 1e11


def _column(values: Any) -> list[Any]:
    """A trace array (a list or Plotly's typed-array dict) as a list; epoch-millisecond dates
    as ISO dates."""
    if isinstance(values, dict) and "bdata" in values:
        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        values = arr.reshape(values["shape"]) if "shape" in values else arr
    arr = np.asarray(values)
    if arr.dtype.kind == "f" and arr.size and np.nanmin(np.abs(arr)) > _MS_DATES:
        days = np.round(arr.astype("float64") / 86_400_000).astype("int64").astype("datetime64[D]")
        return [str(d)[:10] for d in days]
    return arr.tolist()


def trace_table(fig: dict[str, Any]) -> pd.DataFrame:
    """The data a person reads off a serialised figure: one row per point of each trace that
    has a hover text (bands and outlines, drawn with ``hoverinfo: skip``, are left out)."""
    frames = []
    for t in fig.get("data", []):
        if t.get("hoverinfo") == "skip":
            continue
        cols: dict[str, list[Any]] = {}
        for key, head in (("locations", "location"), ("text", "label"), ("x", "x"),
                          ("y", "y"), ("z", "value")):  # fmt: skip
            v = t.get(key)
            if v is not None and not isinstance(v, str):
                cols[head] = _column(v)
        if not cols:
            continue
        n = max(len(v) for v in cols.values())
        cols = {k: v for k, v in cols.items() if len(v) == n}
        frames.append(pd.DataFrame({"series": [t.get("name") or t.get("type", "")] * n, **cols}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def figure_csv(data: pd.DataFrame, units: str = "", source: str = "") -> str:
    """A figure's data as CSV text, the units and source as ``#`` comment lines first."""
    head = "".join(f"# {k}: {v}\n" for k, v in (("units", units), ("source", source)) if v)
    data = data.copy()
    for c in data.columns:
        if data[c].dtype.kind == "f":
            data[c] = [_num_text(v) for v in data[c].to_numpy(dtype=float)]
    return head + data.to_csv(index=False, lineterminator="\n")


def _num_text(v: float) -> str:
    """A value as written in a CSV a person reads: whole numbers from 100 up, else 4 digits."""
    if not np.isfinite(v):
        return ""
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.4g}"


FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"


@dataclass
class FigureSet:
    """Figures collected while a page is built; inlined once at the end.

    The layout template and GeoJSON collections are stored once and shared: a trace's
    ``geojson`` may be ``"@name"`` for the collection registered with :meth:`add_geo`.
    """

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    geo: dict[str, dict[str, Any]] = field(default_factory=dict)
    template: dict[str, Any] | None = None
    maps: set[str] = field(default_factory=set)
    csv: dict[str, str] = field(default_factory=dict)
    #: Build each figure's CSV download (the report); the explorer has its own downloads.
    tables: bool = True

    def add_geo(self, name: str, collection: dict[str, Any]) -> str:
        """Register a GeoJSON collection; returns the reference a trace's ``geojson`` takes."""
        self.geo[name] = collection
        return "@" + name

    def add(
        self,
        fid: str,
        fig: go.Figure,
        *,
        caption: str = "",
        is_map: bool = False,
        source: str = "",
        units: str = "",
        data: pd.DataFrame | None = None,
    ) -> str:
        """Store ``fig`` under ``fid``; returns the HTML ``<figure>`` that will show it
        (``caption`` is HTML, escaped by the caller; ``source`` and ``units`` are plain text,
        shown under the figure and written at the top of its CSV). ``data``: the figure's
        table for the CSV download (default: the points of its traces)."""
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
        if self.tables:
            table = data if data is not None else trace_table(d)
            self.csv[fid] = figure_csv(table, units, source)
        bits = [caption] if caption else []
        if units:
            bits.append(f'<span class="units">Units: {esc(units)}.</span>')
        if source:
            bits.append(f'<span class="src">Source: {esc(source)}.</span>')
        bits.append(
            f'<a class="dl" href="#{fid}" download="{fid}.csv" data-csv="{fid}">'
            "Download the data (CSV)</a>"
        )
        return (
            f'<figure class="fig"><div id="{fid}" class="plotly-graph-div fig-{kind}" '
            f'data-kind="{kind}"></div><figcaption>{" ".join(bits)}</figcaption></figure>'
        )

    def standalone(self, fid: str) -> dict[str, Any]:
        """Figure ``fid`` as a self-sufficient Plotly dict: the shared template and GeoJSON
        references put back (the stored figure is modified in place and returned)."""
        d = self.items[fid]
        layout = d.setdefault("layout", {})
        if "template" not in layout and self.template is not None:
            layout["template"] = self.template
        for t in d.get("data", []):
            g = t.get("geojson")
            if isinstance(g, str) and g.startswith("@"):
                t["geojson"] = self.geo[g[1:]]
        return d

    def payload(self) -> str:
        """Every figure as one JSON document safe inside ``<script type="application/json">``."""
        doc = {"template": self.template, "geo": self.geo, "figures": self.items, "csv": self.csv}
        return safe_json(json.dumps(doc, separators=(",", ":"), allow_nan=False))


@lru_cache(maxsize=4)
def _template_json(name: str) -> str:
    fig = go.Figure(layout={"template": name})
    return json.dumps(json.loads(pio.to_json(fig, validate=False))["layout"]["template"])


def _look(title: str, height: int, kw: dict[str, Any]) -> dict[str, Any]:
    kw.setdefault("margin", {"l": 60, "r": 20, "t": 60, "b": 90})
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "height": height,
        "font": {"family": FONT_FAMILY},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.1, "x": 0, "xanchor": "left"},
        **kw,
    }


def layout_style(title: str, *, height: int = 420, **kw: Any) -> dict[str, Any]:
    """:func:`style_layout`'s properties as a dict for a figure built as Plotly JSON (the white
    template as its JSON, a fresh copy each call)."""
    return {**_look(title, height, kw), "template": json.loads(_template_json("plotly_white"))}


def style_layout(fig: go.Figure, title: str, *, height: int = 420, **kw: Any) -> go.Figure:
    """The common look: left-aligned title, white template, system fonts, legend below."""
    fig.update_layout(template="plotly_white", **_look(title, height, kw))
    return fig
