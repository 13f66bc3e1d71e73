"""The scenario explorer: request validation and the run cache (no server), the Streamlit page
headless (AppTest), a real Chromium session against a served app, and a bounded load test.

Everything runs on the synthetic grid with small ensembles (20 members, 24 projection months).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from browser import free_port, launch, sync_playwright_or_skip  # tools/ (conftest)

from sahelsim.app import core
from sahelsim.claims.audit import VERDICTS
from sahelsim.scenarios.run import OUTCOMES, PROJECTION_START, parse_month
from sahelsim.scenarios.scenario import ScenarioError, load_scenario
from sahelsim.viz.palette import PERPETRATOR_COLOURS

SMALL = {"members": 20, "months": 24}


@pytest.fixture(autouse=True, scope="module")
def _synthetic_grid(tmp_path_factory):
    """Every run of this module uses the synthetic grid, no cached claims file and a fresh
    cache folder for the present states."""
    old = {k: os.environ.get(k) for k in (core.ENV_GRID, core.ENV_CLAIMS, "SAHELSIM_APP_CACHE")}
    os.environ[core.ENV_GRID] = "synthetic"
    os.environ[core.ENV_CLAIMS] = "/nonexistent/claims_audit.csv"
    os.environ["SAHELSIM_APP_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    core.set_provider(None)
    yield
    core.set_provider(None)
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# -- core: validation, levers, cache ------------------------------------------------------------


def test_request_is_canonical():
    a = core.make_request("accommodation", {"restraint": 0.1 + 0.2, "inclusion": 1}, **SMALL)
    b = core.make_request("accommodation", {"inclusion": 1.0, "restraint": 0.3}, **SMALL)
    assert a == b and hash(a) == hash(b)
    assert a.levers == (("inclusion", None, 1.0), ("restraint", None, 0.3))
    c = core.make_request("accommodation", {"restraint": 0.3}, members="20", months=24.0)
    assert c.members == 20 and c.months == 24
    assert core.make_request("coup") != core.make_request("coup", seed=1)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"levers": {"restraint": 2}}, "restraint"),
        ({"levers": {"restraint": "lots"}}, "needs a number"),
        ({"levers": {"no_such_lever": 1}}, "unknown lever"),
        ({"levers": {"joint_force": {"MLI": 100}}}, "alliance"),
        ({"members": 1}, "members"),
        ({"members": "many"}, "whole number"),
        ({"months": 500}, "horizon"),
        ({"seed": -1}, "seed"),
        ({"effective": "2024-13"}, "effective month"),
        ({"effective": "2040-01"}, "effective month"),
    ],
)
def test_bad_input_is_a_clear_message(kwargs, needle):
    levers = kwargs.pop("levers", None)
    with pytest.raises(core.InputError) as info:
        core.make_request("acceleration", levers, **kwargs)
    assert needle in str(info.value)
    if needle == "restraint":  # the library's message: range and unit
        assert "0..1" in str(info.value) and "unit" in str(info.value)


def test_unknown_scenario_and_lever_text():
    with pytest.raises(core.InputError, match="no shipped scenario"):
        core.make_request("utopia")
    assert core.parse_lever_text("restraint = 0.5\nrussia_personnel = { MLI = 3000 }") == {
        "restraint": 0.5,
        "russia_personnel": {"MLI": 3000},
    }
    assert core.parse_lever_text("  \n") == {}
    with pytest.raises(core.InputError, match="not valid TOML"):
        core.parse_lever_text("restraint = = 2")


def test_lever_holds_from_the_effective_month():
    """An override is not undone by the scenario's own later change of the lever."""
    sc = load_scenario("accommodation")  # negotiation_propensity ramps to 0.3 from 2025-06
    new = core.apply_levers(sc, {"negotiation_propensity": 0.5}, "2025-01")
    s = new.lever_series(PROJECTION_START, 36)["negotiation_propensity"]
    assert np.allclose(s, 0.5)
    before = new.lever_series(PROJECTION_START - 12, 12)["negotiation_propensity"]
    assert np.allclose(before, sc.lever_series(PROJECTION_START - 12, 12)["negotiation_propensity"])
    # one country only: the others keep the scenario's ramp
    sc = load_scenario("consolidation")
    new = core.apply_levers(sc, {"russia_personnel": {"MLI": 100.0}}, "2025-01")
    got = new.lever_series(PROJECTION_START, 36)["russia_personnel"]
    ref = sc.lever_series(PROJECTION_START, 36)["russia_personnel"]
    assert np.allclose(got[:, 0], 100.0) and np.allclose(got[:, 1:], ref[:, 1:])
    # a later effective month leaves the months before it as written
    new = core.apply_levers(sc, {"governance_investment": 0.9}, "2026-01")
    g = new.lever_series(PROJECTION_START, 24)["governance_investment"]
    assert np.allclose(g[:12], 0.05) and np.allclose(g[12:], 0.9)
    with pytest.raises(ScenarioError):
        core.apply_levers(sc, {"restraint": 7}, "2025-01")


