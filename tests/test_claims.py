"""The claims audit: the claims file and its validation, the verdicts on the staged data, the
model comparisons, and the outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import sahelsim.claims.audit as claims_mod
from sahelsim.claims.audit import (
    AUDIT_COLUMNS,
    REQUIRED_IDS,
    SECTIONS,
    VERDICTS,
    ClaimsError,
    audit,
    load_claims,
    write_claims,
)
from sahelsim.core.canon import priogrid_gid
from sahelsim.data.fixtures import ged_frame, write_csv

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_26e342f7357a83bf.txt"
NOT_TESTABLE = "not testable with the data present"
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
    from sahelsim.claims.audit import _TESTS

    claims = load_claims()
    ids = [c.id for c in claims]
    assert set(REQUIRED_IDS) <= set(ids)
    assert len(ids) == len(set(ids)) >= 20
    assert set(ids) == set(_TESTS), "every claim needs a test and every test a claim"
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
    # 5: UCDP one-sided killings by non-state groups, 1,237 (generous 1,375) < 2,300
    r = a.loc["c05_bfa_islamist_civilian_killings_2024"]
    assert r.verdict == "contradicted" and "1,237" in r.figure and "2,300" in r.figure
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
    # trends: rate ratios per country and pooled, with the over-dispersion-adjusted interval
    for cid in ("c01_attacks_up_since_aes", "c02_civilian_casualties_up_since_aes"):
        r = a.loc[cid]
        assert r.evidence == "data" and r.verdict != NOT_TESTABLE
        for part in ("MLI:", "BFA:", "NER:", "pooled:", "over-dispersion adjusted"):
            assert part in r.figure
        assert r.interval.startswith("pooled RR")
    assert a.loc["c14_mali_attacks_up_after_minusma", "figure"].startswith("MLI:")
    assert a.loc["c15_terrorism_deaths_up_since_coups", "verdict"] == "supported"
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
        assert r.verdict in ("supported", "contradicted", "mixed"), cid
        label = claims_mod._UNCALIBRATED  # says whether the model was calibrated
        assert label in r.figure and label in r.source
        assert re.search(r"\[[-+]?\d", r.interval), (cid, r.interval)
        assert "8 members" in r.source and "real grid" in r.source
    assert "vs 0.20 +/- 0.10" in a.loc["c07_mali_state_controls_20pct", "interval"]
    r = a.loc["c08_attrition_2p5pct_sustainable"]
    assert r.verdict == NOT_TESTABLE and r.evidence == "model" and "attrition" in r.figure
    # the data verdicts do not depend on the model
    d = data_audit.set_index("id")
    data_ids = d.index[d.evidence == "data"]
    pd.testing.assert_series_equal(a.loc[data_ids, "verdict"], d.loc[data_ids, "verdict"])


def test_write_claims(data_audit, tmp_path):
    paths = write_claims(data_audit, tmp_path / "out")
    assert [p.name for p in paths] == ["claims_audit.csv", "claims_audit.json"]
    back = pd.read_csv(paths[0], keep_default_na=False)
    assert list(back["id"]) == list(data_audit["id"])
    recs = json.loads(paths[1].read_text(encoding="utf-8"))
    assert len(recs) == len(data_audit) and set(recs[0]) == set(AUDIT_COLUMNS)
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
