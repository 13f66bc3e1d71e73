"""The claims audit: the claims file and its validation, the verdicts on the staged data, the
model comparisons, and the outputs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sahelsim.claims.audit as claims_mod
import sahelsim.claims.runner as runner_mod
from sahelsim.claims.audit import (
    AUDIT_COLUMNS,
    REQUIRED_IDS,
    SECTIONS,
    TESTS,
    VERDICTS,
    ClaimsError,
    audit,
    load_claims,
    write_claims,
)
from sahelsim.claims.trend import no_change, pooled_ratio, swing_correlation, trend_verdict
from sahelsim.core.canon import month_id_to_year_month, priogrid_gid
from sahelsim.data.fixtures import ged_frame, write_csv
from sahelsim.scenarios.run import HISTORY_START

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_26e342f7357a83bf.txt"
NOT_TESTABLE = "not testable with the data present"
MODEL_VERDICTS = ("model: consistent", "model: not consistent", "model: mixed")
MODEL_IDS = (
    "c03_state_territory_shrank",
    "c07_mali_state_controls_20pct",
    "c09_joint_force_too_small",
    "c11_state_atrocities_feed_recruitment",
    "c12_accords_trade_violence_for_governance",
    "c13_russia_protects_regimes_not_territory",
)


# -- the claims file ---------------------------------------------------------------------------


def test_claims_file_loads_and_covers_the_issue():
    claims = load_claims()
    ids = [c.id for c in claims]
    assert set(REQUIRED_IDS) <= set(ids)
    assert len(ids) == len(set(ids)) >= 20
    assert set(ids) == set(TESTS), "every claim needs a test and every test a claim"
    for c in claims:
        assert c.section in SECTIONS
        assert "\n" not in c.claim and c.sources_differ and c.data_test and c.model_test


@pytest.mark.skipif(not SEED.is_file(), reason="seed article not found next to the repo")
def test_claims_are_paraphrased_not_copied():
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))

    art = words(SEED.read_text(encoding="utf-8"))
    shingles = {tuple(art[i : i + 7]) for i in range(len(art) - 6)}
    for c in load_claims():
        for field in (c.claim, c.measure, c.sources_differ, c.data_test, c.model_test):
            w = words(field)
            copied = [" ".join(w[i : i + 7]) for i in range(len(w) - 6)
                      if tuple(w[i : i + 7]) in shingles]  # fmt: skip
            assert not copied, f"{c.id} copies the article: {copied[:2]}"


_GOOD = """
schema_version = 1
article = "x"
[[claim]]
id = "c01_test"
claim = "A paraphrased claim for the test."
section = "The Counterterrorism Illusion"
kind = "quantity"
evidence = "data"
measure = "deaths"
data_test = "compare"
model_test = "none"
sources_differ = "definitions differ between sources"
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("schema_version = 1\n[[claim]\n", "not valid TOML"),
        (_GOOD + "bogus = 1\n", "[[claim]] #1 (id='c01_test'), field bogus: unknown key"),
        (_GOOD.replace("The Counterterrorism Illusion", "Nowhere"), "not a heading"),
        (_GOOD + "article_value = 'lots'\n", "field article_value"),
        (_GOOD.replace('evidence = "data"', 'evidence = "vibes"'), "field evidence"),
        (_GOOD.replace('id = "c01_test"', 'id = "Claim 1"'), "field id"),
        (_GOOD + _GOOD[_GOOD.index("[[claim]]") :], "duplicate id 'c01_test'"),
        (_GOOD + 'article_dates = { aes_charter = "Sep 2023" }\n', "YYYY-MM"),
        (_GOOD.replace('kind = "quantity"\n', ""), "field kind: required key missing"),
    ],
)
def test_malformed_claims_file_gives_a_clear_error(tmp_path, text, expected):
    p = tmp_path / "claims.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ClaimsError) as exc:
        load_claims(p)
    msg = str(exc.value)
    assert str(p) in msg and expected in msg


def test_missing_claims_file(tmp_path):
    with pytest.raises(ClaimsError, match="cannot read"):
        load_claims(tmp_path / "absent.toml")


# -- the audit on the real data -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_store(shared_data, tmp_path_factory):
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all

    st = Store(tmp_path_factory.mktemp("claims") / "s.duckdb")
    ingest_all(shared_data, st)
    yield st
    st.close()