def test_lever_defaults_and_changes():
    d = core.lever_defaults(load_scenario("consolidation"), core.MAX_MONTHS)
    assert d["russia_personnel"] == {"MLI": 3000.0, "BFA": 450.0, "NER": 300.0}
    assert d["governance_investment"] == 0.05 and d["coup_rule"] == "stay_in_aes"
    assert d["legitimacy_shock"] == 0.0
    vals = dict(d, restraint=0.4, russia_personnel={"MLI": 3000.0, "BFA": 500.0, "NER": 300.0})
    assert core.changed_levers(d, vals) == {"restraint": 0.4, "russia_personnel": {"BFA": 500.0}}
    assert core.changed_levers(d, d) == {}


def test_cache_computes_once_per_request_and_drops_failures():
    calls: list[core.RunRequest] = []
    gate = threading.Event()

    def slow(req):
        calls.append(req)
        gate.wait(5)
        return f"result {req.seed}"

    req = core.make_request("coup", seed=987_654, **SMALL)
    with ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(core.run_cached, req, compute=slow) for _ in range(8)]
        time.sleep(0.2)
        gate.set()
        got = [f.result() for f in futs]
    assert len(calls) == 1
    assert {r for r, _ in got} == {"result 987654"} and sum(hit for _, hit in got) == 7

    def boom(req):
        raise RuntimeError("engine failed")

    bad = core.make_request("coup", seed=987_655, **SMALL)
    with pytest.raises(RuntimeError):
        core.run_cached(bad, compute=boom)
    assert core.run_cached(bad, compute=lambda r: "ok") == ("ok", False)
    core.clear_cache()


@pytest.fixture(scope="module")
def small_run():
    req = core.make_request("accommodation", {"restraint": 0.6}, seed=5, **SMALL)
    res, hit = core.run_cached(req)
    assert not hit
    return res


def test_run_result_and_exports(small_run):
    import xarray as xr

    res = small_run
    ds = res.ds
    assert ds.sizes["member"] == 20
    assert int(ds.month[0]) == parse_month("2012-01")
    assert int(ds.month[-1]) == PROJECTION_START + 23
    assert res.cells.sizes["member"] == 20 and "cell_hold" in res.cells
    assert core.run_cached(res.request)[0] is res  # cached
    csv = res.summary_csv().decode()
    lines = csv.splitlines()
    assert lines[0].startswith("# sahelsim scenario explorer")
    assert any(
        line.startswith("# levers changed (from 2025-01): restraint = 0.6") for line in lines
    )
    head = next(line for line in lines if not line.startswith("#"))
    assert head == "year,country,variable,description,unit,how,median,q05,q25,q75,q95"
    yearly = res.yearly
    assert set(yearly["country"]) == {"Mali", "Burkina Faso", "Niger"}
    assert sorted(set(yearly["year"])) == list(range(2012, 2027))
    deaths = yearly[(yearly["variable"] == "deaths_total") & (yearly["country"] == "Mali")]
    assert set(deaths["unit"]) == {"people per year"} and set(deaths["how"]) == {
        "sum over the year"
    }
    monthly = res.ds["deaths_total"].sel(country="MLI").isel(member=slice(None))
    y2013 = monthly.sel(month=monthly.year == 2013).sum("month").median("member")
    assert deaths.loc[deaths["year"] == 2013, "median"].iloc[0] == pytest.approx(float(y2013))
    idps = yearly[(yearly["variable"] == "idps")]
    assert set(idps["unit"]) == {"people"} and set(idps["how"]) == {"value in December"}
    assert len(csv) < 400_000, "a yearly table, not the monthly long one"
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"app-test-{os.getpid()}.nc"
    path.write_bytes(res.netcdf_bytes())
    try:
        with xr.open_dataset(path) as back:
            assert back.sizes["member"] == 20
            assert "deaths_total" in back and "cell_deaths" in back
            assert "restraint" in back.attrs["levers"]
    finally:
        path.unlink()


def test_split_ensemble_changes_no_result():
    """Members past MAP_MEMBERS run without cell recording; the numbers are the same."""
    from sahelsim.scenarios.run import run_scenario

    req = core.make_request("acceleration", members=core.MAP_MEMBERS + 6, months=12, seed=2)
    res, _ = core.run_cached(req)
    assert res.cells.sizes["member"] == core.MAP_MEMBERS
    ref = run_scenario("acceleration", members=req.members, months=res.ds.sizes["month"],
                       seed=2, space=core.space_for(None))  # fmt: skip
    np.testing.assert_array_equal(res.ds["deaths_total"].values, ref["deaths_total"].values)


