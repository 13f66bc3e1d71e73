"""The pattern scorecard: the pattern table, each measure on hand-built data, the whole run."""

from __future__ import annotations

import copy
import json
import tomllib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from rich.console import Console

from sahelsim.core.canon import month_id
from sahelsim.model.engine import COUNTRY_VARS
from sahelsim.validation import measures as M
from sahelsim.validation.context import Context, NotEvaluated
from sahelsim.validation.patterns import Pattern, PatternError, Unit, load_patterns, parse_patterns
from sahelsim.validation.run import (
    COLUMNS,
    cell_areas,
    evaluate,
    read_observed,
    render_table,
    run_validation,
)

COUNTRIES = ["MLI", "BFA", "NER"]


def make_ds(members=4, years=(2012, 2013), cells=(4, 3, 3)) -> xr.Dataset:
    """A tiny run with the engine's names and dims; everything zero."""
    mids = np.arange(int(month_id(years[0], 1)), int(month_id(years[1], 12)) + 1)
    y, m = 1980 + (mids - 1) // 12, (mids - 1) % 12 + 1
    C = sum(cells)
    shape = (members, mids.size, len(COUNTRIES))
    data = {v: (("member", "month", "country"), np.zeros(shape)) for v in COUNTRY_VARS}
    for v in ("cell_deaths", "cell_idp"):
        data[v] = (("member", "month", "cell"), np.zeros((members, mids.size, C), np.float32))
    coords = {"member": np.arange(members), "month": mids, "country": COUNTRIES,
              "cell": np.arange(C), "year": ("month", y), "month_of_year": ("month", m)}  # fmt: skip
    return xr.Dataset(data, coords=coords)


def make_ctx(ds: xr.Dataset, cells=(4, 3, 3), **kw) -> Context:
    country = np.repeat(np.arange(3), cells)
    return Context(ds=ds, cell_country=country, core=np.ones(country.size, bool), **kw)


def pattern(measure: str, years=(2012, 2013), params=None, uparams=None,
            **unit) -> tuple[Pattern, Unit]:  # fmt: skip
    u = Unit(**{"unit": "MLI", "name": "Mali", "params": uparams or {}, **unit})
    p = Pattern(id="P9", title="t", measures="m", source="s", definition="d", measure=measure,
                years=years, params=params or {}, unit=[u])  # fmt: skip
    return p, u


def status(p: Pattern, ctx: Context) -> str:
    return evaluate([p], ctx)["status"].iloc[0]


# -- the pattern table --------------------------------------------------------------------------
def _doc() -> dict:
    return tomllib.loads(files("sahelsim.resources").joinpath("patterns.toml").read_text("utf-8"))


def test_shipped_patterns_load_and_name_known_measures():
    ps = load_patterns(measures=M.MEASURES)
    ids = [p.id for p in ps]
    assert len(ids) == len(set(ids)) >= 8
    assert {"P1a", "P2", "P3", "P4", "P5", "P6a", "P7", "P8"} <= set(ids)
    assert all(p.measure in M.MEASURES for p in ps)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda e: e.pop("measure"), ["P4", "measure", "Field required"]),
        (lambda e: e["unit"][0].update(low=0.9, high=0.1), ["P4", "unit.0", "above high"]),
        (lambda e: e.update(measure="no_such_function"), ["P4", "measure", "no_such_function"]),
        (lambda e: e.update(years=[2024, 2012]), ["P4", "years"]),
        (lambda e: e["unit"][0].update(colour="red"), ["P4", "unit.0.colour"]),
    ],
)
def test_malformed_entry_names_entry_and_field(edit, words):
    doc = copy.deepcopy(_doc())
    entry = next(e for e in doc["pattern"] if e["id"] == "P4")
    edit(entry)
    with pytest.raises(PatternError) as exc:
        parse_patterns(doc, file="patterns.toml", measures=M.MEASURES)
    for w in words:
        assert w in str(exc.value)


