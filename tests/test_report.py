"""The HTML report: one self-contained file that loads nothing, escapes what comes from data,
and renders every figure in a real (Debian) Chromium driven by Playwright."""

from __future__ import annotations

import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from browser import launch, sync_playwright_or_skip  # tools/, on sys.path via conftest

from sahelsim.report.build import REPORT_FILE, SECTION_TITLES, SUMMARY_FILE, build_report

pytest.importorskip("plotly", reason="plotly is needed for the report")

EVIL = "<script>alert(1)</script>"
SCENARIOS = ["acceleration", "accommodation"]
REMOTE = re.compile(r"^\s*(https?:|//|ftp:)", re.I)


class _Tags(HTMLParser):
    """Start tags with their attributes; script/style bodies are CDATA and not parsed as tags,
    so strings inside plotly.js do not count."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.script_sizes: list[int] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self.scripts.append(a)
            self.script_sizes.append(0)
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_sizes[-1] += len(data)


def _evil_store(store, shared_data: Path) -> None:
    """Ingest the staged data and add a ledger row and a quarantine row carrying EVIL."""
    from sahelsim.evidence.ingest import ingest_all

    ingest_all(shared_data, store)
    store.con.execute(
        "INSERT INTO sources VALUES (999, ?, ?, ?, ?, ?, ?, 3, 2, 1, 0, 0, 2, now(), 0.0, FALSE, 0)",
        [EVIL, f"/nowhere/{EVIL}.csv", "ab" * 32, EVIL, EVIL, EVIL],
    )
    store.con.execute(
        "INSERT INTO quarantine VALUES (999, ?, ?, 2, 'value', ?, ?)", [EVIL, EVIL, EVIL, EVIL]
    )


def _backtest_csvs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = ["model", "zero", "last_value", "conflictology", "negbin", EVIL]
    overall = pd.DataFrame({
        "forecaster": names, "n": 60, "crps": [310.0, 520.0, 300.0, 290.0, 305.0, 999.0],
        "ignorance": 3.0, "is50": 800.0, "is90": 1500.0, "coverage50": 0.5, "coverage90": 0.88,
    })  # fmt: skip
    overall.to_csv(folder / "overall.csv", index=False)
    rows = [{"forecaster": f, "iso3": c, "target": t, "n": 4, "crps": 100.0 + i}
            for i, f in enumerate(names[:5]) for c in ("MLI", "BFA", "NER")
            for t in ("sb", "ns", "os")]  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "scores.csv", index=False)
    pd.DataFrame([{"forecaster": f, "horizon": h, "n": 30, "crps": 300.0 + 10 * h + i}
                  for i, f in enumerate(names) for h in (1, 2)]).to_csv(
        folder / "by_horizon.csv", index=False)  # fmt: skip
    pd.DataFrame([{"model_crps": 310.0, "best_baseline": "conflictology",
                   "best_baseline_crps": 290.0, "ratio": 1.07, "aim_ratio": 0.85,
                   "meets_crps_aim": False, "model_coverage90": 0.88,
                   "meets_coverage_aim": True}]).to_csv(folder / "verdict.csv", index=False)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def report(shared_data, tmp_path_factory):
    """A small report (8 members, two scenarios) from the staged data with EVIL injected in the
    ledger, the quarantine, the claims table and the backtest table."""
    from sahelsim.claims.audit import audit
    from sahelsim.data.store.store import Store

    tmp = tmp_path_factory.mktemp("report")
    calls: list[tuple[str, int, int]] = []
    (tmp / "out").mkdir()
    shutil.copytree(Path(__file__).parent / "fixtures" / "report_skill" / "present",
                    tmp / "out" / "assimilate")  # fmt: skip
    (tmp / "out" / "validate.json").write_text(json.dumps({"patterns": [
        {"pattern": "deaths peak after 2019", "unit": "deaths", "target": 1, "median": 1,
         "q05": 0, "q95": 2, "status": "pass"},
        {"pattern": EVIL, "unit": "people", "status": "fail"},
        {"pattern": "no status value"}]}), encoding="utf-8")  # fmt: skip
    with Store(tmp / "s.duckdb") as st:
        _evil_store(st, shared_data)
        claims = audit(st, model=False)
        claims.loc[0, "figure"] = EVIL
        claims.loc[1, "claim"] = EVIL
        claims.loc[2, "verdict"] = EVIL  # an unknown verdict must not reach a class attribute
        path = build_report(
            st,
            data_dir=shared_data,
            out=tmp / "out",
            members=8,
            seed=0,
            scenarios=SCENARIOS,
            backtest_dir=_backtest_csvs(tmp / "bt"),
            claims=claims,
            progress=lambda label, done, total: calls.append((label, done, total)),
        )
    return path, calls


def _figures(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="sahelsim-figures">(.*?)</script>',
                  text, re.S)  # fmt: skip
    assert m, "figure data block missing"
    return json.loads(m.group(1))


# -- the file ------------------------------------------------------------------------------


def test_report_is_one_self_contained_file(report):
    import plotly
    import plotly.offline

    path, calls = report
    assert path.name == REPORT_FILE
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == sorted([REPORT_FILE, SUMMARY_FILE, "validate.json", "assimilate"]), (
        "one page + summary"
    )
    size = path.stat().st_size
    assert 4_000_000 < size < 8_000_000, f"report is {size / 1e6:.1f} MB"
    text = path.read_text(encoding="utf-8")

    tags = _Tags()
    tags.feed(text)
    tags.close()
    # nothing is loaded from elsewhere: no src/href/srcset/... pointing off the file
    for tag, attrs in tags.tags:
        for name, value in attrs.items():
            if name in ("src", "href", "srcset", "action", "poster", "data", "background"):
                assert value is None or not REMOTE.match(value), f"<{tag} {name}={value!r}>"
            if name == "href" and tag == "a":
                assert value is not None and value.startswith("#"), f"link {value!r}"
    assert not [a for a in tags.scripts if "src" in a], "a <script src=...> loads code"
    assert not [t for t, _ in tags.tags if t in ("link", "img", "iframe", "object", "embed")]
    style = " ".join(re.findall(r"<style>(.*?)</style>", text, re.S))
    assert "@import" not in style and "@font-face" not in style and "url(" not in style
    # Plotly inlined exactly once, after the geo stub
    js = plotly.offline.get_plotlyjs()
    assert text.count(js[:2000]) == 1 and text.count(js[-2000:]) == 1
    assert sum(n > 3_000_000 for n in tags.script_sizes) == 1  # plotly.js (the data is smaller)
    assert text.index("window.PlotlyGeoAssets") < text.index(js[:2000])
    assert f"plotly.js bundled with plotly {plotly.__version__}" in text
    # every section, in order: the summary first, the data appendix last
    where = []
    for key, title in SECTION_TITLES.items():
        tag = f'<section id="{key}"><h2>{html.escape(title)}</h2>'
        assert tag in text, title
        where.append(text.index(tag))
    assert where == sorted(where) and next(iter(SECTION_TITLES)) == "summary"
    assert list(SECTION_TITLES)[-1] == "data"
    # progress: monotone, ends at total
    dones = [d for _, d, _ in calls]
    assert dones == sorted(dones) and calls[-1][1] == calls[-1][2]
    assert any(label.startswith("scenario ") for label, _, _ in calls)


def test_data_strings_are_escaped(report):
    path, _ = report
    text = path.read_text(encoding="utf-8")
    assert EVIL not in text, "a data string reached the page unescaped"
    assert "<script>alert" not in text.lower()
    esc = html.escape(EVIL)
    # ledger (source, version, license), quarantine reason, claims figure and claim, backtest
    assert text.count(esc) >= 6
    # the JSON block escapes '<' (plotly text is HTML-escaped first)
    block = re.search(r'id="sahelsim-figures">(.*?)</script>', text, re.S).group(1)
    assert "</" not in block and "<" not in block
    assert "\\u0026lt;script\\u0026gt;alert(1)" in block  # the backtest forecaster label
    # an unknown verdict gets a fixed class, never the data string
    assert 'class="v-other"' in text


def test_figures_and_sections_content(report):
    path, _ = report
    text = path.read_text(encoding="utf-8")
    doc = _figures(text)
    figs = doc["figures"]
    divs = re.findall(r'<div id="([a-z0-9_]+)" class="plotly-graph-div', text)
    assert sorted(divs) == sorted(figs)
    expected = {"ind_deaths", "ind_civilians", "ind_idps", "ind_timeline", "fan_deaths",
                "fan_civilians", "fan_territory", "fan_idps", "map_violence", "map_control",
                "map_admin1", "skill_cy_horizon", "skill_cm_horizon", "present_ess", "map_mli", "map_bfa", "map_ner",
                "country_mli_deaths", "country_bfa_idps"}  # fmt: skip
    assert expected <= set(figs)
    # maps: inline GeoJSON, clockwise polygons, no visible base map
    assert set(doc["geo"]) == {"cells", "admin1"}
    for fid in ("map_violence", "map_control", "map_admin1", "map_mli"):
        layout = figs[fid]["layout"]
        assert layout["geo"]["visible"] is False and layout["geo"]["fitbounds"] == "locations"
        assert figs[fid]["data"][0]["type"] == "choropleth"
        assert figs[fid]["data"][0]["geojson"] in ("@cells", "@admin1")
    from shapely.geometry import shape

    for name, fc in doc["geo"].items():
        assert fc["features"], name
        for f in fc["features"]:
            g = shape(f["geometry"])
            for poly in getattr(g, "geoms", [g]):
                assert not poly.exterior.is_ccw, f"{name} {f['id']} is counter-clockwise"
    # fan charts: one subplot per scenario, projection start marked, region menu that also
    # rescales the y axis
    fan = figs["fan_deaths"]
    buttons = fan["layout"]["updatemenus"][0]["buttons"]
    assert len(buttons) == 4 and all(b["method"] == "update" for b in buttons)
    assert [b["label"] for b in buttons][1:] == ["Mali", "Burkina Faso", "Niger"]
    assert all(b["args"][1]["yaxis.range"][1] > 0 for b in buttons)
    assert any(s.get("type") == "line" for s in fan["layout"]["shapes"])
    assert "projection" in text
    # forecast skill (cy from the run's folder, cm from the shipped copy), the filtered
    # present and the model card
    skill = _section(text, "skill")
    assert "conflictology" in skill and "not measured" not in skill
    assert "(this run&#x27;s output folder)" in skill or "(this run's output folder)" in skill
    assert "not re-run for this report" in skill
    present = _section(text, "present")
    assert "Check at 2024-12" in present and "7 of 9</strong> inside the filtered" in present
    assert "Known limitations" in text and "Mechanisms" in text
    assert "uncalibrated priors" in text or "posterior median" in text
    for mech in ("combat", "civilian_harm", "displacement", "regime"):
        assert f"<td>{mech}</td>" in text


def _colours(fig: dict) -> dict[str, str]:
    """Legend name -> colour of a figure's bar and line traces."""
    out = {}
    for t in fig["data"]:
        colour = (t.get("marker") or {}).get("color") if t["type"] == "bar" else None
        colour = colour or (t.get("line") or {}).get("color")
        if t.get("name") and isinstance(colour, str):
            out[t["name"]] = colour
    return out