def test_preview_is_the_first_members_of_the_full_run():
    """The preview is members 0..PREVIEW_MEMBERS-1 with the full run's numbers; the full run
    reuses it (only the other members run again) and equals one run of every member."""
    n = core.PREVIEW_MEMBERS + 5
    req = core.make_request("coup", {"restraint": 0.4}, members=n, months=12, seed=3)
    assert core.has_preview(req) and core.finished(req) is None
    local = core.RUNNER.where["local"]
    head, hit = core.preview_cached(req)
    assert not hit and head.preview and head.members == core.PREVIEW_MEMBERS
    again, hit = core.preview_cached(req)
    assert again is head and hit
    assert core.finished(req) is None  # a preview is not the full run
    full, hit = core.run_cached(req)
    assert not hit and not full.preview and full.members == n
    assert core.RUNNER.where["local"] - local == 2, "the full run simulated the preview again"
    assert core.finished(req) is full and full.cells is head.cells
    ref = core._simulate(req)  # both parts in one go, no cache
    for var in ref.ds.data_vars:
        np.testing.assert_array_equal(full.ds[var].values, ref.ds[var].values, err_msg=var)
        if "member" in ref.ds[var].dims:
            np.testing.assert_array_equal(
                head.ds[var].values, ref.ds[var].isel(member=slice(0, head.members)).values,
                err_msg=var,
            )  # fmt: skip
    np.testing.assert_array_equal(full.ds["member"].values, np.arange(n))
    # the charts say what they show: the preview's subtitles and every chart's label
    pfigs = core.fan_charts_for(req, preview=True)
    ffigs = core.fan_charts_for(req)
    for fid in core.FANS:
        assert core.chart_alt(fid, head).endswith(f"; {core.PREVIEW_MEMBERS} of {n} members")
        assert core.chart_alt(fid, full).endswith(f"; {n} of {n} members")
        sub = pfigs[fid]["title"]["subtext"]
        assert f"preview: the first {core.PREVIEW_MEMBERS} of {n} members" in sub
        assert "preview" not in ffigs[fid]["title"]["subtext"]
    small = core.make_request("coup", members=core.PREVIEW_MEMBERS, months=6, seed=3)
    assert not core.has_preview(small)


def test_prepared_figure_serialises_once_and_is_valid(small_run):
    """The page's maps keep their first ``to_dict`` (Streamlit calls it on every rerun) and
    are still valid Plotly figures; its fan charts are plain JSON for ECharts, one region at
    a time."""
    import plotly.graph_objects as go

    fans = core.fan_charts_for(small_run.request)
    assert set(fans) == set(core.FANS)
    for fid, opt in fans.items():
        assert json.loads(json.dumps(opt, allow_nan=False)) == opt, fid
        assert opt["animation"] is False and opt["xAxis"]["type"] == "time"
        assert opt["title"]["subtext"] == "AES (three states)"
    mali = core.fan_charts_for(small_run.request, region="MLI")
    assert mali["deaths"]["title"]["subtext"] == "Mali"
    assert mali["deaths"]["series"] != fans["deaths"]["series"]
    with pytest.raises(core.InputError, match="region"):
        core.fan_charts([(small_run.request.label, small_run)], "XYZ")
    figs = core.map_figures_for(small_run.request)
    assert set(figs) == {"map_violence", "map_control"}
    for fid, fig in figs.items():
        assert isinstance(fig, core.PreparedFigure)
        d = fig.to_dict()
        assert fig.to_dict() is d, fid
        go.Figure(d)  # Plotly's full validation accepts it
    assert figs["map_violence"].to_dict()["data"][0]["geojson"]["features"]


def test_a_run_leaves_other_threads_running():
    """The server's event loop keeps serving while a session's run goes: the compiled loop
    releases the GIL (``nogil``, and its parallel region), so a thread alongside keeps
    ticking; the longest pause is far below the run's length."""
    from sahelsim.model import engine
    from sahelsim.scenarios.run import run_scenario

    assert engine._run.targetoptions.get("nogil") is True
    kw = {"synthetic": True, "record": engine.Record(cells=())}
    run_scenario("acceleration", members=2, months=1, **kw)  # compiled / loaded
    ticks: list[float] = []
    t0 = time.perf_counter()
    th = threading.Thread(target=run_scenario, args=("acceleration",),
                          kwargs={"members": 200, "months": 60, **kw})  # fmt: skip
    th.start()
    while th.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.002)
    run_s = time.perf_counter() - t0
    longest = max(b - a for a, b in itertools.pairwise(ticks))
    assert longest < max(0.25, 0.4 * run_s), (longest, run_s)


def test_figures_and_comparison(small_run):
    figs = {k: v[0] for k, v in core.fan_charts([(small_run.request.label, small_run)]).items()}
    assert set(figs) == set(core.FANS)
    assert len(figs["civilians"]["series"]) > len(figs["deaths"]["series"])
    # the report's palette: one colour per perpetrator in the explorer as in the report
    medians = {
        t["name"]: t["lineStyle"]["color"]
        for t in figs["civilians"]["series"]
        if t["name"].endswith("median")
    }
    # one scenario: no scenario title on the chart (the page names the run); two scenarios:
    # one title each, the panels sharing their y axis
    assert len(small_run.title) > 40
    for fig in figs.values():
        assert "Accommodation" not in fig["title"]["subtext"]
    req_a = core.make_request("acceleration", seed=5, **SMALL)
    two = core.fan_charts([("a", small_run), ("b", core.run_cached(req_a)[0])])["deaths"]
    texts = " ".join(o["title"]["subtext"] for o in two)
    assert "Accommodation" in texts and "Acceleration" in texts, texts
    assert two[0]["yAxis"]["max"] == two[1]["yAxis"]["max"]
    assert medians["state side: median"] == PERPETRATOR_COLOURS["state_side"]
    assert medians["JNIM: median"] == PERPETRATOR_COLOURS["jnim"]
    assert medians["IS Sahel: median"] == PERPETRATOR_COLOURS["issp"]
    maps = core.map_figures(small_run)
    assert set(maps) == {"map_violence", "map_control"}  # no admin-1 polygons on this grid
    assert maps["map_violence"]["data"][0]["geojson"]["features"]
    req_b = core.make_request("acceleration", seed=5, **SMALL)
    res_b, _ = core.run_cached(req_b)
    table = core.compare_table(small_run, res_b)
    assert {"outcome", "country", "diff_median", "share_b_higher"} <= set(table.columns)
    assert len(table) == len(OUTCOMES) * 3
    with pytest.raises(core.InputError, match="same members"):
        other, _ = core.run_cached(core.make_request("acceleration", seed=6, **SMALL))
        core.compare_table(small_run, other)


