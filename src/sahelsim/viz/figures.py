"""A collection of Plotly figures serialised once (shared template and GeoJSON), and the common
layout every figure gets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from sahelsim.viz.text import safe_json

__all__ = ["FONT_FAMILY", "FigureSet", "style_layout"]

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

    def add_geo(self, name: str, collection: dict[str, Any]) -> str:
        """Register a GeoJSON collection; returns the reference a trace's ``geojson`` takes."""
        self.geo[name] = collection
        return "@" + name

    def add(self, fid: str, fig: go.Figure, *, caption: str = "", is_map: bool = False) -> str:
        """Store ``fig`` under ``fid``; returns the HTML ``<figure>`` that will show it
        (``caption`` is HTML, escaped by the caller)."""
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
        doc = {"template": self.template, "geo": self.geo, "figures": self.items}
        return safe_json(json.dumps(doc, separators=(",", ":"), allow_nan=False))


def style_layout(fig: go.Figure, title: str, *, height: int = 420, **kw: Any) -> go.Figure:
    """The common look: left-aligned title, white template, system fonts, legend below."""
    kw.setdefault("margin", {"l": 60, "r": 20, "t": 60, "b": 90})
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        height=height,
        font={"family": FONT_FAMILY},
        legend={"orientation": "h", "yanchor": "top", "y": -0.1, "x": 0, "xanchor": "left"},
        **kw,
    )
    return fig