def test_one_palette_for_every_figure(report):
    """A violence type or perpetrator has the same (Okabe-Ito) colour in every figure: observed
    bars and simulated fan charts alike."""
    from sahelsim.viz.palette import (
        OKABE_ITO,
        PERPETRATOR_COLOURS,
        VARIABLE_COLOURS,
        VIOLENCE_COLOURS,
    )

    path, _ = report
    figs = _figures(path.read_text(encoding="utf-8"))["figures"]
    deaths = _colours(figs["ind_deaths"])
    assert deaths["state-based"] == VIOLENCE_COLOURS["state_based"]
    assert deaths["non-state"] == VIOLENCE_COLOURS["non_state"]
    assert deaths["one-sided (civilians)"] == VIOLENCE_COLOURS["one_sided"]
    civ = _colours(figs["ind_civilians"])
    fan = _colours(figs["fan_civilians"])
    assert civ["by government forces"] == fan["state side: median"]
    assert civ["by government forces"] == PERPETRATOR_COLOURS["state_side"]
    assert civ["by non-state groups"] == PERPETRATOR_COLOURS["non_state"]
    assert fan["JNIM: median"] == PERPETRATOR_COLOURS["jnim"]
    assert fan["IS Sahel: median"] == PERPETRATOR_COLOURS["issp"]
    assert _colours(figs["fan_deaths"])["fatalities: median"] == VARIABLE_COLOURS["deaths_total"]
    palette = {c.lower() for c in OKABE_ITO.values()}
    for fid in ("ind_deaths", "ind_civilians", "ind_idps", "fan_deaths", "fan_civilians"):
        for name, colour in _colours(figs[fid]).items():
            assert colour.lower() in palette, (fid, name, colour)