def test_claims_table_without_cache(tmp_path, monkeypatch):
    assert core.claims_table(None) is None  # nothing cached, not asked to run
    csv = tmp_path / "claims_audit.csv"
    csv.write_text("id,claim,verdict\nc01_x,A claim,supported\n")
    monkeypatch.setenv(core.ENV_CLAIMS, str(csv))
    df, source = core.claims_table(None)
    assert list(df["verdict"]) == ["supported"] and str(csv) in source


# -- the page, headless ------------------------------------------------------------------------


def _apptest():
    pytest.importorskip("streamlit", reason="the app extra is not installed: pip install '.[app]'")
    from streamlit.testing.v1 import AppTest

    from sahelsim.app import APP_FILE

    return AppTest.from_file(str(APP_FILE), default_timeout=60)


def _specs(at) -> list[str]:
    """The Plotly charts' JSON (the maps)."""
    return [el.proto.spec for el in at.get("plotly_chart")]


def _fans(at) -> list[tuple[str, dict]]:
    """The fan charts (ECharts): their label for screen readers and their option."""
    return [(el.proto.alt, json.loads(el.proto.spec)) for el in at.get("echarts_chart")]


def _members(at) -> list[tuple[int, int]]:
    """(members drawn, members asked for) of each fan chart, from its label."""
    out = []
    for alt, _ in _fans(at):
        m = re.search(r"(\d+) of (\d+) members$", alt)
        assert m, alt
        out.append((int(m[1]), int(m[2])))
    return out


def _open_lever_groups(at) -> None:
    """Open every lever group (their sliders are drawn once a group has been opened)."""
    from sahelsim.app.labels import GROUPS

    for i in range(len(GROUPS)):
        at.session_state[f"w_group_{i}"] = True
    at.run()


def _slider(at, key: str):
    if not any(s.key == key for s in at.sidebar.slider):
        _open_lever_groups(at)
    return next(s for s in at.sidebar.slider if s.key == key)


def _submit(at):
    return next(b for b in at.sidebar.button if "Run ensemble" in b.label)


@pytest.fixture()
def page():
    at = _apptest()
    at.query_params.update({"members": "20", "months": "24", "seed": "11"})
    at.run()
    assert not at.exception, at.exception
    return at


def _open_tab(at, label: str) -> None:
    """Open a tab (the tabs are lazy: only the open one is built)."""
    at.session_state["w_tab"] = label
    at.run()
    assert not at.exception, at.exception


def test_page_loads(page):
    at = page
    assert at.title[0].value == "Central Sahel scenario explorer"
    assert not at.error
    assert len(_fans(at)) == 4 and not _specs(at)  # four fan charts; closed tabs not built
    assert at.session_state.req.members == 20
    assert "synthetic grid" in " ".join(c.value for c in at.caption)
    assert [t.label for t in at.tabs] == ["Projections", "Maps", "Compare", "Claims", "Levers"]
    _open_tab(at, "Maps")
    specs = [json.loads(s) for s in _specs(at)]
    assert len(specs) == 2 and all(s["data"][0]["type"] == "choropleth" for s in specs)
    _open_tab(at, "Levers")
    assert not _specs(at) and not _fans(at)
    assert any("lever" in df.value.columns for df in at.dataframe)


def test_region_switch_redraws_every_fan_chart(page):
    """The region control above the fan charts switches all four to one state (from the
    cache: nothing runs again), and back."""
    at = page
    aes = _fans(at)
    assert all(o["title"]["subtext"] == "AES (three states)" for _, o in aes)
    at.segmented_control(key="w_region").set_value("BFA")
    at.run()
    assert not at.exception and not at.error
    bfa = _fans(at)
    assert all(o["title"]["subtext"] == "Burkina Faso" for _, o in bfa)
    assert all(alt.startswith(f"{core.FANS[fid][1]}, Burkina Faso") for (alt, _), fid
               in zip(bfa, ("deaths", "territory", "civilians", "idps"), strict=True))  # fmt: skip
    assert bfa[0][1]["series"] != aes[0][1]["series"]
    assert "from the cache" in " ".join(c.value for c in at.caption)
    at.segmented_control(key="w_region").set_value("AES")
    at.run()
    assert _fans(at) == aes


