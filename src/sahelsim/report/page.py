"""The report's page shell: the section headings, the style sheet, the figure renderer and the
assembly of one self-contained HTML file (Plotly's JavaScript inlined once, nothing fetched)."""

from __future__ import annotations

import plotly
import plotly.offline

from sahelsim.viz.figures import FigureSet
from sahelsim.viz.maps import GEO_STUB
from sahelsim.viz.text import esc

__all__ = ["SECTION_TITLES", "render_page"]

#: Section anchors and headings, in order (the tests look for every heading): the summary
#: first, a section per country, the details, the sources and provenance last (appendix).
SECTION_TITLES: dict[str, str] = {
    "summary": "Summary",
    "country_mli": "Mali",
    "country_bfa": "Burkina Faso",
    "country_ner": "Niger",
    "indicators": "Indicators",
    "claims": "Claims audit",
    "scenarios": "Scenario projections",
    "maps": "Maps",
    "skill": "Forecast skill",
    "present": "Filtered present",
    "validation": "Validation scorecard",
    "model": "Model card",
    "data": "Appendix: data sources and provenance",
}

CSS = """
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
.scroll { white-space: normal; }
td { overflow-wrap: anywhere; white-space: normal; }
.v-supported { background: #dff3e0; color: #14532d; font-weight: 600; }
.v-contradicted { background: #fbe0e0; color: #7f1d1d; font-weight: 600; }
.v-mixed { background: #fff1cc; color: #6b4a00; font-weight: 600; }
.v-model-ok { background: #e6f0fa; color: #0b3a66; font-weight: 600; }
.v-model-no { background: #f6e3f0; color: #6b1550; font-weight: 600; }
.v-model-mixed { background: #f3eedc; color: #5a4a12; font-weight: 600; }
.v-untestable, .v-other { background: #ececec; color: #444; }
td[class^="v-"] { overflow-wrap: normal; min-width: 7.5em; }
#summary { font-size: 16px; }
#summary h2 { border-top: none; margin-top: 18px; }
.keyfacts { background: #fbf6ef; border-left: 4px solid var(--accent); padding: 4px 16px;
  margin: 8px 0 12px; }
table.headline { font-size: 15px; }
table.headline td, table.headline th { padding: 6px 14px; }
.iv { color: var(--muted); font-size: 13px; white-space: nowrap; }
.note.fg { color: var(--fg); }
.keyfacts .cutoffs, .keyfacts .trust { font-size: 14px; }
ul.changes { margin-top: 0; font-size: 14px; }
figcaption .units, figcaption .src { display: inline; }
.met { background: #dff3e0; color: #14532d; font-weight: 600; padding: 0 4px; }
.miss { background: #fbe0e0; color: #7f1d1d; font-weight: 700; padding: 0 4px; }
ul.skill { margin-top: 0; }
h4 { margin: 18px 0 6px; font-size: 15px; }
a.dl { margin-left: 8px; font-size: 13px; white-space: nowrap; }
nav ol li { white-space: nowrap; }
@media print {
  nav, a.dl, .modebar, .updatemenu-container { display: none !important; }
  header, main, footer { max-width: none; padding: 0; }
  section { break-before: page; }
  section#summary { break-before: auto; }
  figure.fig, table, tr { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  th { position: static; }
  body { font-size: 11pt; }
  a { color: inherit; text-decoration: none; }
}
.pill { padding: 2px 8px; border-radius: 10px; margin-right: 6px; font-size: 13px; }
figure.fig { margin: 10px 0 26px; }
figcaption { color: var(--muted); font-size: 13px; }
.plotly-graph-div { width: 100%; min-height: 300px; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
footer { color: var(--muted); font-size: 13px; padding: 30px 24px; }
"""

RENDER_JS = """
(function () {
  "use strict";
  var node = document.getElementById("sahelsim-figures");
  var doc = JSON.parse(node.textContent);
  var figs = doc.figures, geo = doc.geo || {};
  var ids = Object.keys(figs);
  var done = 0;
  var csv = doc.csv || {};
  document.body.setAttribute("data-plots-total", String(ids.length));
  // each figure's data as a CSV file built in the page (works offline from file://)
  Array.prototype.forEach.call(document.querySelectorAll("a.dl[data-csv]"), function (a) {
    var text = csv[a.getAttribute("data-csv")];
    if (typeof text !== "string") { a.remove(); return; }
    a.href = URL.createObjectURL(new Blob([text], {type: "text/csv;charset=utf-8"}));
  });
  function config(id) {
    return {
      displaylogo: false, responsive: true,
      toImageButtonOptions: {format: "png", filename: id, scale: 2},
      modeBarButtonsToAdd: [{
        name: "Download as SVG", icon: Plotly.Icons.camera,
        click: function (gd) { Plotly.downloadImage(gd, {format: "svg", filename: id}); }
      }]
    };
  }
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
    Plotly.newPlot(el, f.data, layout, config(id)).then(function () {
      done += 1;
      document.body.setAttribute("data-plots-done", String(done));
    }, function (err) { console.error("figure " + id + " failed: " + err); });
  });
})();
"""


def render_page(title: str, meta_html: str, sections: dict[str, str], figs: FigureSet) -> str:
    """The whole HTML document: header with navigation, one ``<section>`` per entry of
    ``sections`` (anchor -> HTML, headings from :data:`SECTION_TITLES`), the figure data and
    the scripts that draw it."""
    plotly_js = plotly.offline.get_plotlyjs()
    if "</script" in plotly_js.lower():  # never true for released bundles; guards the inline
        raise RuntimeError("plotly.js contains '</script': cannot inline it safely")
    nav = "".join(f'<li><a href="#{k}">{esc(SECTION_TITLES[k])}</a></li>' for k in sections)
    body = "".join(
        f'<section id="{k}"><h2>{esc(SECTION_TITLES[k])}</h2>{v}</section>'
        for k, v in sections.items()
    )
    version = esc(plotly.__version__)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing may load from elsewhere, whatever a data string contains
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1>{meta_html}<nav><ol>{nav}</ol></nav></header>"
        f"<main>{body}</main>"
        "<footer>Generated by sahelsim (sahelsim.report). Single self-contained file: Plotly"
        f" {version} and every figure's data are inlined; it opens offline.</footer>"
        f'<script type="application/json" id="sahelsim-figures">{figs.payload()}</script>'
        f"<script>{GEO_STUB}</script>"
        f'<script type="text/javascript">/* plotly.js bundled with plotly {version} */\n'
        f"{plotly_js}</script>"
        f"<script>{RENDER_JS}</script>"
        "</body></html>\n"
    )