def test_pattern_file_errors(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text("[[pattern]\n", encoding="utf-8")
    with pytest.raises(PatternError, match=r"p\.toml: not valid TOML"):
        load_patterns(bad)
    bad.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(PatternError, match="no \\[\\[pattern\\]\\] entries"):
        load_patterns(bad)


def test_unit_targets():
    u = Unit(unit="MLI", name="Mali", low=0.6, high=1.0, tolerance=0.15)
    assert u.passes(0.46) and not u.passes(0.44)
    assert u.target_text("percent") == ">= 60 %"
    assert Unit(unit="BFA", name="Burkina Faso").reported


# -- measures on crafted data --------------------------------------------------------------------
def test_top_share_known_value():
    x = np.array([[90.0, 5, 5, 0, 0, 0, 0, 0, 0, 0], [10.0] * 10, [0.0] * 10])
    s = M.top_share(x, 0.10)
    assert s[0] == pytest.approx(0.9) and s[1] == pytest.approx(0.1) and np.isnan(s[2])


def test_top_decile_share_pass_and_fail():
    ds = make_ds(years=(2015, 2016), cells=(10, 1, 1))
    ctx = make_ctx(ds, cells=(10, 1, 1))
    p, _ = pattern("top_decile_share", years=(2015, 2016), params={"top": 0.1}, low=0.8, high=1)
    ds["cell_deaths"][:, :, 0] = 9.0  # one cell of ten holds 90 % of Mali's deaths
    ds["cell_deaths"][:, :, 1] = 1.0
    row = evaluate([p], ctx).iloc[0]
    assert row["status"] == "pass" and row["median"] == pytest.approx(0.9)
    assert "2 of 2 years pass" in row["note"]
    ds["cell_deaths"][:, :, 1:10] = 9.0  # spread evenly: 10 %
    assert status(p, ctx) == "fail"


def test_first_year_above():
    ds = make_ds(years=(2012, 2016))
    ds["deaths_total"].loc[{"country": "MLI"}] = np.where(ds.year.values >= 2014, 20.0, 1.0)
    ctx = make_ctx(ds)
    p, _ = pattern("first_year_above", years=(2012, 2016), params={"threshold": 100},
                   low=2013, high=2013, tolerance=1)  # fmt: skip
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == 2014 and row["status"] == "pass"
    p, _ = pattern("first_year_above", years=(2012, 2016), params={"threshold": 100},
                   low=2016, high=2016, tolerance=1)  # fmt: skip
    assert status(p, ctx) == "fail"
    p, _ = pattern("first_year_above", years=(2012, 2016), params={"threshold": 1000},
                   low=2014, high=2014)  # fmt: skip
    assert status(p, ctx) == "fail"  # never reached
    p, _ = pattern("first_year_above", params={"threshold": 100}, unit="BEN", name="Benin")
    row = evaluate([p], ctx).iloc[0]
    assert row["status"] == "not evaluated" and "Benin has no cells in the grid" in row["note"]


def test_admin1_share():
    ds = make_ds(years=(2020, 2020))
    ds["cell_deaths"][:, :, 0] = 3.0
    ds["cell_deaths"][:, :, 1:4] = 1.0
    adm = np.array(["Mopti", "Gao", "Gao", None, "X", "X", "X", "Y", "Y", "Y"], dtype=object)
    ctx = make_ctx(ds, cell_admin1=adm)
    p, _ = pattern("admin1_share", years=(2020, 2020), params={}, low=0.6, high=1.0,
                   tolerance=0.15, uparams={"admin1": ["Mopti"]})  # fmt: skip
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == pytest.approx(0.5) and row["status"] == "pass"  # 0.5 >= 0.60 - 0.15
    ds["cell_deaths"][:, :, 1:4] = 3.0
    assert status(p, ctx) == "fail"  # 0.25
    p2, _ = pattern("admin1_share", years=(2020, 2020), params={"admin1": ["Kidal"]})
    p2 = p2.model_copy(
        update={"unit": [Unit(unit="MLI", name="Mali", params={"admin1": ["Kidal"]})]}
    )
    assert "Kidal" in evaluate([p2], ctx)["note"].iloc[0]
    assert status(p, Context(ds=ds, cell_country=ctx.cell_country)) == "not evaluated"


def test_territory_share_reported_and_target():
    ds = make_ds(years=(2023, 2024))
    ds["territory_state"].loc[{"country": "BFA"}] = 0.4
    ctx = make_ctx(ds)
    p, _ = pattern("territory_share", years=(2023, 2024), unit="BFA", name="BF", low=0.3, high=0.55)
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == pytest.approx(0.4) and row["status"] == "pass"
    ds["territory_state"].loc[{"country": "BFA"}] = 0.99
    assert status(p, ctx) == "fail"
    p, _ = pattern("territory_share", years=(2023, 2024))
    assert status(p, ctx) == "reported"


def test_heavy_tail_counts():
    ds = make_ds(years=(2019, 2020))
    ds["cell_deaths"][:, 0, 0] = 150.0  # one cell-month in 2019, three in 2020
    ds["cell_deaths"][:, 12:15, 5] = 100.0
    ds["cell_deaths"][:, 20, 6] = 99.0
    ctx = make_ctx(ds)
    p, _ = pattern("heavy_tail_cell_months", years=(2019, 2020), params={"threshold": 100},
                   unit="MLI+BFA+NER", name="all", low=1, high=4)  # fmt: skip
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == pytest.approx(2.0) and row["status"] == "pass"
    assert "2019: 1, 2020: 3" in row["note"]
    ds["cell_deaths"][:] = 0.0
    assert status(p, ctx) == "fail"


def _observed(years, values: dict) -> pd.DataFrame:
    rows = []
    for c in COUNTRIES:
        for i, y in enumerate(years):
            rows.append({"iso3": c, "year": y, **{k: v[i] for k, v in values.items()}})
    return pd.DataFrame(rows)


def test_country_year_coverage_and_score():
    ds = make_ds(members=20, years=(2012, 2013))
    rng = np.random.default_rng(0)
    # yearly sum per member = 12 * monthly value: members spread 0..228 around 120
    per_member = rng.uniform(0, 19, size=20)
    for v in ("deaths_state_based", "deaths_non_state", "deaths_one_sided"):
        ds[v][:] = per_member[:, None, None]
    hist = list(range(2009, 2014))
    obs = _observed(hist, {v: [100.0] * 5 for v in
                           ("deaths_state_based", "deaths_non_state", "deaths_one_sided")})  # fmt: skip
    ctx = make_ctx(ds, observed_cy=obs)
    params = {"types": ["deaths_state_based", "deaths_non_state", "deaths_one_sided"],
              "level": 0.9, "window": 3}  # fmt: skip
    p, _ = pattern("country_year_coverage", params=params, unit="MLI+BFA+NER", name="all",
                   low=0.8, high=0.95)  # fmt: skip
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == 1.0 and row["status"] == "fail"  # too wide: every year inside
    assert "18 of 18 inside" in row["note"]
    obs.loc[obs["year"] == 2013, "deaths_state_based"] = 5000.0
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == pytest.approx(15 / 18) and row["status"] == "pass"
    assert "worst" in row["note"] and "state-based deaths 2013" in row["note"]
    # interval score: a constant history of 100 makes the baseline Poisson(100); a model far
    # wider than that scores worse, one exactly right scores better
    p, _ = pattern("country_year_interval_score", params={**params, "level": 0.95},
                   unit="MLI", high=1.0)  # fmt: skip
    obs.loc[obs["year"] == 2013, "deaths_state_based"] = 100.0
    assert status(p, ctx) == "fail"
    for v in ("deaths_state_based", "deaths_non_state", "deaths_one_sided"):
        ds[v][:] = 100.0 / 12
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == pytest.approx(0.0) and row["status"] == "pass"


def test_country_month_coverage_reads_long_frame():
    ds = make_ds(members=10, years=(2012, 2012))
    ds["deaths_state_based"][:] = np.arange(10)[:, None, None]
    mids = ds.month.values
    ged = pd.DataFrame({"iso3": "MLI", "month_id": np.concatenate([mids - 12, mids]),
                        "type": "deaths_state_based", "value": np.r_[[4.0] * 12, [4.0] * 12]})  # fmt: skip
    ctx = make_ctx(ds, ged_cm=ged)
    p, _ = pattern("country_month_coverage", years=(2012, 2012),
                   params={"types": ["deaths_state_based"], "level": 0.9, "last_month": "2012-06"},
                   low=0.8, high=0.95)  # fmt: skip
    row = evaluate([p], ctx).iloc[0]
    assert "6 of 6 inside" in row["note"] and row["status"] == "fail"  # 100 % is too wide
    assert status(p, make_ctx(ds)) == "not evaluated"


def test_idp_coverage():
    ds = make_ds(members=10, years=(2015, 2016))
    ds["idps"][:] = np.linspace(1000, 2000, 10)[:, None, None]
    obs = _observed([2015, 2016], {"idps": [1500.0, 9000.0]})
    ctx = make_ctx(ds, observed_cy=obs)
    p, _ = pattern("idp_coverage", years=(2015, 2016), params={"level": 0.9}, low=0.8, high=1)
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == pytest.approx(0.5) and row["status"] == "fail"
    obs.loc[obs["year"] == 2016, "idps"] = 1200.0
    assert status(p, ctx) == "pass"


def test_dtm_spearman_regions_and_cercles():
    ds = make_ds(members=3, years=(2019, 2019), cells=(5, 1, 1))
    adm = np.array(["A", "B", "C", "D", "D", "X", "Y"], dtype=object)
    dec = ds.month.values[-1]
    ds["cell_idp"].loc[{"month": dec}] = np.array([1, 2, 3, 2, 2, 0, 0], np.float32)  # D = 4
    dtm = pd.DataFrame({"measure": "idp_ind", "date": pd.Timestamp("2019-12-31"),
                        "admin1": ["Ay", "Bee", "Cee", "Dee"], "admin2": ["a", "b", "c", "d"],
                        "value": [10.0, 20.0, 30.0, 40.0]})  # fmt: skip
    ctx = make_ctx(ds, cells=(5, 1, 1), cell_admin1=adm, dtm=dtm)
    region_map = {"ay": "A", "bee": "B", "cee": "C", "dee": "D"}
    p, _ = pattern("dtm_spearman", years=(2019, 2019), params={"region_map": region_map},
                   low=0.5, high=1.0, uparams={"level": "admin1", "date": "2019-12-31"})  # fmt: skip
    row = evaluate([p], ctx).iloc[0]
    assert row["median"] == pytest.approx(1.0) and row["status"] == "pass"
    dtm["value"] = [40.0, 30.0, 20.0, 10.0]
    assert status(p, ctx) == "fail"
    p2 = p.model_copy(update={"unit": [Unit(unit="MLI", name="cercles", low=0.5,
                                            params={"level": "admin2", "date": "2019-12-31"})]})  # fmt: skip
    row = evaluate([p2], ctx).iloc[0]
    assert row["status"] == "not evaluated" and "admin-2" in row["note"]


def test_lever_response_paired():
    a = make_ds(members=10, years=(2025, 2025))
    b = a.copy(deep=True)
    b["deaths_total"][:] = a["deaths_total"].values + np.linspace(1, 2, 10)[:, None, None]
    ctx = Context(lever=lambda ref, name, y0, y1: (a, b))
    p, _ = pattern("lever_response", years=(2025, 2025), params={"level": 0.9},
                   unit="coup", name="coup", uparams={"outcome": "deaths_total", "countries": ["MLI", "BFA"]})  # fmt: skip
    row = evaluate([p], ctx).iloc[0]
    assert row["status"] == "pass" and row["median"] == pytest.approx(2 * 12 * 1.5, rel=0.05)
    b["deaths_total"][:] = a["deaths_total"].values + np.linspace(-1, 1, 10)[:, None, None]
    row = evaluate([p], ctx).iloc[0]
    assert row["status"] == "fail" and "inert" in row["note"]


def test_need_gives_reason():
    ctx = Context(missing={"observed_cy": "no UCDP rows"})
    with pytest.raises(NotEvaluated, match="no UCDP rows"):
        ctx.need("observed_cy")


def test_cell_areas_point_in_polygon():
    polys = pd.DataFrame({"name": ["west", "east"],
                          "geometry": [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]})  # fmt: skip
    out = cell_areas(np.array([0.5, 1.5, 3.0]), np.array([0.5, 0.5, 0.5]), polys)
    assert list(out) == ["west", "east", None]


# -- end to end ----------------------------------------------------------------------------------
def test_run_validation_synthetic(tmp_path):
    res = run_validation(data_dir=None, synthetic=True, members=6, lever_members=4,
                         out=tmp_path)  # fmt: skip
    rows = res.rows
    assert list(rows.columns) == COLUMNS
    assert set(rows["status"]) <= {"pass", "fail", "not evaluated", "reported"}
    real = rows[rows["pattern"].isin(["P1a", "P1b", "P1c", "P3", "P6a"])]
    assert (real["status"] == "not evaluated").all()
    model_only = rows[rows["pattern"].isin(["P4", "P7", "P8"])]
    assert (model_only["status"] != "not evaluated").all()
    assert np.isfinite(model_only["median"]).all()
    doc = json.loads((tmp_path / "validate.json").read_text(encoding="utf-8"))
    assert len(doc["rows"]) == len(rows) and doc["meta"]["synthetic"] is True
    assert len(pd.read_csv(tmp_path / "validate.csv")) == len(rows)
    assert not list(tmp_path.glob("*.tmp"))
    con = Console(width=200, record=True)
    con.print(render_table(res))
    text = con.export_text()
    assert "Pattern scorecard" in text and "not evaluated" in text


@pytest.mark.realdata
def test_run_validation_real_data(shared_data: Path, tmp_path):
    res = run_validation(data_dir=shared_data, members=8, lever_members=4)
    rows = res.rows.set_index(["pattern", "unit_name"])
    assert not res.meta["synthetic"]
    for pid in ("P1a", "P1b", "P2", "P3", "P4", "P5", "P6a", "P7"):
        sub = res.rows[res.rows["pattern"] == pid]
        assert (sub["status"] != "not evaluated").any(), pid
    assert rows.loc[("P2", "Mali"), "median"] == 2012
    assert rows.loc[("P5", "Mali"), "status"] == "reported"
    assert rows.loc[("P6b", "Mali cercles, Dec 2019"), "status"] == "not evaluated"


def test_observed_from_an_empty_store_says_why(store, tmp_path):
    ctx = Context()
    read_observed(ctx, None, store)
    assert ctx.observed_cy is None and "no UCDP country-year rows" in ctx.missing["observed_cy"]
    assert ctx.dtm is None and "IOM DTM" in ctx.missing["dtm"]
    ctx = Context()
    read_observed(ctx, None, tmp_path / "absent.duckdb")
    assert "does not exist" in ctx.missing["observed_cy"]