def test_lever_change_reruns(page):
    at = page
    before = _fans(at)[0]
    _slider(at, "lv:acceleration:restraint").set_value(0.9)
    _submit(at).click()
    at.run()
    assert not at.exception and not at.error
    assert at.session_state.req.levers == (("restraint", None, 0.9),)
    after = _fans(at)[0]
    assert after[0] != before[0] and "Army restraint towards civilians (" in after[0]
    assert "= 0.9; seed" in after[0], after[0]
    assert after[1]["series"] != before[1]["series"]
    # reset: the scenario as shipped
    next(b for b in at.sidebar.button if b.key == "btn_reset").click()
    at.run()
    assert not at.exception and at.session_state.req.levers == ()
    assert _slider(at, "lv:acceleration:restraint").value == 0.0
    # switching the scenario runs it at once with its own levers
    at.sidebar.selectbox(key="w_scenario").set_value("coup")
    at.run()
    assert not at.exception
    assert at.session_state.req.scenario == "coup" and at.session_state.req.levers == ()


def test_every_scenario_renders(page):
    from sahelsim.scenarios.scenario import list_scenarios

    at = page
    for name in list_scenarios():
        at.sidebar.selectbox(key="w_scenario").set_value(name)
        at.run()
        assert not at.exception, name
        assert not at.error, (name, [e.value for e in at.error])
        assert at.session_state.req.scenario == name
        assert len(_fans(at)) == 4


def test_one_country_lever(page):
    at = page
    at.sidebar.selectbox(key="w_scenario").set_value("consolidation")
    at.run()
    _slider(at, "lv:consolidation:russia_personnel:BFA").set_value(1000.0)
    _submit(at).click()
    at.run()
    assert not at.exception and not at.error
    assert at.session_state.req.levers == (("russia_personnel", "BFA", 1000.0),)
    assert at.query_params["russia_personnel.BFA"] == "1000.0"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("restraint = 2", "0..1"),
        ("restraint = = 2", "not valid TOML"),
        ("warp_drive = 1", "unknown lever"),
    ],
)
def test_bad_value_is_an_error_message_not_a_traceback(page, text, needle):
    at = page
    req = at.session_state.req
    at.sidebar.text_area(key="w_lever_text").input(text)
    _submit(at).click()
    at.run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert needle in errors
    assert at.session_state.req == req  # the last valid run stays on screen
    assert len(_fans(at)) >= 4


def test_page_draws_the_preview_then_the_full_ensemble(monkeypatch):
    """With more members than the preview, the page draws the preview first: when the other
    members fail, the preview stays on screen, marked as a preview, with the error; otherwise
    the full ensemble replaces every preview chart."""
    from sahelsim.app import runs

    members = core.PREVIEW_MEMBERS + 10
    monkeypatch.setattr(runs, "PREVIEW_AFTER_S", 0.0)  # however quick the run: preview first

    def broken_tail(req):
        raise RuntimeError("tail engine failed")

    monkeypatch.setattr(runs, "_tail", broken_tail)
    at = _apptest()
    at.query_params.update({"members": str(members), "months": "12", "seed": "31"})
    at.run()
    assert not at.exception
    assert _members(at) == [(core.PREVIEW_MEMBERS, members)] * 4
    assert any("Preview: the first" in i.value for i in at.info)
    assert "tail engine failed" in " ".join(e.value for e in at.error)
    assert "members are running" not in " ".join(c.value for c in at.caption)
    monkeypatch.undo()
    at.run()  # the preview is cached; the other members run now
    assert not at.exception and not at.error and not at.info
    assert _members(at) == [(members, members)] * 4, "a preview chart was left"
    status = " ".join(c.value for c in at.caption)
    assert f"{members} members, seed 31" in status and "preview" not in status
    assert [b.label for b in at.download_button] == ["Summary (CSV)", "Ensemble (NetCDF)"]


def test_a_quick_run_is_drawn_once_in_full_a_slow_one_preview_first(monkeypatch):
    """The page draws a preview first only when the run is expected to take longer than
    PREVIEW_AFTER_S at the engine speed measured in this process."""
    from sahelsim.app import runs

    members = core.PREVIEW_MEMBERS + 5
    req = core.make_request("coup", members=members, months=12, seed=32)
    monkeypatch.setattr(runs, "_SPEED", [1e-9])  # a fast engine: no preview
    assert core.has_preview(req) and not core.shows_preview(req)
    at = _apptest()
    at.query_params.update({"members": str(members), "months": "12", "seed": "32",
                            "scenario": "coup"})  # fmt: skip
    at.run()
    assert not at.exception and not at.info
    assert _members(at) == [(members, members)] * 4
    # a run from a present already built measures the engine's speed in this process (the
    # page's run built its present, so it did not)
    core.run_cached(core.make_request("coup", {"restraint": 0.3}, members=members, months=12,
                                      seed=32))  # fmt: skip
    assert runs._SPEED[0] > 1e-9
    monkeypatch.setattr(runs, "_SPEED", [10.0])  # a slow engine: preview first
    slow = core.make_request("coup", members=members, months=12, seed=33)
    assert core.shows_preview(slow)
    assert runs.expected_seconds(slow) == pytest.approx(members * 12 * 10.0)