@pytest.fixture(scope="module")
def data_audit(real_store) -> pd.DataFrame:
    return audit(real_store, model=False)


def _check_table(df: pd.DataFrame) -> None:
    assert tuple(df.columns) == AUDIT_COLUMNS
    assert df["id"].is_unique and len(df) == len(load_claims())
    assert df["verdict"].isin(VERDICTS).all()
    assert df["evidence"].isin(["data", "model", "none"]).all()
    assert (df["figure"].str.len() > 10).all() and (df["why_sources_differ"].str.len() > 10).all()


def test_data_verdicts_on_real_data(data_audit, shared_data):
    _check_table(data_audit)
    a = data_audit.set_index("id")
    # 4: UCDP's deadliest year in Burkina Faso is 2023, not 2024
    r = a.loc["c04_bfa_deadliest_year_2024"]
    assert r.verdict == "contradicted" and r.evidence == "data"
    assert "6,122" in r.figure and "4,251" in r.figure
    assert r.source == "UCDP country-year v25.1"
    assert "civilians" in r.why_sources_differ
    # ...but on civilian deaths (HRW's measure) 2024 is the peak
    r = a.loc["c17_bfa_deadliest_year_civilians"]
    assert r.verdict == "supported" and "2,170" in r.figure
    # 5: UCDP one-sided killings by non-state groups, 1,237 (generous 1,375) < 2,300: UCDP is a
    # floor, so the sources differ rather than the claim being contradicted
    r = a.loc["c05_bfa_islamist_civilian_killings_2024"]
    assert r.verdict == "not consistent with the data"
    assert "1,237" in r.figure and "1,375" in r.figure and "2,300" in r.figure
    assert "conservative floor" in r.figure
    # 6: UCDP government one-sided killings, 795 >= 439
    r = a.loc["c06_bfa_state_civilian_killings_2024"]
    assert r.verdict == "supported" and "795" in r.figure and "439" in r.figure
    # 10: UNHCR IDPs + refugees and asylum seekers from the three countries, 2024
    pop = pd.read_csv(
        shared_data
        / "unhcr-refugee-statistics-2025.12.1"
        / "unhcr_population_westafrica_upto2024.csv.gz"
    )
    core = pop[pop.coo_iso.isin(["MLI", "BFA", "NER"]) & (pop.year == 2024)]
    idps = core.loc[core.coo_iso == core.coa_iso, "idps"].sum()
    refs = core.loc[core.coo_iso != core.coa_iso, ["refugees", "asylum_seekers"]].sum().sum()
    r = a.loc["c10_two_million_displaced"]
    assert r.verdict == "supported" and r.source.startswith("UNHCR refugee statistics 2025.12.1")
    assert f"{idps + refs:,.0f}" in r.figure and "2,062,534" in r.figure
    # trends: per country and pooled, against a no-change forecast from the years before
    for cid, observed in (
        ("c01_attacks_up_since_aes", "6,233"),
        ("c02_civilian_casualties_up_since_aes", "3,247"),
    ):
        r = a.loc[cid]
        assert r.evidence == "data" and r.verdict == "mixed"
        for part in ("Mali:", "Burkina Faso:", "Niger:", "pooled: 2024 observed", "sensitivity"):
            assert part in r.figure
        assert "within the expected range" in r.figure and "RR" not in r.figure
        assert re.fullmatch(
            r"pooled: expected [\d,]+-[\d,]+ a year \(90 %, no-change forecast from 2021-22\); "
            rf"observed {observed}",
            r.interval,
        ), r.interval
    r = a.loc["c14_mali_attacks_up_after_minusma"]
    assert r.figure.startswith(
        "Mali: 2024 observed 1,556 a year; a no-change forecast from 2021-22"
    )
    assert r.verdict == "mixed" and r.interval.endswith("observed 1,556")
    r = a.loc["c15_terrorism_deaths_up_since_coups"]
    # each country within its own range; pooled 2.26 times, inside 0.38-2.61 once the
    # countries' swings are allowed to move together (as independent: 0.56-1.78, "supported")
    assert r.verdict == "mixed" and "Burkina Faso (coup 2022): 2023-24 observed" in r.figure
    assert "moving together: correlation" in r.figure
    assert r.interval.startswith("pooled: expected ") and "times" in r.interval
    assert a.loc["c18_institutional_chronology", "verdict"] == "supported"
    assert a.loc["c19_joint_force_announced_dec_2024", "verdict"] == "mixed"
    # no event data staged: the Nondin/Soro toll cannot be checked event by event
    assert a.loc["c16_nondin_soro_223", "verdict"] == NOT_TESTABLE
    # without the model, the model-only claims say so
    for cid in MODEL_IDS:
        assert a.loc[cid, "verdict"] == NOT_TESTABLE and "model not run" in a.loc[cid, "figure"]


