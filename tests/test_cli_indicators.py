"""End to end: the CLI on the staged data and on synthetic events; indicator identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahelsim.cli.main import main
from sahelsim.data.fixtures import ged_frame, write_csv


def test_run_on_real_data(shared_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["indicators", "--data-dir", str(shared_data), "--out", str(out)]) == 0
    cy = pd.read_parquet(out / "indicators" / "country_year.parquet")
    assert set(pd.read_csv(out / "indicators" / "country_year.csv").columns) == set(cy.columns)
    bfa = cy[(cy.iso3 == "BFA")].set_index("year")
    # UCDP v25.1: Burkina Faso's deadliest year in the series is 2023, not 2024
    assert bfa.loc[2023, "deaths_total"] == 6122 and bfa.loc[2024, "deaths_total"] == 4251
    assert bfa["deaths_total"].idxmax() == 2023
    assert bfa.loc[2024, "deaths_per_100k"] > 10
    assert bfa.loc[2023, "idps"] == 2_062_534
    ba = pd.read_csv(out / "indicators" / "before_after.csv")
    assert {"aes_charter", "ner_coup_2023"} <= set(ba.event_id)
    # a second run is a no-op for the store
    assert main(["indicators", "--data-dir", str(shared_data), "--out", str(out)]) == 0
    assert "already ingested" in capsys.readouterr().out
    from sahelsim.data.store.store import Store

    with Store(out / "sahelsim.duckdb", read_only=True) as st:
        led = st.ledger()
        assert (led.rows_read == led.rows_accepted + led.rows_quarantined + led.rows_filtered).all()
        assert len(led) == 10
        assert st.count("cells") == 1126


def test_status_lists_every_source(shared_data, tmp_path, capsys):
    out = tmp_path / "o"
    main(["data", "ingest", "--data-dir", str(shared_data), "--out", str(out)])
    capsys.readouterr()
    assert main(["data", "status", "--data-dir", str(shared_data), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("ucdp_cy", "unhcr_population", "iom_dtm_mali", "worldpop_priogrid", "acled"):
        assert name in text
    assert "absent" in text  # GED events are not staged
    assert "match no model actor" in text or "maps to a model actor" in text


def test_bad_file_gives_clear_error(tmp_path, capsys):
    p = tmp_path / "g.csv"
    ged_frame(3).drop(columns=["best"]).to_csv(p, index=False)
    code = main(["data", "ingest", "--file", str(p), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "g.csv" in err and "best" in err


@pytest.fixture()
def store_with_events(tmp_path, shared_data):
    from sahelsim.cli.seams import ensure_grid as _ensure_grid
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all

    st = Store(tmp_path / "s.duckdb")
    ingest_all(shared_data, st)
    _ensure_grid(st, shared_data)
    f = ged_frame(3000, seed=4)
    st.ingest_events(write_csv(f, tmp_path / "GEDEvent_v25_1.csv"), fmt="ged_csv")
    from sahelsim.evidence.ingest import refresh_actor_names

    refresh_actor_names(st)
    yield st, f
    st.close()


def test_country_month_matches_raw_events(store_with_events):
    from sahelsim.evidence import indicators as ind

    st, f = store_with_events
    cm = ind.country_month(st, "ucdp_ged")
    g = f.assign(
        best=f.best.astype(float),
        month_id=(pd.to_datetime(f.date_start.str[:10]).dt.year - 1980) * 12
        + pd.to_datetime(f.date_start.str[:10]).dt.month,
        tov=f.type_of_violence.astype(int),
    )
    iso = {"432": "MLI", "439": "BFA", "436": "NER"}
    g["iso3"] = g.country_id.map(iso)
    exp = g.groupby(["iso3", "month_id"]).best.sum()
    got = cm.set_index(["iso3", "month_id"]).deaths_total
    pd.testing.assert_series_equal(got.sort_index(), exp.sort_index(), check_names=False)
    # one-sided deaths by perpetrator add up (synthetic one-sided events have civilians only)
    os_ = cm.deaths_one_sided.sum()
    by = (
        cm.civilians_killed_by_state_side.sum()
        + cm.civilians_killed_by_jihadists.sum()
        + cm.civilians_killed_by_other_or_unknown.sum()
    )
    assert by == pytest.approx(os_)
    assert (
        cm.civilians_killed_by_state_side.sum() > 0 and cm.civilians_killed_by_jihadists.sum() > 0
    )


def test_cell_sums_equal_country_sums(store_with_events):
    from sahelsim.evidence import indicators as ind

    st, _ = store_with_events
    cm = ind.country_month(st, "ucdp_ged").set_index(["iso3", "month_id"])
    cell = ind.cell_month(st, "ucdp_ged")
    agg = cell.groupby(["iso3", "month_id"])[["deaths_total", "deaths_one_sided"]].sum()
    for col in ("deaths_total", "deaths_one_sided"):
        np.testing.assert_allclose(
            agg[col].sort_index().to_numpy(), cm[col].sort_index().to_numpy(), rtol=1e-9
        )
    # imprecise events were spread, never dropped on a single centroid
    assert cell.priogrid_gid.notna().all()


def test_main_job_writes_claims_and_forecasts(shared_data, tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--data-dir", str(shared_data), "--out", str(out), "--members", "12"]) == 0
    claims = pd.read_csv(out / "claims" / "claims_audit.csv")
    assert len(claims) >= 14 and claims.verdict.notna().all()
    assert (out / "forecast" / "forecast_ged_sb_country_year.parquet").exists()
    assert (out / "indicators" / "country_year.parquet").exists()