def test_a_failing_chart_leaves_a_message_and_the_form(monkeypatch):
    """Charts that cannot be built: an error message, no traceback, and the sidebar's form is
    still drawn (its widgets keep their state)."""

    def broken(*args, **kwargs):
        raise RuntimeError("figure layer failed")

    monkeypatch.setattr(core, "fan_charts_for", broken)
    at = _apptest()
    at.query_params.update({"members": "20", "months": "12", "seed": "8"})
    at.run()
    assert not at.exception, at.exception
    assert "figure layer failed" in " ".join(e.value for e in at.error)
    assert any("Run ensemble" in b.label for b in at.sidebar.button)
    assert at.sidebar.number_input(key="w_members").value == 20


def test_a_url_lever_is_kept_when_its_slider_was_never_drawn():
    """A lever preset by the URL stays in the run when Run is pressed without its group ever
    being opened (its slider not drawn): the form reads the value, not the widget."""
    at = _apptest()
    at.query_params.update({"members": "20", "months": "12", "seed": "7", "restraint": "0.5"})
    at.run()
    assert not at.exception and at.session_state.req.levers == (("restraint", None, 0.5),)
    assert not [s for s in at.sidebar.slider if s.key.startswith("lv:")]
    at.sidebar.number_input(key="w_members").set_value(22)
    _submit(at).click()
    at.run()
    assert not at.exception and not at.error
    assert at.session_state.req.members == 22
    assert at.session_state.req.levers == (("restraint", None, 0.5),)
    # the slider, once drawn, shows the URL's value
    assert _slider(at, "lv:acceleration:restraint").value == 0.5


def test_bad_url_parameters_are_reported_one_by_one():
    """A bad URL parameter is named and left out; the good ones are kept."""
    at = _apptest()
    at.query_params.update({"members": "lots", "restraint": "9", "seed": "7", "months": "24",
                            "russia_personnel.MLI": "1000", "warp": "1"})  # fmt: skip
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 3, errors
    text = " ".join(errors)
    assert "members='lots' ignored" in text and "restraint='9' ignored" in text
    assert "'warp' ignored" in text
    req = at.session_state.req
    assert req.members == core.DEFAULT_MEMBERS and req.seed == 7 and req.months == 24
    assert req.levers == (("russia_personnel", "MLI", 1000.0),)
    assert at.query_params["seed"] == "7" and "warp" not in at.query_params


def test_request_from_params_without_streamlit():
    req, problems = core.request_from_params({"scenario": "nope", "seed": "3"})
    assert req.scenario == "acceleration" and req.seed == 3
    assert len(problems) == 1 and "scenario='nope'" in problems[0]
    req, problems = core.request_from_params({"effective": "2031-01", "restraint": "0.5"})
    assert problems and "effective" in problems[0]
    assert req.levers == (("restraint", None, 0.5),) and req.effective == "2025-01"


def test_bad_members_is_an_error_and_nothing_runs(page):
    """An out-of-range member count is reported; Run neither runs it nor reruns the last
    value as if it were new."""
    at = page
    req = at.session_state.req
    for bad, needle in ((-5, "got -5"), (100000, "got 100000")):
        at.sidebar.number_input(key="w_members").set_value(bad)
        _submit(at).click()
        at.run()
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert "members: must be in 2..1000" in errors and needle in errors
        assert any("Nothing was run" in w.value for w in at.warning)
        assert at.session_state.req == req
    at.sidebar.number_input(key="w_members").set_value(24)
    _submit(at).click()
    at.run()
    assert not at.error and not at.warning and at.session_state.req.members == 24


def test_lever_labels_are_plain_words_in_groups(page):
    at = page
    # the first page draws no lever slider; a group opened once keeps its sliders drawn
    assert not [s for s in at.sidebar.slider if s.key.startswith("lv:")]
    at.session_state["w_group_1"] = True  # "Civilians and borders"
    at.run()
    keys = {s.key for s in at.sidebar.slider if s.key.startswith("lv:")}
    assert (
        "lv:acceleration:restraint" in keys and "lv:acceleration:russia_personnel:MLI" not in keys
    )
    at.session_state["w_group_1"] = False  # closed again: still drawn (a moved value survives)
    at.run()
    assert keys <= {s.key for s in at.sidebar.slider}
    _open_lever_groups(at)
    labels = [s.label for s in at.sidebar.slider if s.key.startswith("lv:")]
    assert labels and not [lab for lab in labels if "_" in lab], labels
    assert "Army restraint towards civilians (share of civilian harm avoided" in " ".join(labels)
    assert any(lab.startswith("Russian personnel · Mali (persons") for lab in labels)
    assert [e.label for e in at.sidebar.expander][:3] == ["Forces", "Civilians and borders",
                                                          "Politics"]  # fmt: skip


def test_compare_a_scenario_with_itself(page):
    at = page
    _open_tab(at, "Compare")
    assert load_scenario("acceleration").title in at.selectbox(key="w_cmp").options
    _slider(at, "lv:acceleration:restraint").set_value(0.9)
    _submit(at).click()
    at.run()
    at.selectbox(key="w_cmp").set_value("acceleration")
    at.button(key="btn_cmp").click()
    at.run()
    assert not at.exception and not at.error
    frames = [df.value for df in at.dataframe]
    cmp = next(f for f in frames if "share of members B > A" in f.columns)
    assert len(cmp) > 0