def test_model_verdicts_with_intervals(real_store, shared_data, data_audit):
    df = audit(real_store, model=True, members=8, months=168, data_dir=shared_data)
    _check_table(df)
    a = df.set_index("id")
    for cid in MODEL_IDS:
        r = a.loc[cid]
        assert r.evidence == "model", cid
        assert r.verdict in MODEL_VERDICTS, cid
        assert claims_mod.model_label() not in r.figure + r.source  # stated once, per table
        assert re.search(r"\[[-+]?\d", r.interval), (cid, r.interval)
        assert "8 members" in r.source and "real grid" in r.source
    assert "vs 0.20 +/- 0.10" in a.loc["c07_mali_state_controls_20pct", "interval"]
    r = a.loc["c08_attrition_2p5pct_sustainable"]
    assert r.verdict == NOT_TESTABLE and r.evidence == "model" and "attrition" in r.figure
    # the data verdicts do not depend on the model
    d = data_audit.set_index("id")
    data_ids = d.index[d.evidence == "data"]
    pd.testing.assert_series_equal(a.loc[data_ids, "verdict"], d.loc[data_ids, "verdict"])
    prov = df.attrs["provenance"]["model"]
    assert prov["parameters"] == claims_mod.model_label() and prov["members"] == 8
    assert data_audit.attrs["provenance"]["model"] is None


def test_write_claims(data_audit, tmp_path):
    paths = write_claims(data_audit, tmp_path / "out")
    names = ["claims_audit.csv", "claims_audit.json", "claims_audit_meta.json"]
    assert [p.name for p in paths] == names
    back = pd.read_csv(paths[0], keep_default_na=False)
    assert list(back["id"]) == list(data_audit["id"])
    recs = json.loads(paths[1].read_text(encoding="utf-8"))
    assert len(recs) == len(data_audit) and set(recs[0]) == set(AUDIT_COLUMNS)
    meta = json.loads(paths[2].read_text(encoding="utf-8"))
    assert meta["rows"] == len(data_audit) and meta["provenance"]["model"] is None
    assert "model: consistent / not consistent / mixed" in meta["provenance"]["verdicts"]
    assert not list((tmp_path / "out").glob(".claims_audit*"))  # no temporary files left
    with pytest.raises(ValueError, match="missing column"):
        write_claims(data_audit.drop(columns=["verdict"]), tmp_path)


# -- without the real data -----------------------------------------------------------------------


def test_empty_store_gives_not_testable_with_reason(store):
    df = audit(store, model=False)
    _check_table(df)
    a = df.set_index("id")
    r = a.loc["c04_bfa_deadliest_year_2024"]
    assert r.verdict == NOT_TESTABLE and "ingest" in r.figure
    # the timeline does not need the store
    assert a.loc["c18_institutional_chronology", "verdict"] == "supported"


def test_nondin_soro_checked_on_ged_events(store, tmp_path):
    f = ged_frame(40, seed=5, start="2024-01-01", end="2024-12-31")
    f = f[~f.date_start.str.startswith("2024-02-2")].reset_index(drop=True)
    rows = []
    for i, (place, best, low, high) in enumerate(
        [("Nondin", 100, 90, 130), ("Soro", 123, 100, 150)]
    ):
        r = f.iloc[i].copy()
        r.update({
            "type_of_violence": "3", "side_a": "Government of Burkina Faso", "side_b": "Civilians",
            "dyad_name": "Government of Burkina Faso - Civilians", "conflict_name":
            "Government of Burkina Faso - Civilians", "country": "Burkina Faso",
            "country_id": "439", "gwnoa": "439", "latitude": "13.4", "longitude": "-1.3",
            "geom_wkt": "POINT (-1.3 13.4)", "priogrid_gid": str(int(priogrid_gid(13.4, -1.3))), "adm_1": "Nord",
            "where_coordinates": place, "year": "2024", "date_start": "2024-02-25 00:00:00.000",
            "date_end": "2024-02-25 00:00:00.000", "best": str(best), "low": str(low),
            "high": str(high), "deaths_civilians": str(best), "deaths_a": "0", "deaths_b": "0",
            "deaths_unknown": "0",
        })  # fmt: skip
        rows.append(r)
    f = pd.concat([f, pd.DataFrame(rows)], ignore_index=True)
    rep = store.ingest_events(write_csv(f, tmp_path / "GEDEvent_v25_1.csv"), fmt="ged_csv")
    assert rep.rows_quarantined == 0
    a = audit(store, model=False).set_index("id")
    r = a.loc["c16_nondin_soro_223"]
    assert r.verdict == "supported" and r.evidence == "data", r.figure
    assert "2 one-sided event(s)" in r.figure and "best 223" in r.figure
    assert r.source.startswith("UCDP GED")


