"""Forecasts in the VIEWS layout and a small rolling-origin backtest (synthetic grid)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahelsim.cli.main import main


def test_forecast_writes_views_parquet(tmp_path):
    from sahelsim.forecast.backtest import forecast
    from sahelsim.forecast.views_io import read_views_parquet

    paths = forecast(years=(2025, 2026), draws=40, seed=3, synthetic=True, out=tmp_path)
    df = read_views_parquet(paths["sb"])
    assert list(df.columns[:3]) == ["year", "country_id", "draw"]
    assert set(df.year) == {2025, 2026} and set(df.country_id) == {432, 439, 436}
    assert df.groupby(["year", "country_id"]).draw.nunique().eq(40).all()
    assert (df.outcome >= 0).all()
    again = read_views_parquet(forecast(years=(2025, 2026), draws=40, seed=3, synthetic=True,
                                        out=tmp_path / "b")["sb"])  # fmt: skip
    pd.testing.assert_frame_equal(df, again)


@pytest.fixture(scope="module")
def small_backtest(tmp_path_factory, shared_data):
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all
    from sahelsim.forecast.backtest import run_backtest

    d = tmp_path_factory.mktemp("bt")
    with Store(d / "s.duckdb") as st:
        ingest_all(shared_data, st)
        return run_backtest(st, origins=(2021, 2022), n_particles=16, generations=1, draws=60,
                            synthetic=True, seed=1)  # fmt: skip


def test_backtest_scores_every_forecaster(small_backtest):
    fc = small_backtest["forecasts"]
    assert set(fc.forecaster) == {"model", "zero", "last_value", "conflictology", "bootstrap",
                                  "negbin", "median_ensemble", "linear_pool"}  # fmt: skip
    # origins 2021 and 2022, horizons 1-2 within the data (to 2024): 2 + 2 years
    assert set(zip(fc.origin, fc.year, strict=True)) == {
        (2021, 2022),
        (2021, 2023),
        (2022, 2023),
        (2022, 2024),
    }
    sc = small_backtest["scores"]
    assert set(sc.target) == {"sb", "ns", "os"} and set(sc.iso3) == {"MLI", "BFA", "NER"}
    z = sc[sc.forecaster == "zero"]
    obs = fc[fc.forecaster == "zero"].groupby(["iso3", "target"]).obs.mean()
    # the zero forecast's CRPS is the observation itself
    for r in z.itertuples():
        assert r.crps == pytest.approx(obs[(r.iso3, r.target)])
    v = small_backtest["verdict"].iloc[0]
    assert v.best_baseline in {"zero", "last_value", "conflictology", "bootstrap", "negbin"}
    assert np.isfinite(v.ratio) and np.isfinite(v.ensemble_ratio)
    assert {"is95", "coverage50", "coverage90"} <= set(small_backtest["overall"].columns)
    assert len(small_backtest["goals"]) == 3
    # the pool's weights at the first origin are equal (no earlier origin to learn from)
    w = small_backtest["weights"]
    assert (
        np.allclose(w[w.origin == 2021].weight, 1 / 6) and w[w.origin == 2021].n_train.eq(0).all()
    )
    assert w[w.origin == 2022].n_train.gt(0).all()  # 2021's forecast of 2022 is known in 2022


def test_backtest_and_forecast_cli(tmp_path, shared_data):
    from sahelsim.forecast.views_io import read_views_parquet

    code = main(["backtest", "--data-dir", str(shared_data), "--out", str(tmp_path), "--origins",
                 "2022-2022", "--particles", "12", "--generations", "1", "--draws", "40",
                 "--synthetic"])  # fmt: skip
    assert code == 0
    for name in ("scores", "overall", "verdict", "goals", "pit", "forecasts"):
        assert (tmp_path / "backtest" / f"{name}.csv").exists()
    f = tmp_path / "backtest" / "forecasts" / "median_ensemble" / "seed0"
    assert set(read_views_parquet(f / "forecast_ged_ns_country_year.parquet",
                                  keep=("origin",)).origin) == {2022}  # fmt: skip
    assert main(["forecast", "--out", str(tmp_path), "--draws", "30", "--synthetic"]) == 0
    assert (tmp_path / "forecast" / "forecast_ged_sb_country_year.parquet").exists()
