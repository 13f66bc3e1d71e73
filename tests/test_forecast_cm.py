"""Country-month forecasting: baselines see only data up to the origin, the ViEWS layout of
forecast files, forecasts from an origin, the free-running model forecaster, hand-computed
scores, a tiny end-to-end backtest and the CLI's option errors."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from sahelsim.cli.main import main
from sahelsim.core.canon import month_id
from sahelsim.forecast.backtest_cm import DEFAULT_ORIGINS, run_backtest_cm, write_backtest
from sahelsim.forecast.baselines import GlobalBootstrap, NegBinRecent
from sahelsim.forecast.evaluate import evaluate
from sahelsim.forecast.forecasters import (
    BaselineForecaster,
    ModelForecaster,
    baseline_forecasters,
    check_observed_cm,
    month_text,
)
from sahelsim.forecast.origin import forecast_from_origin
from sahelsim.forecast.scoring import interval_score, pit_histogram, randomised_pit
from sahelsim.forecast.views_io import (
    ViewsFormatError,
    read_views_parquet,
    validate_views,
    views_from_long,
)

CORE = ("MLI", "BFA", "NER")


def observed(first=(2010, 1), last=(2016, 12), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mids = np.arange(int(month_id(*first)), int(month_id(*last)) + 1)
    rows = [{"iso3": c, "month_id": m, "sb": rng.poisson(5 + 10 * i), "ns": rng.poisson(2),
             "os": rng.negative_binomial(1, 0.1)} for i, c in enumerate(CORE) for m in mids]  # fmt: skip
    return pd.DataFrame(rows)


def perturb_after(obs: pd.DataFrame, origin: int) -> pd.DataFrame:
    out = obs.copy()
    later = out["month_id"] > origin
    for t in ("sb", "ns", "os"):
        out.loc[later, t] = out.loc[later, t] * 7 + 1000
    return out


ORIGIN = int(month_id(2015, 6))


@pytest.mark.parametrize("name", ["zero", "last_value", "conflictology", "bootstrap", "negbin"])
def test_baselines_use_only_data_up_to_the_origin(name):
    fc = baseline_forecasters()[name]
    obs = observed()
    a = fc(obs, ORIGIN, 6, 50, 3)
    b = fc(perturb_after(obs, ORIGIN), ORIGIN, 6, 50, 3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["month_id", "iso3", "target", "draw", "outcome"]
    assert set(a.month_id) == set(range(ORIGIN + 1, ORIGIN + 7))
    assert set(a.iso3) == set(CORE) and set(a.target) == {"sb", "ns", "os"}
    assert a.groupby(["month_id", "iso3", "target"]).draw.nunique().eq(50).all()
    # a different seed gives other draws (except for the zero forecast)
    c = fc(obs, ORIGIN, 6, 50, 4)
    assert name == "zero" or not np.array_equal(a.outcome, c.outcome)


def test_global_bootstrap_pools_every_country_month_of_the_history():
    obs = observed()
    h = obs[obs.month_id <= ORIGIN]
    out = BaselineForecaster(GlobalBootstrap)(obs, ORIGIN, 2, 400, 0)
    for t in ("sb", "ns", "os"):
        pool = set(h[t])
        d = out[out.target == t]
        assert set(d.outcome) <= pool
        # every country draws from the same pool: Niger's sb draws include Mali-sized values
        assert d[d.iso3 == "NER"].outcome.min() < h[h.iso3 == "NER"][t].min() or t != "sb"


def test_negbin_window_is_the_last_36_months():
    obs = observed()
    outside = obs.copy()
    outside.loc[outside.month_id == ORIGIN - 36, "sb"] += 500  # just outside the window
    inside = obs.copy()
    inside.loc[inside.month_id == ORIGIN - 35, "sb"] += 500
    fc = BaselineForecaster(NegBinRecent, window=36)
    a = fc(obs, ORIGIN, 1, 200, 0)
    pd.testing.assert_frame_equal(a, fc(outside, ORIGIN, 1, 200, 0))
    assert not a.equals(fc(inside, ORIGIN, 1, 200, 0))


def test_views_layout_with_origin_and_iso3():
    long = baseline_forecasters()["negbin"](observed(), ORIGIN, 3, 20, 0).assign(origin=ORIGIN)
    v = views_from_long(long, "sb", "cm")
    assert list(v.columns) == ["origin", "month_id", "country_id", "iso3", "draw", "outcome"]
    assert set(zip(v.country_id, v.iso3, strict=True)) == {(432, "MLI"), (439, "BFA"), (436, "NER")}
    assert v.dtypes["month_id"] == np.int64 and v.dtypes["outcome"] == np.float64
    bad = v.copy()
    bad.loc[0, "iso3"] = "NER" if bad.loc[0, "iso3"] != "NER" else "MLI"
    with pytest.raises(ViewsFormatError, match="iso3"):
        validate_views(bad, keep=("origin", "iso3"))
    # two origins may forecast the same month: draws are checked per origin
    two = pd.concat([v, v.assign(origin=ORIGIN - 3)], ignore_index=True)
    assert len(validate_views(two, keep=("origin", "iso3"))) == 2 * len(v)


def test_forecast_from_origin_writes_cm_and_cy_files(tmp_path):
    obs = observed()
    fc = baseline_forecasters()["conflictology"]
    paths = forecast_from_origin(obs, origin=ORIGIN, horizon=7, level="cm", out=tmp_path / "cm",
                                 draws=30, model_forecaster=fc)  # fmt: skip
    assert {"sb", "ns", "os", "parameters", "summary", "readme"} == set(paths)
    df = read_views_parquet(paths["os"], keep=("iso3",))
    # the files for people: names and plain words, the quantiles of the Parquet draws
    summary = pd.read_csv(paths["summary"])
    assert set(summary.country) == {"Mali", "Burkina Faso", "Niger"}
    assert set(summary.file_code) == {"sb", "ns", "os"} and len(summary) == 3 * 3 * 7
    one = summary[(summary.file_code == "os") & (summary.country == "Niger")
                  & (summary.period == month_text(ORIGIN + 1))]  # fmt: skip
    draws = df[(df.iso3 == "NER") & (df.month_id == ORIGIN + 1)].outcome
    assert len(one) == 1 and one.iloc[0].draws == 30 and one.iloc[0].unit == "deaths per month"
    assert one.iloc[0]["median"] == pytest.approx(draws.median(), rel=1e-5)
    assert one.iloc[0].q95 == pytest.approx(draws.quantile(0.95), rel=1e-5)
    assert "one-sided deaths" in one.iloc[0].forecast and "type 3" in one.iloc[0].forecast
    readme = paths["readme"].read_text()
    assert "432 Mali" in readme and "forecast_ged_os_country_month.parquet: one-sided" in readme
    assert list(df.columns) == ["month_id", "country_id", "iso3", "draw", "outcome"]
    assert set(df.month_id) == set(range(ORIGIN + 1, ORIGIN + 8))
    dec = int(month_id(2015, 12))
    cy = forecast_from_origin(obs, origin=dec, horizon=1, level="cy", out=tmp_path / "cy", draws=30,
                              model_forecaster=fc)  # fmt: skip
    y = read_views_parquet(cy["sb"], keep=("iso3",))
    assert set(y.year) == {2016} and len(y) == 3 * 30
    monthly = fc(obs, dec, 12, 30, 0)
    want = monthly[(monthly.target == "sb") & (monthly.iso3 == "MLI")].groupby("draw").outcome.sum()
    got = y[y.iso3 == "MLI"].set_index("draw").outcome
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy())
    with pytest.raises(ValueError, match="after the data's last month 2016-12"):
        forecast_from_origin(obs, origin=int(month_id(2017, 1)), horizon=2, out=tmp_path / "x",
                             model_forecaster=fc)  # fmt: skip
    with pytest.raises(ValueError, match="December origin"):
        forecast_from_origin(obs, origin=ORIGIN, horizon=1, level="cy", out=tmp_path / "x",
                             model_forecaster=fc)  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_model_forecaster_chain_equals_a_fresh_run_and_gives_december_idps(tmp_path):
    obs = observed()
    a = ModelForecaster(synthetic=True, parameters="prior")
    a(obs, int(month_id(2013, 3)), 2, 6, 5)  # advances the cached history to 2013-03
    chained = a(obs, int(month_id(2014, 8)), 7, 6, 5)
    fresh = ModelForecaster(synthetic=True, parameters="prior")(
        obs, int(month_id(2014, 8)), 7, 6, 5
    )
    pd.testing.assert_frame_equal(chained, fresh)
    idps = chained[chained.target == "idps"]
    assert set(idps.month_id) == {int(month_id(2014, 12))} and (idps.outcome >= 0).all()
    # the shipped posterior was fitted to data through 2024: before that, "auto" uses priors
    auto = ModelForecaster(synthetic=True)
    assert auto.parameter_source(int(month_id(2014, 8)))[0] == "prior"
    paths = forecast_from_origin(obs, origin=int(month_id(2014, 8)), horizon=7, out=tmp_path,
                                 draws=6, seed=5, model_forecaster=a)  # fmt: skip
    idp = pd.read_parquet(paths["idps"])
    assert list(idp.columns) == ["iso3", "year", "draw", "idps"] and set(idp.year) == {2014}
    people = pd.read_csv(paths["summary"]).query("file_code == 'idps'")
    assert set(people.period.astype(str)) == {"2014"} and set(people.unit) == {"people"}
    mali = people[people.country == "Mali"].iloc[0]
    assert mali["median"] == pytest.approx(idp[idp.iso3 == "MLI"].idps.median(), rel=1e-5)


def test_randomised_pit_and_interval_score_by_hand():
    draws = np.array([[0.0, 0.0, 1.0, 3.0]])
    # y = 1: F(y-) = 0.5, F(y) = 0.75, u = 0.5 + V * 0.25
    rng = np.random.default_rng(0)
    v = np.random.default_rng(0).random(1)
    assert randomised_pit(np.array([1.0]), draws, rng)[0] == pytest.approx(0.5 + 0.25 * v[0])
    assert randomised_pit(np.array([5.0]), draws, rng)[0] == 1.0
    assert pit_histogram(np.array([0.05, 0.15, 0.95, 1.0])).tolist() == [
        0.25, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.5]  # fmt: skip
    # 95 % interval of 0..100: [2.5, 97.5]; y = 100 -> width 95 + (2/0.05) * 2.5 = 195
    x = np.arange(101.0)[None, :]
    assert interval_score(np.array([100.0]), x, 0.05)[0] == pytest.approx(195.0)
    assert interval_score(np.array([50.0]), x, 0.05)[0] == pytest.approx(95.0)


def test_evaluate_verdict_by_hand():
    rows = []
    for seed in (0, 1):
        for f, d in (("model", [2.0, 2.0]), ("zero", [0.0, 0.0]), ("good", [4.0, 4.0])):
            rows.append({"seed": seed, "origin": 1, "horizon": 1, "iso3": "MLI", "target": "sb",
                         "forecaster": f, "draws": np.array(d), "obs": 4.0})  # fmt: skip
    res = evaluate(pd.DataFrame(rows))
    ov = res["overall"].set_index("forecaster")
    assert ov.loc["zero", "crps"] == 4.0 and ov.loc["model", "crps"] == 2.0
    assert ov.loc["good", "crps"] == 0.0
    g = res["goals"].set_index("goal")
    assert g.loc["model CRPS <= best baseline CRPS", "best_baseline"] == "good"
    assert not g.loc["model CRPS <= best baseline CRPS", "met"]
    assert not g.loc["model 90 % coverage in 80-95 %", "met"]  # 4 is outside [2, 2]
    assert res["seed_spread"].set_index("forecaster").loc["model", "seeds"] == 2


@pytest.fixture(scope="module")
def tiny_backtest():
    obs = observed(first=(2011, 1), last=(2014, 6))
    origins = [int(month_id(2013, 9)), int(month_id(2013, 12)), int(month_id(2014, 3))]
    fcs = {"model": ModelForecaster(synthetic=True, parameters="prior"),
           **baseline_forecasters()}  # fmt: skip
    res = run_backtest_cm(obs, origins, range(1, 5), fcs, draws=12, seeds=(0, 1))
    return obs, origins, fcs, res


def test_tiny_backtest_end_to_end(tiny_backtest, tmp_path):
    obs, origins, fcs, res = tiny_backtest
    fc = res["forecasts"]
    assert set(fc.forecaster) == {*fcs, "median_ensemble", "linear_pool"}
    # the last origin (2014-03) keeps horizons 1-3: 2014-07 is after the data
    assert res["dropped"].to_dict("records") == [
        {"origin": origins[-1], "horizon": 4, "month_id": origins[-1] + 4}]  # fmt: skip
    assert fc.groupby(["seed", "forecaster"]).size().nunique() == 1
    assert set(res["scores_by_horizon"].horizon) == {1, 2, 3, 4}
    assert {"crps", "ignorance", "is95", "coverage50", "coverage90"} <= set(res["overall"].columns)
    assert res["pit"].filter(like="bin_").sum(axis=1).round(12).eq(1).all()
    assert len(res["goals"]) == 3 and set(res["seed_spread"].seeds) == {2}
    # seed 1 alone gives the numbers seed 1 had in the two-seed run
    one = run_backtest_cm(obs, origins, range(1, 5), fcs, draws=12, seeds=(1,))
    a = fc[fc.seed == 1].reset_index(drop=True)
    b = one["forecasts"]
    pd.testing.assert_frame_equal(a.drop(columns="draws"), b.drop(columns="draws"))
    assert all(np.array_equal(x, y) for x, y in zip(a.draws, b.draws, strict=True))
    paths = write_backtest(res, tmp_path)
    f = tmp_path / "forecasts" / "linear_pool" / "seed0" / "forecast_ged_sb_country_month.parquet"
    assert f in paths
    v = read_views_parquet(f, keep=("origin", "iso3"))
    assert (
        set(v.origin) == set(origins)
        and v.groupby(["origin", "month_id", "country_id"]).size().eq(12).all()
    )
    assert (
        tmp_path / "forecasts" / "model" / "seed1" / "forecast_idps_country_year.parquet"
    ).exists()
    assert (tmp_path / "goals.csv").exists() and (tmp_path / "weights.csv").exists()


def test_backtest_rejects_bad_settings():
    obs = observed()
    with pytest.raises(ValueError, match="origins must lie in"):
        run_backtest_cm(obs, [int(month_id(2017, 1))], [1], baseline_forecasters(), draws=5)
    with pytest.raises(ValueError, match="field sb"):
        check_observed_cm(obs.assign(sb=-1.0))
    with pytest.raises(ValueError, match="second row"):
        check_observed_cm(pd.concat([obs, obs.iloc[:1]]))
    assert len(DEFAULT_ORIGINS) == 24 and DEFAULT_ORIGINS[0] == month_id(2015, 1)


@pytest.fixture(scope="module")
def cm_data(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("cmdata")
    folder = "ucdp-ged-country-month-views2020"
    (d / folder).mkdir()
    for f in (shared_data / folder).iterdir():
        shutil.copy(f, d / folder / f.name)
    return d


@pytest.mark.parametrize(("argv", "needle"), [
    (["--origin", "2021-09"], "after the data's last month 2021-06"),
    (["--origin", "2020-13"], "--origin"),
    (["--origin", "2010-01"], "before the model's start"),
    (["--origin", "2020-08", "--horizon", "0"], "allowed: 1..120"),
    (["--origin", "2020-08", "--level", "cy"], "--level"),
    (["--horizon", "3"], "needs --origin"),
])  # fmt: skip
def test_forecast_cli_option_errors(argv, needle, cm_data, tmp_path, capsys):
    code = main(["forecast", "--data-dir", str(cm_data), "--out", str(tmp_path), *argv])
    assert code == 2
    assert needle in capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "forecast").exists()


def test_forecast_and_backtest_cli_cm(cm_data, tmp_path, capsys):
    args = ["--data-dir", str(cm_data), "--out", str(tmp_path), "--synthetic"]
    assert main(["forecast", *args, "--origin", "2020-08", "--horizon", "7", "--draws", "8"]) == 0
    v = read_views_parquet(tmp_path / "forecast" / "forecast_ged_ns_country_month.parquet")
    assert v.month_id.min() == month_id(2020, 9) and v.month_id.max() == month_id(2021, 3)
    assert (tmp_path / "forecast" / "forecast_idps_country_year.parquet").exists()
    for bad, needle in ((["--origins", "2021-06"], "must lie in"),
                        (["--seeds", "0,x"], "--seeds"), (["--horizon", "40"], "1..36")):  # fmt: skip
        assert main(["backtest", *args, "--level", "cm", *bad]) == 2
        assert needle in capsys.readouterr().err.replace("\n", " ")
    code = main(["backtest", *args, "--level", "cm", "--origins", "2020-10..2021-01",
                 "--horizon", "3", "--draws", "6", "--seeds", "0"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "best ensemble CRPS" in out and "dropped" in out
    assert (tmp_path / "backtest_cm" / "verdict.csv").exists()


def test_backtest_origins_option_takes_years_or_quarterly_months():
    from sahelsim.cli.inference_cmds import MonthOrigins, _cm_origins, parse_origins
    from sahelsim.cli.options import Years

    y = parse_origins("2014-2016")
    assert type(y) is Years and list(y) == [2014, 2015, 2016]
    m = parse_origins("2015-01..2015-12,2020-08")
    assert isinstance(m, MonthOrigins)
    assert list(m) == [month_id(2015, k) for k in (1, 4, 7, 10)] + [month_id(2020, 8)]
    assert _cm_origins(Years([2015]), True) == [month_id(2015, k) for k in (1, 4, 7, 10)]
    assert _cm_origins(y, False) == list(DEFAULT_ORIGINS)
    for bad in ("2015-13", "2016-01..2015-01", "abc"):
        with pytest.raises(ValueError):
            parse_origins(bad)