def test_model_needs_the_projection_years(store):
    with pytest.raises(ValueError, match="2025-12"):
        audit(store, model=True, members=4, months=120)
    with pytest.raises(ValueError, match="members"):
        audit(store, model=True, members=1)


# -- crafted inputs: the verdict rules themselves ------------------------------------------------

YEARS = list(range(2017, 2026))
_CLAIMS = {c.id: c for c in load_claims()}


def _country_year(years: list[int] = YEARS, **columns: dict[str, list[float]]) -> pd.DataFrame:
    """A UCDP country-year table for MLI, BFA, NER over ``years``: every count 100 a year
    unless ``columns`` gives a column's yearly values per country."""
    rows = []
    for iso in ("MLI", "BFA", "NER"):
        for i, year in enumerate(years):
            row = {"iso3": iso, "year": year, "ucdp_version": "25.1", "idps_unhcr": 1000.0}
            for col in (
                "deaths_state_based", "deaths_non_state", "civilians_killed_by_nonstate",
                "civilian_deaths", "civilians_killed_by_government", "deaths_total",
                "deaths_total_low", "deaths_total_high", "idps", "refugees_abroad",
            ):  # fmt: skip
                row[col] = float(columns.get(col, {}).get(iso, [100.0] * len(years))[i])
            rows.append(row)
    return pd.DataFrame(rows)


def _run_data_test(store, cid: str, cy: pd.DataFrame):
    return claims_mod.TESTS[cid](_CLAIMS[cid], claims_mod.Context(store, None, cy=cy))


def _by_year(
    values: dict[int, float], default: float = 100.0, years: list[int] = YEARS
) -> list[float]:
    return [float(values.get(y, default)) for y in years]


#: Trend tests need the ten years of swings before the earliest before year (2017, Mali's coup).
LONG = list(range(2005, 2026))


def _long(values: dict[int, float], default: float = 100.0) -> list[float]:
    return _by_year(values, default, LONG)


def _trend_test(store, cid: str, **columns: dict[str, list[float]]):
    return _run_data_test(store, cid, _country_year(LONG, **columns))


def _expected(interval: str) -> tuple[float, float]:
    m = re.search(r"expected ([\d,.]+)-([\d,.]+) ", interval)
    assert m, interval
    return float(m.group(1).replace(",", "")), float(m.group(2).replace(",", ""))