def test_serve_checks_streamlit_first(monkeypatch):
    import importlib.util

    from sahelsim import app

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "streamlit" else real(name, *a))  # fmt: skip
    announced: list[str] = []
    with pytest.raises(app.AppUnavailable, match="needs Streamlit"):
        app.serve(port=free_port(), on_start=announced.append)
    assert announced == [], "no address announced for a server that cannot start"


def test_compare_and_claims_tabs(page):
    at = page
    _open_tab(at, "Compare")
    at.selectbox(key="w_cmp").set_value("ct_success")
    at.button(key="btn_cmp").click()
    at.run()
    assert not at.exception
    fans = _fans(at)  # A and B side by side for each fan chart
    assert len(fans) == 8 and not _specs(at)
    assert load_scenario("ct_success").title in fans[1][0], fans[1][0]
    assert load_scenario("ct_success").title in fans[1][1]["title"]["subtext"]
    assert fans[0][1]["yAxis"]["max"] == fans[1][1]["yAxis"]["max"]
    frames = [df.value for df in at.dataframe]
    cmp = next(f for f in frames if "share of members B > A" in f.columns)
    assert set(cmp["country"]) == {"Mali", "Burkina Faso", "Niger"}  # names, not codes
    assert not cmp["outcome"].str.contains("_").any(), set(cmp["outcome"])  # words, not ids
    assert (cmp["unit"] != "").all()
    assert not any("verdict" in f.columns for f in frames), "the closed Claims tab was built"
    _open_tab(at, "Claims")
    captions = " ".join(c.value for c in at.caption)
    assert "No cached audit" in captions and "data-only audit" in captions
    frames = [df.value for df in at.dataframe]
    claims = next(f for f in frames if "verdict" in f.columns)
    assert len(claims) >= 14 and set(claims["verdict"]) <= set(VERDICTS)


# -- a real browser against the served app -----------------------------------------------------