def _limitation_section(text: str) -> str:
    m = re.search(r"^## Known limitations\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, "docs/model.md has no Known limitations section"
    return m.group(1)


def test_limitations_resource_matches_docs(report):
    """The model card's limitations come from the package resource (the report reads nothing
    from the source tree), and that resource says what docs/model.md says."""
    from sahelsim.report.sections.model import limitation_items

    docs = Path(__file__).resolve().parents[1] / "docs" / "model.md"
    expected = limitation_items(_limitation_section(docs.read_text(encoding="utf-8")))
    shipped = limitation_items()
    assert expected and shipped == expected, "update src/sahelsim/resources/limitations.md"
    path, _ = report
    text = path.read_text(encoding="utf-8")
    card = text.split("<h3>Known limitations</h3>", 1)[1]
    assert card.startswith("<ul><li>") and card.count("<li>") >= len(shipped)
    assert "<strong>Calibration is coarse</strong>" in card


def test_report_without_data_or_backtest(tmp_path, store):
    """An empty store and no data directory: every section still there, with notes."""
    claims = pd.DataFrame([{"id": "c99_x", "claim": EVIL, "section": "s", "verdict": "mixed",
                            "figure": "f", "source": "s", "definitions": "d",
                            "why_sources_differ": "w", "evidence": "data", "interval": ""}])  # fmt: skip
    path = build_report(store, data_dir=None, out=tmp_path / "o", members=3,
                        scenarios=["acceleration"], claims=claims)  # fmt: skip
    text = path.read_text(encoding="utf-8")
    for title in SECTION_TITLES.values():
        assert f"<h2>{html.escape(title)}</h2>" in text
    # no backtest folder in the output: both levels fall back to the shipped measured copy
    assert "not re-run for this report" in text and "Indicators not available" in text
    assert "not re-run for this report" in text  # the shipped country-month copy
    assert "Filtered present: not run" in text
    assert "synthetic grid" in text and EVIL not in text and html.escape(EVIL) in text
    with pytest.raises(ValueError, match="members"):
        build_report(store, data_dir=None, out=tmp_path / "p", members=1, claims=claims)


# -- a real browser --------------------------------------------------------------------------


def _image_stats(png: bytes) -> tuple[int, float, float]:
    """(distinct colours, share of non-white pixels, share of saturated pixels)."""
    import io

    import numpy as np
    from PIL import Image

    im = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    px = im.reshape(-1, 3)
    colours = len(np.unique(px[:, 0] * 65536 + px[:, 1] * 256 + px[:, 2]))
    nonwhite = float(np.mean(px.min(axis=1) < 245))
    saturated = float(np.mean(px.max(axis=1) - px.min(axis=1) > 40))
    return colours, nonwhite, saturated


def test_report_renders_in_chromium(report, tmp_path):
    sync_playwright = sync_playwright_or_skip()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    path, _ = report
    errors: list[str] = []
    blocked: list[str] = []
    dialogs: list[str] = []

    def route(r):
        if r.request.url.startswith(("file://", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    def console(msg):
        if msg.type == "error":
            errors.append(f"console: {msg.text}")

    def dialog(d):
        dialogs.append(d.message)
        d.dismiss()

    with sync_playwright() as pw:
        ctx = launch(pw, tmp_path / "profile", 1300, 900, accept_downloads=True)
        try:
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.on("console", console)
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("dialog", dialog)
            page.goto(path.as_uri(), wait_until="load")
            try:
                page.wait_for_function(
                    "document.body.dataset.plotsTotal !== undefined &&"
                    " document.body.dataset.plotsDone === document.body.dataset.plotsTotal",
                    timeout=90_000,
                )
            except PlaywrightTimeout:
                pytest.fail(f"not every figure rendered; errors: {errors[:5]}, blocked: {blocked}")
            total = int(page.evaluate("document.body.dataset.plotsTotal"))
            divs = page.query_selector_all(".plotly-graph-div")
            assert len(divs) == total >= 12
            for div in divs:
                fid = div.get_attribute("id")
                kind = div.get_attribute("data-kind")
                assert div.eval_on_selector_all(".main-svg", "e => e.length") >= 1, fid
                if kind == "map":
                    n = div.eval_on_selector_all("path.choroplethlocation", "e => e.length")
                    assert n > 50, f"{fid}: {n} choropleth paths"
                else:
                    n = div.eval_on_selector_all(
                        ".scatterlayer .trace, .barlayer .trace", "e => e.length"
                    )
                    assert n > 0, f"{fid}: no traces drawn"
                colours, nonwhite, saturated = _image_stats(div.screenshot())
                assert colours > 30 and nonwhite > 0.01, f"{fid} looks blank"
                assert saturated > 0.005, f"{fid} has no coloured marks"
                if kind == "map":  # a counter-clockwise polygon floods the whole frame
                    assert nonwhite < 0.8, f"{fid}: map floods the frame ({nonwhite:.0%})"
            # the region menu of a fan chart switches traces and keeps a legend
            shown = page.evaluate(
                """() => {
                  const el = document.getElementById('fan_deaths');
                  const b = el.layout.updatemenus[0].buttons[1];
                  return Plotly.restyle(el, b.args[0]).then(() => [
                    el.data.filter(t => t.visible === true).length,
                    el.querySelectorAll('.legend .traces').length]);
                }"""
            )
            assert shown[0] > 0 and shown[1] > 0, shown
            # the injected string shows as text and runs nothing
            assert EVIL in page.inner_text("#data")
            assert EVIL in page.inner_text("#claims")
            # the first screen is the summary with the headline numbers
            page.evaluate("window.scrollTo(0, 0)")
            first = page.evaluate(
                "() => { const r = document.querySelector('#summary table.headline')"
                ".getBoundingClientRect(); return [r.top, r.bottom]; }"
            )
            assert first[0] > 0 and first[1] < 900, (
                f"headline table not on the first screen: {first}"
            )
            assert "Mali" in page.inner_text("#summary table.headline")
            # the country map draws the capital's label
            labels = page.eval_on_selector_all(
                "#map_mli text", "els => els.map(e => e.textContent)"
            )
            assert "Bamako" in labels and "MALI" in labels, labels[:20]
            # a figure's CSV download works offline (a blob built in the page)
            with page.expect_download() as dl:
                page.click('a.dl[data-csv="ind_deaths"]')
            got = Path(dl.value.path()).read_text(encoding="utf-8")
            assert dl.value.suggested_filename == "ind_deaths.csv"
            assert got.startswith("# units: deaths per year") and "Burkina Faso" in got
            # PNG and SVG export in every figure's toolbar
            page.hover("#fan_deaths")
            assert (
                page.locator('#fan_deaths .modebar-btn[data-title="Download as SVG"]').count() == 1
            )
            page.screenshot(path=str(tmp_path / "report_full.png"), full_page=True)
        finally:
            ctx.close()
    assert not dialogs, f"a data string ran as script: {dialogs}"
    assert not blocked, f"the report tried to load {blocked[:5]}"
    assert not errors, errors


# -- summary, countries, readable figures -----------------------------------------------------


def _section(text: str, key: str) -> str:
    m = re.search(rf'<section id="{key}">(.*?)</section>', text, re.S)
    assert m, f"no section {key}"
    return m.group(1)


def test_summary_first_with_headline_numbers(report):
    path, _ = report
    text = path.read_text(encoding="utf-8")
    main = text.split("<main>", 1)[1]
    assert main.startswith('<section id="summary">'), "the summary is the first section"
    summ = _section(text, "summary")
    assert "Observed data end in 2024" in summ and "projections start in 2025-01" in summ
    # the fixture's assimilate folder has no state.npz: a free run, said plainly, and why
    assert "from <strong>a free run from 2012-01</strong>" in summ
    assert "not conditioned on the latest data" in summ and "no filtered ensemble in" in summ
    assert "How far to trust it" in summ and "Calibration is coarse" in summ
    # the data cut-off per source, in plain names
    assert (
        "UCDP country-year deaths to 2024" in summ and "UNHCR refugees and IDPs to 2024-12" in summ
    )
    # headline: each country with a median and a 90 % interval
    for name in ("Mali", "Burkina Faso", "Niger"):
        assert re.search(rf"<td>{name}</td><td><strong>[\d,]+</strong> <span class=\"iv\">"
                         r"\([\d,]+ to [\d,]+\)</span>", summ), name  # fmt: skip
    assert "deaths in 2025" in summ and "end of 2025" in summ
    # claims: counts and three claims; validation: 1 of 3 pass, the bad name escaped
    assert summ.count('class="v-') >= 4 and summ.count("<li><span") == 3
    assert "Validation scorecard: 1 of 3 patterns pass" in summ and html.escape(EVIL) in summ
    assert "Forecast skill" in summ and "conflictology" in summ
    # both levels, each goal met or NOT met in words, and the filtered present's last check
    assert "<strong>Country-month</strong> (measured on " in summ and "NOT met" in summ
    assert "<strong>Country-year</strong> (this run, " in summ
    assert "7 of 9</strong> inside the filtered" in summ
    assert summ.index("Forecast skill") < summ.index("Claims of the article")
    assert "First report in this folder" in summ
    rec = json.loads((path.parent / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert rec["projection_start"] == "free run from 2012-01"
    assert rec["projection_start_kind"] == "free" and rec["first_projected_month"] == "2025-01"
    assert rec["data_last"]["ucdp_country_year"] == "2024"
    assert {r["region"] for r in rec["headline"]} == {"MLI", "BFA", "NER", "AES"}
    assert rec["skill"]["cm"]["source"] == "shipped" and rec["skill"]["cy"]["source"] == "run"
    assert rec["skill"]["cy"]["best_baseline"] == "conflictology"
    assert rec["present"]["checks"]["deaths"] == {"n": 9, "predictive": 8, "filtered": 7}
    assert all(r["deaths_q05"] <= r["deaths_median"] <= r["deaths_q95"] for r in rec["headline"])
    # the sources ledger sits in the appendix, not before the summary
    assert text.index("<h3>Sources ledger</h3>") > text.index('<section id="model">')


def test_what_changed_since_the_previous_report(tmp_path, store):
    from sahelsim.report.sections.summary import SUMMARY_FILE as F

    claims = pd.DataFrame([{"id": "c1", "claim": "x", "section": "s", "verdict": "supported",
                            "evidence": "data"}])  # fmt: skip
    out = tmp_path / "o"
    out.mkdir()
    prev = {"generated": "2020-01-01T00:00:00Z", "scenario": "acceleration",
            "data_last": {}, "headline": [{"region": "MLI", "country": "Mali",
                                           "deaths_median": 1.0, "idps_median": 2.0}]}  # fmt: skip
    (out / F).write_text(json.dumps(prev), encoding="utf-8")
    path = build_report(store, data_dir=None, out=out, members=3, scenarios=["acceleration"],
                        claims=claims)  # fmt: skip
    summ = _section(path.read_text(encoding="utf-8"), "summary")
    assert "Since the previous report (2020-01-01T00:00:00Z)" in summ
    assert re.search(r"Mali deaths: 1 → [\d,]+", summ), summ
    assert json.loads((out / F).read_text(encoding="utf-8"))["generated"] != prev["generated"]


def test_country_sections_watchlist_and_names(report):
    path, _ = report
    text = path.read_text(encoding="utf-8")
    for key, name in (("country_mli", "Mali"), ("country_bfa", "Burkina Faso"),
                      ("country_ner", "Niger")):  # fmt: skip
        sec = _section(text, key)
        assert f"{key}_deaths" in sec and f"{key}_idps" in sec and f"map_{key[-3:]}" in sec
        assert "Watchlist: admin-1 units by projected deaths" in sec
        rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([\d,]+) \(([\d,]+) to ([\d,]+)\)",
                          sec)  # fmt: skip
        assert len(rows) >= 3, name
        assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
        meds = [float(r[2].replace(",", "")) for r in rows]
        assert meds == sorted(meds, reverse=True), "ranked by projected deaths"
    doc = _figures(text)
    # the country fan has no menu, observed points up to 2024, the map labels the capital
    fan = doc["figures"]["country_mli_deaths"]
    assert "updatemenus" not in fan["layout"]
    csv = doc["csv"]["country_mli_deaths"]
    assert csv.startswith("# units: ") and "\n# source: " in csv
    assert ",observed,Mali," not in csv and "observed,Mali,UCDP deaths,2024," in csv
    texts = [t.get("text") for t in doc["figures"]["map_mli"]["data"] if t["type"] == "scattergeo"]
    assert any("Bamako" in (t or []) for t in texts) and any("MALI" in (t or []) for t in texts)
    # the backtest table says countries and violence types in words
    bt = _section(text, "skill")
    assert "<td>Burkina Faso</td><td>one-sided (civilians)</td>" in bt and "<td>os</td>" not in bt


def test_figures_are_readable(report):
    """Units, source and a CSV for every figure; log colour scales ticked 1, 10, 100, 1 k; fan
    axes set by the central quantiles."""
    path, _ = report
    text = path.read_text(encoding="utf-8")
    doc = _figures(text)
    for fid in doc["figures"]:
        cap = re.search(rf'<div id="{fid}" .*?</div><figcaption>(.*?)</figcaption>', text, re.S)
        assert cap, fid
        assert "Source: " in cap.group(1) and "Units: " in cap.group(1), fid
        assert f'data-csv="{fid}"' in cap.group(1), fid
        assert len(doc["csv"][fid].splitlines()) > 2, fid
    cb = doc["figures"]["map_violence"]["data"][0]["colorbar"]
    assert cb["ticktext"][:4] == ["0", "1", "10", "100"]
    assert all(t in ("0", "1", "10", "100") or t.endswith((" k", " M")) for t in cb["ticktext"])
    # the IDP fan's axis ends near the upper quartile, below the extreme members
    lay = doc["figures"]["fan_idps"]["layout"]
    top = lay["yaxis"]["range"][1]
    assert 0 < top < 20e6
    # print-friendly, wrapping cells
    css = re.search(r"<style>(.*?)</style>", text, re.S).group(1)
    assert "@media print" in css and "max-height: 7.5em" not in css
    for cls in ("v-model-ok", "v-model-no", "v-model-mixed"):
        assert f".{cls}" in css


def test_verdict_classes_cover_every_verdict():
    from sahelsim.claims.verdicts import VERDICTS
    from sahelsim.report.sections.claims import VERDICT_CLASS, verdict_class

    assert set(VERDICTS) <= set(VERDICT_CLASS)
    assert verdict_class(EVIL) == "v-other"


def test_validation_file_read_defensively(tmp_path):
    from sahelsim.report.sections.summary import load_validation

    assert load_validation(tmp_path) is None
    (tmp_path / "validate.json").write_text("{not json", encoding="utf-8")
    assert load_validation(tmp_path) is None
    (tmp_path / "validate.json").write_text('{"rows": [{"pattern": "p"}]}', encoding="utf-8")
    assert load_validation(tmp_path) is None  # no status column
    (tmp_path / "validate.json").write_text('[{"status": "pass"}]', encoding="utf-8")
    df = load_validation(tmp_path)
    assert df is not None and list(df["pattern"]) == ["pattern 1"]


def test_forecasts_in_the_summary_use_names(tmp_path):
    import numpy as np

    from sahelsim.forecast.views_io import to_views, write_views_parquet
    from sahelsim.report.sections.summary import load_forecasts

    assert load_forecasts(tmp_path) is None
    (tmp_path / "forecast").mkdir()
    draws = {("MLI", 2025): np.arange(100.0), ("NER", 2025): np.full(100, 7.0)}
    frame = to_views(draws, unit="country_id", period="year", outcome_name="outcome")
    write_views_parquet(frame, tmp_path / "forecast" / "forecast_ged_os_country_year.parquet")
    fc = load_forecasts(tmp_path)
    assert set(fc["country"]) == {"Mali", "Niger"} and set(fc["type"]) == {"one-sided (civilians)"}
    mali = fc[fc["country"] == "Mali"].iloc[0]
    assert mali["median"] == pytest.approx(49.5) and mali["q05"] < mali["median"] < mali["q95"]


def test_validation_section_shows_every_pattern_escaped():
    import pandas as pd

    from sahelsim.report.sections.validation import section_validation

    df = pd.DataFrame([
        {"pattern": "P5", "title": "territory", "unit_name": "Burkina Faso", "display": "percent",
         "target": "30–55 %", "median": 0.998, "q05": 0.93, "q95": 1.0, "status": "fail",
         "note": EVIL},
        {"pattern": "P7", "title": "heavy tail", "unit_name": "three states", "display": "number",
         "target": "1–4 a year", "median": 2.4, "q05": 0.5, "q95": 8.7, "status": "pass",
         "note": ""},
    ])  # fmt: skip
    text = section_validation(df)
    assert "1 fail, 1 pass" in text or "1 pass, 1 fail" in text
    assert "100 % (93 % to 100 %)" in text and "2.4 (0.5 to 8.7)" in text
    assert EVIL not in text and html.escape(EVIL) in text
    assert "sahelsim validate" in section_validation(None)


def test_country_section_and_print_layout_in_chromium(report, tmp_path):
    """A country section as a reader sees it in Chromium: its fan charts draw the observed
    markers, its map labels the capital, the watchlist wraps (no cell clips its text); printed
    (print media), no table or figure is cut at the page's right edge and the toolbar and
    download links are gone."""
    sync_playwright = sync_playwright_or_skip()
    path, _ = report
    with sync_playwright() as pw:
        ctx = launch(pw, tmp_path / "profile", 1100, 900)
        try:
            page = ctx.new_page()
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function(
                "document.body.dataset.plotsTotal !== undefined &&"
                " document.body.dataset.plotsDone === document.body.dataset.plotsTotal",
                timeout=120_000,
            )
            page.evaluate("document.getElementById('country_bfa').scrollIntoView()")
            sec = page.locator("#country_bfa")
            assert "Burkina Faso" in sec.locator("h2").first.inner_text()
            # observed markers drawn on the deaths fan (one point per observed year)
            pts = page.eval_on_selector_all(
                "#country_bfa_deaths .scatterlayer .trace .points path", "e => e.length"
            )
            assert pts >= 10, pts
            labels = page.eval_on_selector_all(
                "#map_bfa text", "els => els.map(e => e.textContent)"
            )
            assert "Ouagadougou" in labels, labels[:20]
            rows = sec.locator("table.watchlist tbody tr")
            assert rows.count() >= 3
            clipped = page.evaluate(
                """() => [...document.querySelectorAll('#country_bfa table.watchlist td')]
                     .filter(td => td.scrollWidth > td.clientWidth + 1).length"""
            )
            assert clipped == 0, f"{clipped} watchlist cells clip their text"
            sec.screenshot(path=str(tmp_path / "country_bfa.png"))
            page.emulate_media(media="print")
            hidden = page.evaluate(
                """() => [...document.querySelectorAll('a.dl, nav')]
                     .every(e => getComputedStyle(e).display === 'none')"""
            )
            assert hidden, "download links or navigation still shown in print"
            width = page.evaluate("document.documentElement.clientWidth")
            wide = page.evaluate(
                """(w) => [...document.querySelectorAll('table, figure.fig')]
                     .filter(e => e.getBoundingClientRect().right > w + 2).map(e => e.id ||
                     e.className)""",
                width,
            )
            assert wide == [], f"cut at the right edge in print: {wide[:5]}"
            cut = page.evaluate(
                """() => [...document.querySelectorAll('td, th')]
                     .filter(c => getComputedStyle(c).overflow === 'hidden' &&
                                  c.scrollHeight > c.clientHeight + 1).length"""
            )
            assert cut == 0, f"{cut} table cells lose text in print"
        finally:
            ctx.close()