def test_trend_verdicts_on_crafted_counts(store):
    # the AES charter is in 2023: a no-change forecast from 2021-22 for 2024-25 (2023 left out)
    c02 = "c02_civilian_casualties_up_since_aes"
    up = {iso: _long({2024: 300, 2025: 300}) for iso in ("MLI", "BFA", "NER")}
    r = _trend_test(store, c02, civilian_deaths=up)
    assert r.verdict == "supported" and r.evidence == "data"
    assert (
        "pooled: 2024-25 observed 900 a year; a no-change forecast from 2021-22 (300 a year; "
        "year-to-year swings from 2012-22) expected " in r.figure
    )
    assert "-> above the expected range (supported)" in r.figure
    assert r.interval.startswith("pooled: expected ") and r.interval.endswith("observed 900")
    assert "a year (90 %, no-change forecast from 2021-22)" in r.interval
    low, high = _expected(r.interval)
    assert low < 300 < high < 900
    down = {iso: _long({2024: 20, 2025: 20}) for iso in ("MLI", "BFA", "NER")}
    r = _trend_test(store, c02, civilian_deaths=down)
    assert r.verdict == "contradicted" and "-> below the expected range (contradicted)" in r.figure
    assert _expected(r.interval)[0] > 60
    # pooled up, but one country clearly down: mixed, and the disagreement said plainly
    split = {"MLI": _long({2024: 1000, 2025: 1000}), "BFA": _long({2024: 10, 2025: 10}),
             "NER": _long({})}  # fmt: skip
    r = _trend_test(store, c02, civilian_deaths=split)
    assert "-> above the expected range (supported)" in r.figure.split("pooled:")[1]
    assert r.verdict == "mixed"
    assert (
        "the comparisons differ: Mali, pooled supported; Burkina Faso contradicted; Niger mixed"
        in r.figure
    )
    # flat: jihadist deaths = state-based + non-state + one-sided by non-state groups (3 x 100)
    r = _trend_test(store, "c01_attacks_up_since_aes")
    assert "pooled: 2024-25 observed 900 a year; a no-change forecast from 2021-22 (900 a year" in (
        r.figure
    )
    assert r.verdict == "mixed" and "-> within the expected range (mixed)" in r.figure
    assert "the observed level is about the same as the before years' level" in r.figure
    assert "within what the earlier years' level and swings would produce" in r.figure
    # a rise that shows only when the charter year counts as after: the sensitivity says so
    late = {iso: _long({2023: 400, 2024: 100, 2025: 100}) for iso in ("MLI", "BFA", "NER")}
    r = _trend_test(store, c02, civilian_deaths=late)
    assert r.verdict == "mixed"
    assert "[sensitivity (2023 counted as after): 2023-25 observed " in r.figure
    assert "the sensitivity comparison (2023 counted as after) gives supported" in r.figure
    # Mali only, MINUSMA left in 2023: 2021-22 against 2024-25
    mali = {"MLI": _long({2024: 500, 2025: 500})}
    r = _trend_test(store, "c14_mali_attacks_up_after_minusma", deaths_non_state=mali)
    assert r.verdict == "supported"
    assert r.figure.startswith(
        "Mali: 2024-25 observed 700 a year; a no-change forecast from 2021-22 (300 a year"
    )
    assert "[sensitivity (from 2020-22): 2024-25 observed 700 a year" in r.figure
    assert not r.interval.startswith("pooled") and r.interval.endswith("observed 700")
    # coups: MLI 2020, BFA 2022, NER 2023; three years before each against the years after
    c15 = "c15_terrorism_deaths_up_since_coups"
    flat = _trend_test(store, c15)
    assert flat.verdict == "mixed"
    assert (
        "Mali (coup 2020): 2021-25 observed 300 a year; a no-change forecast from 2017-19 "
        "(300 a year; year-to-year swings from 2009-19)" in flat.figure
    )
    assert "after the coups 1.00 times the no-change forecasts" in flat.figure
    rise = {"MLI": _long({y: 400 for y in range(2021, 2026)}),
            "BFA": _long({y: 400 for y in range(2023, 2026)}), "NER": _long({2024: 400, 2025: 400})}  # fmt: skip
    r = _trend_test(store, c15, deaths_non_state=rise)
    assert r.verdict == "supported" and "-> above the expected range (supported)" in r.figure
    assert "observed 2.00 times" in r.interval  # (600 + 1) / (300 + 1) in every country


def test_pooling_allows_for_countries_moving_together():
    """Series whose swings move together pool to a wider no-change range than independent
    ones (pooling correlated countries as independent overstates the evidence)."""
    rng = np.random.default_rng(5)
    years = list(range(2008, 2026))
    a = 800 * np.exp(rng.normal(0, 0.4, len(years)))
    b = 800 * np.exp(rng.normal(0, 0.4, len(years)))
    sa = pd.Series(a, index=years)
    same = [no_change(sa, [2020, 2021], [2023, 2024])] * 2
    indep = [same[0], no_change(pd.Series(b, index=years), [2020, 2021], [2023, 2024])]
    assert swing_correlation(same) == pytest.approx(1.0)
    assert 0.0 <= swing_correlation(indep) < 0.9
    ps, pi = pooled_ratio(same), pooled_ratio(indep)
    assert ps.correlation == pytest.approx(1.0) and ps.series == pi.series == 2
    width = lambda p: math.log(p.high) - math.log(p.low)  # noqa: E731
    assert width(ps) > width(pi)
    # fully correlated: the pooled range is as wide as one series' own (same swings, same df)
    one = same[0]
    half_one = math.log1p(one.high) - math.log1p(one.level)
    assert math.log(ps.high) == pytest.approx(half_one, rel=1e-9)


