"""Tests for the institutional timeline and the before/after statistics (sahelsim.timeline)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from sahelsim.core.canon import month_id
from sahelsim.core.errors import InputFormatError
from sahelsim.evidence.timeline import (
    ARTICLE_SECTIONS,
    EFFECT_TAGS,
    EVENT_KINDS,
    TIMELINE_COLUMNS,
    before_after,
    compare_around,
    events_between,
    load_timeline,
    timeline_effects,
)

UCDP_CY = "ucdp-organized-violence-cy-v25.1/ucdp_orgvio_cy_v25_1_westafrica.csv.gz"


@pytest.fixture(scope="module")
def tl():
    return load_timeline()


# -- the packaged timeline -------------------------------------------------------------------------

#: Dates asked for in the brief (MODEL.md 3.1 and the seed article), checked against sources.
EXPECTED_DATES = {
    "mli_coup_2020": "2020-08-18",
    "mli_coup_2021": "2021-05-24",
    "bfa_coup_2022_jan": "2022-01-24",
    "bfa_coup_2022_sep": "2022-09-30",
    "ner_coup_2023": "2023-07-26",
    "fra_barkhane_leaves_mli": "2022-08-15",
    "fra_sabre_leaves_bfa": "2023-02-18",
    "fra_leaves_ner": "2023-12-22",
    "minusma_mandate_end": "2023-06-30",
    "minusma_withdrawal_complete": "2023-12-31",
    "aes_charter": "2023-09-16",
    "mli_leaves_g5": "2022-05-15",
    "bfa_ner_leave_g5": "2023-12-02",
    "aes_ecowas_exit_announced": "2024-01-28",
    "aes_ecowas_exit_effective": "2025-01-29",
    "aes_confederation": "2024-07-06",
    "nondin_soro_massacres": "2024-02-25",
    "barsalogho_attack": "2024-08-24",
    "moura_massacre": "2022-03-27",
    "mli_algiers_accord_ended": "2024-01-25",
    "fra_serval_start": "2013-01-11",
    "minusma_start": "2013-07-01",
    "ecowas_sanctions_mli": "2022-01-09",
    "ecowas_sanctions_mli_lifted": "2022-07-03",
    "ecowas_sanctions_ner": "2023-07-30",
    "ecowas_sanctions_ner_lifted": "2024-02-24",
}


def test_timeline_loads_sorted_with_the_documented_columns(tl):
    assert list(tl.columns) == list(TIMELINE_COLUMNS)
    assert tl["date"].is_monotonic_increasing
    assert tl["date"].dtype.kind == "M"
    assert tl["kind"].isin(EVENT_KINDS).all()
    assert (tl["source"].str.len() > 10).all()
    assert tl["article_section"].dropna().isin(ARTICLE_SECTIONS).all()
    ym = month_id(tl["date"].dt.year.to_numpy(), tl["date"].dt.month.to_numpy())
    assert (tl["month_id"].to_numpy() == ym).all()
    assert (tl["year"] == tl["date"].dt.year).all()


def test_brief_dates(tl):
    first = tl.drop_duplicates("id").set_index("id")
    for ev, date in EXPECTED_DATES.items():
        assert first.loc[ev, "date"] == pd.Timestamp(date), ev
    assert first.loc["moura_massacre", "date_end"] == pd.Timestamp("2022-03-31")
    assert first.loc["rus_wagner_arrival_mli", "date"].strftime("%Y-%m") == "2021-12"
    assert first.loc["rus_africa_corps_takeover_mli", "date"].strftime("%Y-%m") == "2025-06"
    g5_end = first.loc["g5_dissolution", "date"]
    assert (g5_end.year, g5_end.month) == (2023, 12)


def test_aes_charter_expands_to_three_rows_with_month_id_525(tl):
    rows = tl[tl["id"] == "aes_charter"]
    assert sorted(rows["iso3"]) == ["BFA", "MLI", "NER"]
    assert (rows["scope"] == "AES").all()
    assert (rows["date"] == pd.Timestamp("2023-09-16")).all()
    assert (rows["month_id"] == 525).all()
    assert sorted(tl.loc[tl["id"] == "bfa_ner_leave_g5", "iso3"]) == ["BFA", "NER"]
    compact = load_timeline(expand=False)
    assert compact["id"].is_unique
    assert compact.set_index("id").loc["aes_charter", "iso3"] == "AES"


def test_effects_are_known_tags_and_coups_change_regimes(tl):
    eff = timeline_effects(tl)
    assert set(eff["tag"]) <= set(EFFECT_TAGS)
    coups = tl[tl["kind"] == "coup"]
    assert len(coups.drop_duplicates("id")) == 5
    for e in coups["effects"]:
        assert json.loads(e) == {"regime_change": 1.0}
    french = eff[(eff["tag"] == "french_forces") & (eff["value"] < 0)]
    assert sorted(french["iso3"]) == ["BFA", "MLI", "NER"]
    jf = eff[eff["tag"] == "joint_force_troops"]
    assert (jf["value"] == 5000).all() and len(jf) == 3


def test_events_between(tl):
    out = events_between("2023-01-01", "2023-12-31", timeline=tl, kinds=["withdrawal"])
    assert set(out["id"]) == {
        "fra_sabre_leaves_bfa",
        "bfa_ner_leave_g5",
        "fra_leaves_ner",
        "minusma_withdrawal_complete",
    }
    ner = events_between("2023-07-26", "2023-07-26", timeline=tl, iso3="NER")
    assert ner["id"].tolist() == ["ner_coup_2023"]  # both ends inclusive
    with pytest.raises(ValueError, match="before start"):
        events_between("2024-01-01", "2023-01-01", timeline=tl)
    with pytest.raises(ValueError, match="unknown event kind"):
        events_between("2020-01-01", "2025-01-01", timeline=tl, kinds=["putsch"])


# -- bad timeline files ----------------------------------------------------------------------------

GOOD = """
schema_version = 1
[[event]]
id = "aes_charter"
date = 2023-09-16
iso3 = "AES"
kind = "alliance"
label = "charter signed"
effects = { aes_alliance = 1 }
article_section = "The Alliance That Cannot Win"
source = "Liptako-Gourma Charter"
[[event]]
id = "ner_coup_2023"
date = 2023-07-26
date_end = 2023-07-28
iso3 = "NER"
kind = "coup"
label = "coup in Niger"
source = "BBC News, 28 Jul 2023"
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "timeline.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_small_file_loads_and_curly_apostrophes_are_accepted(tmp_path):
    text = GOOD.replace("The Alliance That Cannot Win", "Fragmentation\u2019s Feedback Loops")
    out = load_timeline(_write(tmp_path, text))
    assert out["id"].tolist() == ["ner_coup_2023"] + ["aes_charter"] * 3
    assert out.loc[1, "article_section"] == "Fragmentation's Feedback Loops"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param('kind = "coup"', 'kind = "putsch"', r"id='ner_coup_2023'.*Input should be",
                     id="unknown kind"),
        pytest.param("aes_alliance = 1", "aes_aliance = 1", r"unknown effect tag", id="effect tag"),
        pytest.param('iso3 = "NER"', 'iso3 = "XYZ"', r"unknown ISO3", id="iso3"),
        pytest.param('id = "ner_coup_2023"', 'id = "aes_charter"', r"duplicate id 'aes_charter'",
                     id="duplicate id"),
        pytest.param("The Alliance That Cannot Win", "Chapter One",
                     r"not a heading of the seed article", id="article section"),
        pytest.param("date = 2023-07-26", "date = 2023-07-26T10:00:00", r"without a time of day",
                     id="time of day"),
        pytest.param("date_end = 2023-07-28", "date_end = 2023-07-01", r"before date",
                     id="end before start"),
        pytest.param('source = "BBC News, 28 Jul 2023"', "", r"source", id="no source"),
    ],
)  # fmt: skip
def test_bad_timelines_give_clear_errors(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(InputFormatError, match=message) as info:
        load_timeline(_write(tmp_path, GOOD.replace(old, new, 1)))
    assert "timeline.toml" in str(info.value)


def test_timeline_syntax_error(tmp_path):
    with pytest.raises(InputFormatError, match="invalid TOML"):
        load_timeline(_write(tmp_path, GOOD + "\n[[event]\n"))


# -- before/after: known cases ---------------------------------------------------------------------


def _cp_by_root_finding(k: int, n: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson bounds for a binomial proportion, from the binomial tails directly."""
    a = (1 - level) / 2
    lo = (
        0.0
        if k == 0
        else optimize.brentq(lambda p: stats.binom.sf(k - 1, n, p) - a, 1e-12, 1 - 1e-12)
    )
    hi = (
        1.0 if k == n else optimize.brentq(lambda p: stats.binom.cdf(k, n, p) - a, 1e-12, 1 - 1e-12)
    )
    return lo, hi


def test_exact_interval_matches_a_hand_computation():
    # 3 years at 10 deaths each, then 3 years at 20: y_b = 30, y_a = 60, equal exposure
    counts = pd.Series([10, 10, 10, 99, 20, 20, 20], index=range(2017, 2024))
    res = before_after(counts, None, 2020, 3, level=0.9)
    assert (res.n_before, res.n_after, res.total_before, res.total_after) == (3, 3, 30, 60)
    assert res.rate_ratio == pytest.approx(2.0)
    lo, hi = _cp_by_root_finding(60, 90, 0.9)
    assert res.rr_low_exact == pytest.approx(lo / (1 - lo), rel=1e-7)
    assert res.rr_high_exact == pytest.approx(hi / (1 - hi), rel=1e-7)
    # Wald on log RR with Poisson variance (dispersion is 0 here, floored at 1)
    se = math.sqrt(1 / 60 + 1 / 30)
    z = stats.norm.ppf(0.95)
    assert res.dispersion == pytest.approx(0.0)
    assert res.rr_low_overdispersed == pytest.approx(2 * math.exp(-z * se))
    assert res.rr_high_overdispersed == pytest.approx(2 * math.exp(z * se))
    assert res.p_value == pytest.approx(stats.binomtest(60, 90, 0.5).pvalue)


def test_exposure_changes_the_rates_not_the_counts():
    counts = pd.Series([100, 100, 100, 100], index=[1, 2, 4, 5])
    pop = pd.Series([1.0, 1.0, 2.0, 2.0], index=[1, 2, 4, 5])
    res = before_after(counts, pop, 3, None)
    assert res.rate_ratio == pytest.approx(0.5)
    assert res.exposure_before == 2.0 and res.exposure_after == 4.0
    lo, hi = _cp_by_root_finding(200, 400, 0.9)
    assert res.rr_low_exact == pytest.approx(lo / (1 - lo) * 2 / 4, rel=1e-7)
    assert res.rr_high_exact == pytest.approx(hi / (1 - hi) * 2 / 4, rel=1e-7)


def test_event_period_is_excluded_and_window_limits_periods():
    counts = pd.Series(np.arange(10, dtype=float), index=range(2010, 2020))
    res = before_after(counts, None, 2015, 2)
    assert (res.n_before, res.n_after) == (2, 2)
    assert res.total_before == 3 + 4 and res.total_after == 6 + 7
    res_all = before_after(counts, None, 2015, None)
    assert (res_all.n_before, res_all.n_after) == (5, 4)


def test_doubling_is_recovered():
    rng = np.random.default_rng(20240916)
    counts = pd.Series(np.r_[rng.poisson(50, 10), 0, rng.poisson(100, 10)], index=range(21))
    res = before_after(counts, None, 10, 10)
    assert res.rate_ratio == pytest.approx(2.0, rel=0.1)
    assert res.rr_low_exact > 1.0 and res.rr_low_overdispersed > 1.0
    assert res.p_value < 1e-6


def _coverage(draw, window: int, seeds: int = 400) -> tuple[float, float]:
    hit_x = hit_o = 0
    n = 2 * window + 1
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        counts = pd.Series(draw(rng, n), index=np.arange(2000, 2000 + n))
        r = before_after(counts, None, 2000 + window, window, level=0.9)
        hit_x += r.rr_low_exact <= 1.0 <= r.rr_high_exact
        hit_o += r.rr_low_overdispersed <= 1.0 <= r.rr_high_overdispersed
    return hit_x / seeds, hit_o / seeds


def test_calibration_constant_poisson_rate_covers_one_about_90_percent():
    """400 seeds, constant rate: both 90 % intervals cover RR = 1 about 90 % of the time
    (Clopper-Pearson is conservative, so a little more)."""
    exact, od = _coverage(lambda rng, n: rng.poisson(20, n), window=5)
    assert 0.86 <= exact <= 0.98
    assert 0.86 <= od <= 0.99
    exact3, od3 = _coverage(lambda rng, n: rng.poisson(3, n), window=3)
    assert 0.86 <= exact3 <= 0.99
    assert 0.86 <= od3 <= 0.99


def test_overdispersed_counts_need_the_adjusted_interval():
    """Negative-binomial counts (variance 26x the mean): the exact Poisson interval is far too
    narrow, the quasi-Poisson one stays near its nominal 90 %."""
    exact, od = _coverage(lambda rng, n: rng.negative_binomial(2, 2 / 52, n), window=10)
    assert exact < 0.6
    assert 0.8 <= od <= 0.97


def test_zero_counts_are_handled():
    res = before_after(pd.Series([0, 0, 0, 5, 4, 6], index=range(6)), None, 2, None)
    assert res.rate_ratio == math.inf
    assert res.rr_high_exact == math.inf and res.rr_high_overdispersed == math.inf
    assert res.rr_low_exact > 1.0 and res.rr_low_overdispersed > 0.0
    assert "0.5 added" in res.note
    down = before_after(pd.Series([5, 4, 6, 0, 0, 0], index=range(6)), None, 3, None)
    assert down.rate_ratio == 0.0 and down.rr_low_exact == 0.0 and down.rr_low_overdispersed == 0
    none = before_after(pd.Series([0, 0, 0, 0], index=range(4)), None, 1, None)
    assert math.isnan(none.rate_ratio) and none.p_value == 1.0
    assert (none.rr_low_exact, none.rr_high_exact) == (0.0, math.inf)
    assert "undefined" in none.note


def test_missing_sides_and_bad_input():
    res = before_after(pd.Series([1, 2, 3], index=[2020, 2021, 2022]), None, 2022, 3)
    assert res.n_after == 0 and math.isnan(res.rate_ratio) and "no period after" in res.note
    with pytest.raises(ValueError, match="non-negative"):
        before_after(pd.Series([1, -2, 3], index=[1, 2, 4]), None, 3)
    with pytest.raises(ValueError, match="level"):
        before_after(pd.Series([1, 2], index=[1, 3]), None, 2, level=1.5)
    with pytest.raises(ValueError, match="exposure must be positive"):
        before_after(pd.Series([1, 2], index=[1, 3]), pd.Series([0.0, 1.0], index=[1, 3]), 2)
    with pytest.raises(ValueError, match="repeated periods"):
        before_after(pd.Series([1, 2], index=[1, 1]), None, 2)
    with_nan = before_after(pd.Series([1, np.nan, 3, 4], index=[1, 2, 4, 5]), None, 3)
    assert with_nan.n_before == 1 and "missing" in with_nan.note


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 5000), min_size=3, max_size=14),
    st.data(),
    st.floats(0.5, 0.99),
    st.booleans(),
)
def test_interval_properties(values, data, level, use_exposure):
    n = len(values)
    at = data.draw(st.integers(1, n - 2), label="at")
    counts = pd.Series(values, index=range(n))
    expo = None
    if use_exposure:
        w = data.draw(st.lists(st.floats(0.1, 50.0), min_size=n, max_size=n), label="exposure")
        expo = pd.Series(w, index=range(n))
    r = before_after(counts, expo, at, None, level=level)
    for lo, hi in (
        (r.rr_low_exact, r.rr_high_exact),
        (r.rr_low_overdispersed, r.rr_high_overdispersed),
    ):
        assert 0.0 <= lo <= hi
        if not math.isnan(r.rate_ratio):
            assert lo <= r.rate_ratio * (1 + 1e-9) + 1e-12
            assert r.rate_ratio <= hi * (1 + 1e-9) or hi == math.inf
    assert 0.0 <= r.p_value <= 1.0 and 0.0 <= r.p_value_overdispersed <= 1.0
    if r.total_before == 0 or r.total_after == 0:
        assert r.total_before + r.total_after == 0 or "0.5 added" in r.note


# -- compare_around --------------------------------------------------------------------------------


def _panel() -> pd.DataFrame:
    rows = []
    for iso, base in (("MLI", 100), ("BFA", 200), ("NER", 50)):
        for year in range(2015, 2025):
            bump = 2 if year > 2023 else 1
            rows.append(
                {
                    "iso3": iso,
                    "year": year,
                    "deaths_total": base * bump,
                    "deaths_per_100k": 1.0,
                    "deaths_total_low": 1,
                    "civilian_deaths": base // 2,
                    "population": 1e6,
                }
            )
    return pd.DataFrame(rows)


def test_compare_around_tidy_table(tl):
    out = compare_around(_panel(), ["aes_charter", "ner_coup_2023"], window=3, timeline=tl)
    assert {
        "event_id",
        "iso3",
        "measure",
        "rate_ratio",
        "rr_low_overdispersed",
        "rr_high_overdispersed",
        "p_value",
    } <= set(out.columns)
    assert set(out["measure"]) == {"deaths_total", "civilian_deaths"}  # default measures
    charter = out[(out["event_id"] == "aes_charter") & (out["measure"] == "deaths_total")]
    assert sorted(charter["iso3"]) == ["BFA", "MLI", "NER"]
    # event year 2023 excluded: 2020-22 at base vs 2024 (only year after) at 2x base
    assert charter["rate_ratio"].to_numpy() == pytest.approx([2.0, 2.0, 2.0])
    assert (charter[["n_before", "n_after"]].to_numpy() == [3, 1]).all()
    coup = out[out["event_id"] == "ner_coup_2023"]
    assert set(coup["iso3"]) == {"NER"}
    with pytest.raises(KeyError, match="unknown timeline event"):
        compare_around(_panel(), ["no_such_event"], timeline=tl)


def test_compare_around_months_sources_and_exposure(tl):
    rows = []
    for src in ("ucdp_ged", "acled"):
        for mid in range(515, 536):
            rows.append(
                {
                    "source": src,
                    "iso3": "MLI",
                    "month_id": mid,
                    "year": 2023,
                    "events": 10 if mid < 525 else 30,
                    "population": 2.0,
                }
            )
    frame = pd.DataFrame(rows)
    out = compare_around(frame, ["aes_charter"], window=6, timeline=tl, exposure="population")
    assert out["period"].unique().tolist() == ["month_id"]
    assert sorted(out["source"]) == ["acled", "ucdp_ged"]
    assert out["rate_ratio"].to_numpy() == pytest.approx([3.0, 3.0])
    assert (out["rate_before"] == 5.0).all()  # 10 events over an exposure of 2
    with pytest.raises(ValueError, match="several rows per month_id"):
        compare_around(frame, ["aes_charter"], timeline=tl, by=[])


@pytest.mark.realdata
def test_compare_around_on_ucdp_country_year(tl, shared_data):
    cy = pd.read_csv(shared_data / UCDP_CY)
    frame = pd.DataFrame(
        {
            "iso3": cy["iso3"],
            "year": cy["year_cy"],
            "deaths_total": cy["sb_total_deaths_best_cy"]
            + cy["ns_total_deaths_best_cy"]
            + cy["os_total_deaths_best_cy"],
        }
    )
    frame = frame[frame["iso3"].isin(["MLI", "BFA", "NER"])]
    out = compare_around(frame, None, window=3, timeline=tl)
    assert len(out)
    assert (out["rr_low_exact"] <= out["rr_high_exact"]).all()
    # UCDP v25.1 ends in 2024: 2024 events have no full year after them and are left out
    assert out["date"].max() < pd.Timestamp("2024-01-01")
    mali_2020 = out[(out["event_id"] == "mli_coup_2020")].iloc[0]
    assert mali_2020["n_before"] == 3 and mali_2020["n_after"] == 3
