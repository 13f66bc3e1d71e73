"""Backtests with the filtered model at both levels (twin data on the synthetic grid): the
model is filtered up to each origin, the country-year harness uses it, setup says whether the
parameters saw the scored period, and later data never enter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahelsim.core.canon import month_id
from sahelsim.forecast.backtest import run_backtest
from sahelsim.forecast.backtest_cm import run_backtest_cm
from sahelsim.forecast.filtered import ExpandingForecaster, calibration_years
from sahelsim.inference.filter import Context
from sahelsim.inference.likelihood import ObsModel, draw_observations
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.run import HISTORY_START

MONTHS = 48  # 2012-2015


@pytest.fixture(scope="module")
def twin() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(filter observations, country-month frame, country-year frame) of one synthetic run."""
    space = Space.synthetic()
    ds = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, MONTHS),
                  members=np.array([0]), seed=7, record=Record(cells=()))  # fmt: skip
    obs = draw_observations(ds, 0, ObsModel(), seed=7)
    cm = (obs[obs.resolution == "month"].pivot_table(index=["iso3", "month_id"],
                                                    columns="observable", values="value")
          .reset_index().rename_axis(columns=None))  # fmt: skip
    cm["year"] = (cm["month_id"] - 1) // 12 + 1980
    cy = cm.groupby(["iso3", "year"], as_index=False)[["sb", "ns", "os"]].sum().rename(
        columns={"sb": "deaths_state_based", "ns": "deaths_non_state",
                 "os": "deaths_one_sided"})  # fmt: skip
    cy["civilians_killed_by_government"] = np.floor(0.4 * cy["deaths_one_sided"])
    cy["civilians_killed_by_nonstate"] = (
        cy["deaths_one_sided"] - cy["civilians_killed_by_government"]
    )
    stocks = obs[obs.resolution == "stock"].set_index(["iso3", "year"])["value"]
    cy["idps"] = [float(stocks.get((i, y), np.nan)) for i, y in zip(cy.iso3, cy.year, strict=True)]
    return obs, cm.drop(columns="year"), cy


def test_country_year_backtest_uses_the_filtered_model(twin):
    obs, _, cy = twin
    kw = {"origins": (2013, 2014), "draws": 30, "seed": 1, "synthetic": True,
          "observations": obs, "members": 24}  # fmt: skip
    res = run_backtest(cy, **kw)
    f = res["forecasts"]
    m = f[f.forecaster == "model"]
    assert set(m.origin) == {2013, 2014} and set(m.horizon) <= {1, 2}
    assert m["draws"].map(len).eq(30).all()
    # the filtered path is not the old one (ABC at each origin, run freely from 2012)
    free = run_backtest(cy, origins=(2013, 2014), n_particles=10, generations=1, draws=30, seed=1,
                        synthetic=True)  # fmt: skip
    fm = free["forecasts"]
    fm = fm[fm.forecaster == "model"]
    assert not all(np.array_equal(a, b) for a, b in zip(m["draws"], fm["draws"], strict=True))
    # later data do not enter: a perturbed 2015 changes nothing of origin 2013's forecasts
    later = obs.copy()
    after = later["month_id"] > int(month_id(2013, 12))
    later.loc[after, "value"] = later.loc[after, "value"] * 5 + 40
    again = run_backtest(cy, **{**kw, "observations": later, "origins": (2013, 2013)})
    a = m[m.origin == 2013].reset_index(drop=True)
    b = again["forecasts"]
    b = b[(b.forecaster == "model")].reset_index(drop=True)
    assert all(np.array_equal(x, y) for x, y in zip(a["draws"], b["draws"], strict=True))


def test_country_month_backtest_filters_to_each_origin(twin):
    obs, cm, _ = twin
    origins = [int(month_id(2013, 6)), int(month_id(2014, 6))]
    res = run_backtest_cm(cm, origins, range(1, 4), draws=20, seeds=(0,), synthetic=True,
                          observations=obs, members=16)  # fmt: skip
    f = res["forecasts"]
    m = f[f.forecaster == "model"]
    assert set(m.origin) == set(origins) and set(m.horizon) == {1, 2, 3}
    assert {"linear_pool", "median_ensemble", "negbin"} <= set(f.forecaster)
    assert np.isfinite(res["overall"].set_index("forecaster").loc["model", "crps"])


def test_calibration_years_never_reach_an_origin():
    cm = [int(month_id(y, m)) for y in range(2015, 2021) for m in (1, 4, 7, 10)]
    years = calibration_years(cm, 2)
    assert sorted(set(years.values())) == [2014, 2016, 2018]
    for o, end in years.items():
        assert int(month_id(end, 12)) <= o  # the calibration's data end before the origin
    assert years[int(month_id(2016, 10))] == 2014 and years[int(month_id(2017, 1))] == 2016
    cy = [int(month_id(y, 12)) for y in range(2014, 2024)]
    assert set(calibration_years(cy, 0).values()) == {2014}
    assert calibration_years(cy, 2)[int(month_id(2017, 12))] == 2016
    with pytest.raises(ValueError, match="every"):
        calibration_years(cm, -1)


def test_expanding_forecaster_sends_each_origin_to_its_block():
    calls = []

    def fake(tag):
        def fc(history, origin, horizon, draws, seed):
            calls.append((tag, origin))
            return pd.DataFrame()

        return fc

    years = {400: 2012, 410: 2012, 420: 2014}
    ef = ExpandingForecaster({2012: fake("a"), 2014: fake("b")}, years)
    for o in (400, 410, 420):
        ef(pd.DataFrame(), o, 3, 5, 0)
    assert calls == [("a", 400), ("a", 410), ("b", 420)]
    with pytest.raises(ValueError, match="not one of"):
        ef(pd.DataFrame(), 999, 3, 5, 0)
    with pytest.raises(ValueError, match="no forecaster"):
        ExpandingForecaster({2012: fake("a")}, years)


def test_backtest_rejects_an_unknown_start_posterior(tmp_path, shared_data, capsys):
    from sahelsim.cli.main import main

    code = main(["backtest", "--data-dir", str(shared_data), "--out", str(tmp_path), "--origins",
                 "2022-2022", "--start-posterior", str(tmp_path / "nope.json")])  # fmt: skip
    assert code == 2
    assert "--start-posterior" in capsys.readouterr().err