def test_trend_forecast_ignores_the_after_years(store):
    """Only years up to the last before year make the forecast: changing 2024-25 moves the
    observed level, never the expected range."""
    rng = np.random.default_rng(13)
    base = {iso: list(rng.integers(200, 2000, len(LONG)).astype(float)) for iso in ("MLI", "BFA", "NER")}  # fmt: skip
    other = {iso: list(v) for iso, v in base.items()}
    for v in other.values():
        v[LONG.index(2024)] *= 7.0
        v[LONG.index(2025)] = 0.0
    for cid in ("c01_attacks_up_since_aes", "c14_mali_attacks_up_after_minusma"):
        a = _trend_test(store, cid, deaths_state_based=base)
        b = _trend_test(store, cid, deaths_state_based=other)
        assert _expected(a.interval) == _expected(b.interval)
        assert a.interval.split("; observed")[1] != b.interval.split("; observed")[1]
    a = no_change(dict(zip(LONG, base["MLI"], strict=True)), [2021, 2022], [2024, 2025])
    b = no_change(dict(zip(LONG, other["MLI"], strict=True)), [2021, 2022], [2024, 2025])
    assert (a.level, a.low, a.high, a.sd_year) == (b.level, b.low, b.high, b.sd_year)
    assert a.observed != b.observed
    # ...while a year before the event does move it
    earlier = dict(zip(LONG, base["MLI"], strict=True)) | {2016: 20_000.0}
    assert no_change(earlier, [2021, 2022], [2024, 2025]).high > a.high


def test_larger_earlier_swings_give_a_wider_interval(store):
    smooth = _long({}, 1000.0)
    swings = _long({y: (400.0 if y % 2 else 2500.0) for y in range(2012, 2021)}, 1000.0)
    r_smooth = _trend_test(store, "c14_mali_attacks_up_after_minusma",
                           deaths_non_state={"MLI": smooth})  # fmt: skip
    r_swings = _trend_test(store, "c14_mali_attacks_up_after_minusma",
                           deaths_non_state={"MLI": swings})  # fmt: skip
    lo_s, hi_s = _expected(r_smooth.interval)
    lo_w, hi_w = _expected(r_swings.interval)
    assert lo_w < lo_s and hi_w > hi_s
    assert hi_w / max(lo_w, 1.0) > 3 * hi_s / lo_s
    # a rise to 2,000 a year stands out of a smooth history, not of one that swung 400-2,500
    up = {2024: 2000.0, 2025: 2000.0}
    r = _trend_test(store, "c14_mali_attacks_up_after_minusma",
                    deaths_non_state={"MLI": [max(v, up.get(y, 0)) for y, v in zip(LONG, smooth, strict=True)]})  # fmt: skip
    assert r.verdict == "supported"
    r = _trend_test(store, "c14_mali_attacks_up_after_minusma",
                    deaths_non_state={"MLI": [up.get(y, v) for y, v in zip(LONG, swings, strict=True)]})  # fmt: skip
    assert r.verdict == "mixed"


def test_trend_zero_counts_and_bad_input(store):
    # all zero: no swings can be measured (no year reaches 25 deaths); said, not crashed
    zero = {iso: _long({}, 0.0) for iso in ("MLI", "BFA", "NER")}
    r = _trend_test(store, "c02_civilian_casualties_up_since_aes", civilian_deaths=zero)
    assert r.verdict == NOT_TESTABLE and "at least 25" in r.figure
    assert r.interval.startswith("pooled: not testable")
    # active history, then zero before and after: a level of 0 with counting noise, mixed
    quiet = {y: 0.0 for y in range(2021, 2026)}
    nc = no_change(dict(zip(LONG, _long(quiet, 300.0), strict=True)), [2021, 2022], [2024, 2025])
    assert nc.testable and nc.level == 0.0 and nc.low == 0.0 and 0 < nc.high < 100
    assert trend_verdict(nc) == "mixed"
    nc = no_change(dict(zip(LONG, _long(quiet | {2024: 500.0}, 300.0), strict=True)), [2021, 2022], [2024])  # fmt: skip
    assert trend_verdict(nc) == "supported"
    with pytest.raises(ValueError, match="every before year must precede every after year"):
        no_change({2020: 1.0}, [2021, 2022], [2022, 2023])
    with pytest.raises(ValueError, match=re.escape("count -5.0 in year 2019 is negative")):
        no_change({2019: -5.0}, [2021], [2023])
    nc = no_change({2021: 5.0, 2022: 5.0}, [2021, 2022], [2024])
    assert not nc.testable and "after years" in nc.reason