def _get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    sync_playwright_or_skip(streamlit=True)
    from sahelsim.app import serve, stop

    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc = serve("127.0.0.1", port, synthetic=True, wait=False, log_file=log)
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    try:
        while True:
            try:
                if _get(url + "/_stcore/health", 2)[1].strip() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() - t0 > 60:
                pytest.fail(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        stop(proc)
        # the whole process group is gone: nothing listens on the port any more
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, "a server process is left listening"


class _Watch:
    """Console errors, page errors and requests that leave the loopback interface."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.remote: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", self._request)

    def _request(self, r) -> None:
        if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            self.remote.append(r.url)


FAN = '[data-testid="stEChartsChart"]'
FIRST_FAN = FAN + " canvas"  # an ECharts fan chart drawn
#: The first fan chart's label: it names the run (levers included) and its members.
FAN_DATA = f"() => document.querySelector('{FAN}').getAttribute('aria-label')"
MAP = '[data-testid="stPlotlyChart"] .js-plotly-plot'
STATUS = "ran in|from the cache"


def _wait_ready(page, timeout: float = 60_000) -> None:
    page.wait_for_selector(FIRST_FAN, timeout=timeout)
    page.get_by_text(re.compile(STATUS)).first.wait_for(timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )


def _check_fan_tooltip_and_png(page, png_name: str) -> None:
    """Pointing at the first fan chart shows a point's values in words (ECharts tooltip);
    its save button downloads a PNG named after the run, chart and region."""
    chart = page.locator(FAN).first
    box = chart.bounding_box()
    tip = (
        "e => [...e.querySelectorAll('div')].filter(d => d.style.zIndex === '9999999'"
        " && d.style.display !== 'none' && d.style.opacity !== '0').map(d => d.innerText)"
        ".join('|')"
    )
    text = ""
    for fx in (i / 30 for i in range(6, 30)):
        for fy in (j / 24 for j in range(3, 21)):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            text = chart.evaluate(tip).strip()
            if text:
                break
        if text:
            break
    num = r"\s+[\d,.]+\s+"
    # a date (UTC midnight: no time of day), then each series' median and 90 % interval
    want = rf"^\d{{4}}-\d\d-\d\d\n.*: median{num}.*90 % interval, low{num}.*interval, high"
    assert re.search(want, text, re.DOTALL), text
    assert "50 % interval, low" in text, text  # a chart of one series lists both intervals
    assert "_s0" not in text and not re.search(r"^\d+ % interval$", text, re.M), text  # bands
    # the toolbox's save button, top right of the chart
    x, y = box["x"] + box["width"] - 27, box["y"] + 25
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    with page.expect_download(timeout=30_000) as dl:
        page.mouse.click(x, y)
    assert dl.value.suggested_filename == png_name
    assert Path(dl.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_browser_lever_change_updates_the_chart(server, tmp_path):
    sync_playwright = sync_playwright_or_skip(streamlit=True)
    with sync_playwright() as pw:
        # a browser west of UTC: the charts' dates must still read as the data's (UTC) days
        ctx = launch(pw, tmp_path / "profile", timezone_id="America/New_York")
        try:
            page = ctx.new_page()
            watch = _Watch(page)
            page.goto(f"{server}/?members=20&months=24&seed=21", wait_until="load")
            _wait_ready(page)
            before = page.evaluate(FAN_DATA)
            page.get_by_text("Civilians and borders").click()
            slider = page.locator('[data-testid="stSlider"]', has_text="restraint").get_by_role(
                "slider"
            )
            slider.first.focus()
            slider.first.press("End")
            page.get_by_role("button", name="Run ensemble").click()
            page.wait_for_function(f"(old) => {FAN_DATA[6:]} !== old", arg=before, timeout=60_000)
            _wait_ready(page)
            after = page.evaluate(FAN_DATA)
            assert after != before and "Army restraint towards civilians" in after, after
            assert "= 1.0; seed" in after or "= 1; seed" in after, after
            assert "restraint=1" in page.url
            _check_fan_tooltip_and_png(page, "acceleration_edited_deaths_AES.png")
            # the downloads are built when clicked
            with page.expect_download(timeout=30_000) as dl:
                page.get_by_role("button", name="Summary (CSV)").click()
            csv = Path(dl.value.path()).read_text()
            assert csv.startswith("# sahelsim scenario explorer") and "deaths_total" in csv
            assert "restraint = 1" in csv and "year,country,variable,description,unit" in csv
            with page.expect_download(timeout=30_000) as dl:
                page.get_by_role("button", name="Ensemble (NetCDF)").click()
            assert Path(dl.value.path()).read_bytes()[:4] == b"\x89HDF"
            assert dl.value.suggested_filename == "acceleration_edited.nc"
            # the maps draw offline (stub topojson served by the app)
            page.get_by_role("tab", name="Maps").click()
            maps = page.locator(MAP)
            page.wait_for_function(
                "() => document.querySelectorAll('path.choroplethlocation').length > 100",
                timeout=30_000,
            )
            # the two cell maps; the closed Projections tab's charts are gone
            page.wait_for_function(f"() => document.querySelectorAll('{MAP}').length == 2",
                                   timeout=30_000)  # fmt: skip
            assert maps.count() == 2
            page.wait_for_function(f"() => !document.querySelector('{FAN}')", timeout=30_000)
            page.wait_for_timeout(500)
            assert watch.errors == [], watch.errors
            assert watch.remote == [], watch.remote
        finally:
            ctx.close()


def test_load_twenty_clients(server, tmp_path):
    """20 concurrent HTTP clients, then 4 concurrent browser sessions each running a small
    ensemble (different seeds, so each is a real run): none fails."""
    sync_playwright = sync_playwright_or_skip(streamlit=True)

    def client(i: int) -> tuple[int, int, int]:
        s1, body = _get(f"{server}/?seed={i}")
        s2, ok = _get(f"{server}/_stcore/health")
        s3, _ = _get(f"{server}/app/static/world_110m.json")
        assert b'<div id="root">' in body or b"root" in body
        return s1, s2 if ok.strip() == b"ok" else 0, s3

    with ThreadPoolExecutor(20) as ex:
        statuses = list(ex.map(client, range(20)))
    assert statuses == [(200, 200, 200)] * 20

    n = 4
    with sync_playwright() as pw:
        ctx = launch(pw, tmp_path / "profile")
        try:
            pages, watches = [], []
            for i in range(n):
                p = ctx.new_page()
                watches.append(_Watch(p))
                p.goto(f"{server}/?members=20&months=24&seed={100 + i}", wait_until="commit")
                pages.append(p)
            for i, p in enumerate(pages):
                _wait_ready(p, timeout=80_000)
                assert f"seed {100 + i}" in p.inner_text("body")
            datas = {p.evaluate(FAN_DATA) for p in pages}
            assert len(datas) == n  # four different ensembles
            errs = [e for w in watches for e in w.errors]
            assert errs == [], errs
        finally:
            ctx.close()


def test_browser_bad_inputs(server, tmp_path):
    """A bad URL parameter is reported and the others kept; a bad member count shows an error
    and nothing runs."""
    sync_playwright = sync_playwright_or_skip(streamlit=True)
    with sync_playwright() as pw:
        ctx = launch(pw, tmp_path / "profile")
        try:
            page = ctx.new_page()
            page.goto(f"{server}/?members=20&months=24&seed=41&restraint=9", wait_until="load")
            _wait_ready(page)
            body = page.inner_text("body")
            assert "restraint='9' ignored" in body
            assert "20 members, seed 41" in body and "restraint=" not in page.url
            status = page.get_by_text(re.compile(STATUS)).first.inner_text()
            assert "ran in" in status
            box = page.get_by_role("spinbutton", name="Members")
            box.fill("-5")
            page.get_by_role("button", name="Run ensemble").click()
            page.get_by_text("members: must be in 2..1000, got -5").wait_for(timeout=30_000)
            page.get_by_text(re.compile("Nothing was run")).wait_for(timeout=30_000)
            assert "members=20" in page.url and "members=-5" not in page.url
            after = page.get_by_text(re.compile(STATUS)).first.inner_text()
            # the previous run stays on screen, from the cache: nothing new was simulated
            assert "20 members, seed 41" in after and "from the cache" in after, (status, after)
        finally:
            ctx.close()