def test_figure_verdicts_on_crafted_counts(store):
    bfa = {"BFA": _by_year({2023: 5000, 2024: 4000})}
    r = _run_data_test(store, "c04_bfa_deadliest_year_2024", _country_year(deaths_total=bfa))
    assert r.verdict == "contradicted"
    assert "2023 5,000 > 2024 4,000; 2024 ranks 2 of 9 years (2017-2025)" in r.figure
    bfa = {"BFA": _by_year({2023: 3000, 2024: 4000})}
    r = _run_data_test(store, "c04_bfa_deadliest_year_2024", _country_year(deaths_total=bfa))
    assert r.verdict == "supported" and "previous peak 2023 3,000" in r.figure

    # c05: more than 2,300 civilians killed by Islamist groups; UCDP is a floor
    def c05(nonstate: float, civ: float, govt: float):
        cy = _country_year(
            civilians_killed_by_nonstate={"BFA": _by_year({2024: nonstate})},
            civilian_deaths={"BFA": _by_year({2024: civ})},
            civilians_killed_by_government={"BFA": _by_year({2024: govt})},
        )
        return _run_data_test(store, "c05_bfa_islamist_civilian_killings_2024", cy)

    assert c05(2400, 3000, 100).verdict == "supported"
    r = c05(1500, 3000, 500)  # generous count 3,000 - 500 = 2,500 reaches 2,300
    assert r.verdict == "consistent with the data" and "generous 2,500" in r.interval
    r = c05(1150, 1500, 300)
    assert r.verdict == "not consistent with the data" and "contradicted" not in r.verdict
    assert "UCDP records 50% of the article's figure (52% with the generous count)" in r.figure
    # c06: no fewer than 439 killed by the state side
    govt = {"BFA": _by_year({2024: 878})}
    r = _run_data_test(store, "c06_bfa_state_civilian_killings_2024",
                       _country_year(civilians_killed_by_government=govt))  # fmt: skip
    assert r.verdict == "supported" and "878 vs the article's floor of 439 (2.0 times" in r.figure
    govt = {"BFA": _by_year({2024: 200})}
    r = _run_data_test(store, "c06_bfa_state_civilian_killings_2024",
                       _country_year(civilians_killed_by_government=govt))  # fmt: skip
    assert r.verdict == "not consistent with the data" and "conservative floor" in r.figure
    # c10: over two million displaced (IDPs + refugees and asylum seekers abroad)
    big = {iso: _by_year({2025: 400_000}) for iso in ("MLI", "BFA", "NER")}
    r = _run_data_test(store, "c10_two_million_displaced",
                       _country_year(idps=big, refugees_abroad=big))  # fmt: skip
    assert r.verdict == "supported" and "= 2,400,000 displaced" in r.figure
    r = _run_data_test(store, "c10_two_million_displaced", _country_year())
    assert r.verdict == "contradicted" and "= 600 displaced" in r.figure


# -- crafted model runs --------------------------------------------------------------------------


def _fake_run(scenario, *, members, months, **_kw):
    """A known dataset per scenario: the acceleration run with the changes each variant is meant
    to show (restraint lowers JNIM; Russian troops raise legitimacy; accords cut deaths)."""
    overrides = {c.lever: c.value for c in scenario.changes if c.note == "override"}
    month = np.arange(HISTORY_START, HISTORY_START + months)
    t = (month - HISTORY_START).astype(float)
    shape = (members, months, 3)
    noise = np.arange(members, dtype=float)[:, None, None] * np.ones(shape)
    const = np.ones(shape)
    v = {
        "territory_state": 0.5 + 0.001 * t[None, :, None] * const,  # grows: c03, c07 fail
        "territory_jnim": 0.2 * const, "territory_issp": 0.05 * const,
        "territory_other": 0.02 * const, "territory_contested": 0.05 * const,
        "territory_ungoverned": 0.03 * const, "idps": 1e5 * const, "refugees": 1e5 * const,
        "fighters_jnim": 1000 + noise, "fighters_issp": 500 + 0 * noise,
        "legitimacy": 0.4 + 0.01 * noise, "coups": 0 * const, "dependency": 0.3 * const,
        "deaths_total": 100 + noise, "deaths_state_based": 60 * const,
        "deaths_one_sided": 40 * const, "civilians_killed_by_state_side": 10 * const,
        "civilians_killed_by_jnim": 5 * const, "civilians_killed_by_issp": 5 * const,
        "civilians_killed_by_other_groups": 0 * const,
        "governance_jnim": 0.1 * const,
    }  # fmt: skip
    late = (month >= claims_mod.ModelRuns(None, 2, 0, months).projection_start)[None, :, None]
    if overrides.get("restraint") == 0.8:
        v["fighters_jnim"] = v["fighters_jnim"] - 100 * late
        v["civilians_killed_by_state_side"] = np.where(late, 2.0, 10.0) * const
    if "russia_personnel" in overrides:
        v["legitimacy"] = v["legitimacy"] + 0.05 * late
    if scenario.name.startswith("accommodation"):
        v["deaths_total"] = v["deaths_total"] - 50 * late
        v["governance_jnim"] = v["governance_jnim"] + 0.2 * late
    years = month_id_to_year_month(month)[0]
    return xr.Dataset(
        {k: (("member", "month", "country"), np.asarray(a, dtype=float)) for k, a in v.items()},
        coords={
            "member": np.arange(members),
            "month": month,
            "year": ("month", years),
            "country": ["MLI", "BFA", "NER"],
        },
    )


def test_model_verdicts_on_crafted_runs(store, monkeypatch):
    seen = []

    def run(scenario, **kw):
        seen.append(scenario.name)
        assert kw["members"] == 5 and kw["months"] == 168 and kw["seed"] == 3
        return _fake_run(scenario, **kw)

    monkeypatch.setattr(runner_mod, "run_scenario", run)
    a = audit(store, model=True, members=5, months=168, seed=3).set_index("id")
    assert len(seen) == 7  # each scenario run once, however many claims use it
    # restraint lowers JNIM fighters by exactly 100 in every member: consistent
    r = a.loc["c11_state_atrocities_feed_recruitment"]
    assert r.verdict == "model: consistent" and r.evidence == "model"
    assert "JNIM fighters -100 [-100, -100] (-10.0% of 1,002) -> model: consistent" in r.figure
    assert "civilians killed by the state side -96 [-96, -96]" in r.figure
    # the state's share grows by 0.1 pp a month: it did not shrink after the charter
    r = a.loc["c03_state_territory_shrank"]
    assert r.verdict == "model: not consistent"
    assert (
        "MLI: state share 63.9% (2023-08) -> 66.4% (2025-09), change +2.5 pp [+2.5, +2.5]"
        in r.figure
    )
    # Mali's state share in 2025 is about 66 %, far from the article's 20 % +/- 10 %
    r = a.loc["c07_mali_state_controls_20pct"]
    assert r.verdict == "model: not consistent" and "2025: 66% [66%, 66%]" in r.figure
    # more Russians: no territorial change, higher legitimacy -> consistent
    r = a.loc["c13_russia_protects_regimes_not_territory"]
    assert r.verdict == "model: consistent" and "legitimacy +0.050 [+0.050, +0.050]" in r.figure
    # the joint force changes nothing at any size
    r = a.loc["c09_joint_force_too_small"]
    assert r.verdict == "model: mixed" and "neither 5,000 nor 15,000" in r.figure
    # accords cut deaths by 50 a month (12 projection months) and raise JNIM governance
    r = a.loc["c12_accords_trade_violence_for_governance"]
    assert r.verdict == "model: consistent" and "deaths -600 [-600, -600]" in r.figure
    r = a.loc["c08_attrition_2p5pct_sustainable"]
    assert r.verdict == NOT_TESTABLE and "ratio 1.00 [1.00, 1.00]" in r.figure
    for cid in MODEL_IDS:
        assert (
            "contradicted" not in a.loc[cid, "verdict"] and "synthetic grid" in a.loc[cid, "source"]
        )
