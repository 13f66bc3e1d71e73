"""The observation model and the particle filter: likelihoods against scipy, the observation
table, resampling, the batch interface, determinism, degeneracy diagnostics and a twin
experiment on the synthetic grid."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sahelsim.core.canon import month_id
from sahelsim.inference.filter import (
    Context,
    ParamScale,
    ParticleFilter,
    RandomWalk,
    base_matrix,
    filter_pass,
    initial_params,
    streams,
    systematic_resample,
)
from sahelsim.inference.likelihood import (
    ObsModel,
    count_loglik,
    dispersion_from_data,
    draw_observations,
    interval_loglik,
    lognormal_logpdf,
    nb_logpmf,
    observations,
    predictive_cdf,
    predictive_quantiles,
    row_loglik,
)
from sahelsim.model.engine import Record, simulate
from sahelsim.model.fields_table import SPECS
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.run import HISTORY_START

COLS = [s.name for s in SPECS]


@pytest.fixture(scope="module")
def space() -> Space:
    return Space.synthetic()


# -- likelihoods -------------------------------------------------------------------------------
def test_negative_binomial_matches_scipy():
    y = np.array([0, 1, 7, 50, 1187])
    for mu, k in ((0.5, 1.0), (12.0, 2.5), (900.0, 0.7)):
        want = stats.nbinom.logpmf(y, k, k / (k + mu))
        np.testing.assert_allclose(nb_logpmf(y, mu, k), want, rtol=1e-10)


def test_outlier_mixture_and_lognormal_match_scipy():
    y, mu, k, eps, ymax = np.array([0, 3, 1187]), 8.0, 1.0, 0.02, 1e5
    law = np.log(np.log((y + 2.0) / (y + 1.0)) / np.log(ymax + 2.0))
    want = np.logaddexp(
        np.log(1 - eps) + stats.nbinom.logpmf(y, k, k / (k + mu)), np.log(eps) + law
    )
    np.testing.assert_allclose(count_loglik(y, mu, k, eps, ymax), want, rtol=1e-10)
    # the outlier law sums to one over 0..ymax
    assert np.isclose(np.exp(law[:0]).sum() + np.sum(np.log((np.arange(1001) + 2) / (np.arange(1001) + 1)))
                      / np.log(1002.0), 1.0)  # fmt: skip
    x = np.array([1e3, 2.5e5, 2e6])
    np.testing.assert_allclose(lognormal_logpdf(x, 3e5, 0.3),
                               stats.lognorm.logpdf(x, s=0.3, scale=3e5), rtol=1e-10)  # fmt: skip


def test_interval_and_rows_are_finite_at_zero_forecasts():
    np.testing.assert_allclose(interval_loglik(np.array([0.4, 0.2, 1.0]), 0.3, 0.55, 0.05),
                               [0.0, -0.5 * 4.0, -0.5 * 81.0])  # fmt: skip
    rows = pd.DataFrame({"resolution": ["month", "year", "stock", "range"],
                         "value": [120.0, 4000.0, 2e6, np.nan], "lo": [np.nan] * 3 + [0.3],
                         "hi": [np.nan] * 3 + [0.55]})  # fmt: skip
    ll = row_loglik(rows, np.zeros((2, 4)), ObsModel())
    assert np.all(np.isfinite(ll))
    with pytest.raises(ValueError, match="outlier"):
        ObsModel(outlier=1.5)
    with pytest.raises(ValueError, match="k_month"):
        ObsModel(k_month=0.0)


def test_predictive_cdf_and_quantiles_match_scipy_mixture():
    m = ObsModel(outlier=0.0)
    rows = pd.DataFrame({"resolution": ["month", "stock"], "value": [3.0, 1e5]})
    sim, w = np.array([[2.0, 9e4], [10.0, 1.2e5]]), np.array([0.3, 0.7])
    k, mu = m.k_month, sim[:, 0] + m.floor
    want0 = w @ stats.nbinom.cdf(3, k, k / (k + mu))
    want1 = w @ stats.norm.cdf((np.log(1e5 + 1e3) - np.log(sim[:, 1] + 1e3)) / m.idp_sigma)
    np.testing.assert_allclose(
        predictive_cdf(rows, sim, w, m, np.array([3.0, 1e5])), [want0, want1]
    )
    q = predictive_quantiles(rows, sim, w, m, (0.05, 0.5, 0.95))
    for j, p in enumerate((0.05, 0.5, 0.95)):  # the smallest integer with cdf >= p
        v = q[0, j]
        assert predictive_cdf(rows, sim, w, m, np.array([v, 1e5]))[0] >= p
        assert v == 0 or predictive_cdf(rows, sim, w, m, np.array([v - 1, 1e5]))[0] < p


# -- the observation table ----------------------------------------------------------------------
def _cm(iso: str, year: int, months: range, sb: float) -> pd.DataFrame:
    return pd.DataFrame({"iso3": iso, "year": year, "month": list(months),
                         "month_id": [int(month_id(year, m)) for m in months],
                         "ged_best_sb": sb, "ged_best_ns": 0.0, "ged_best_os": 1.0})  # fmt: skip


def test_observation_table_splits_a_part_covered_year():
    cm = pd.concat([_cm("BFA", 2020, range(1, 13), 10.0), _cm("BFA", 2021, range(1, 7), 20.0)])
    cy = pd.DataFrame({"iso3": "BFA", "year": [2020, 2021, 2023],
                       "deaths_state_based": [999.0, 300.0, 4608.0], "deaths_non_state": 5.0,
                       "deaths_one_sided": [12.0, 2.0, 1336.0],
                       "idps": [1.07e6, np.nan, 2.06e6]})  # fmt: skip
    obs = observations(cm, cy)
    months = obs[obs.resolution == "month"]
    assert len(months) == 18 * 3 and months.month_id.max() == month_id(2021, 6)
    y21 = obs[(obs.resolution == "year") & (obs.year == 2021)].set_index("observable")
    assert y21.loc["sb", "value"] == 300.0 - 6 * 20.0  # the months after the GED months
    assert y21.loc["os", "value"] == 0.0  # never below zero (2 - 6)
    assert (y21["first_month"] == month_id(2021, 7)).all() and (
        y21.month_id == month_id(2021, 12)
    ).all()
    assert not ((obs.resolution == "year") & (obs.year == 2020)).any()  # months cover 2020
    y23 = obs[obs.year == 2023]
    assert set(y23.resolution) == {"year", "stock", "range"}
    rng = y23[y23.resolution == "range"].iloc[0]
    assert (rng.iso3, rng.lo, rng.hi) == ("BFA", 0.30, 0.55)
    assert (obs[obs.resolution == "stock"].month_id % 12 == 0).all()  # December (month_id 12k)


def test_dispersion_is_recovered_from_counts_about_a_level():
    rng = np.random.default_rng(4)
    k, n = 2.0, 600
    level = 20 + 10 * np.sin(np.arange(n) / 40)
    y = rng.negative_binomial(k, k / (k + level))
    obs = pd.DataFrame({"iso3": "MLI", "observable": "sb", "resolution": "month",
                        "month_id": np.arange(n) + 1, "first_month": np.arange(n) + 1,
                        "value": y.astype(float)})  # fmt: skip
    est = dispersion_from_data(obs).k_month
    assert 1.4 < est < 2.8, est


# -- resampling and the batch interface ------------------------------------------------------------
def test_systematic_resampling_counts_follow_the_weights():
    w = np.array([0.5, 0.25, 0.125, 0.125, 0.0])
    idx = systematic_resample(w, np.random.default_rng(1))
    counts = np.bincount(idx, minlength=5)
    assert np.all(np.abs(counts - 5 * w) < 1.0) and counts[4] == 0


def test_monthly_windows_equal_one_run(space):
    """The filter's windows with no resampling reproduce one simulate call over the span."""
    n, T = 6, 12
    ctx = Context(space)
    ds_one, st_one = simulate(space, Params.default(), ctx.drivers(HISTORY_START, T),
                              members=n, seed=3, record=Record(cells=()), return_state=True)  # fmt: skip
    obs = draw_observations(ds_one, 0, ObsModel(), seed=1)
    res = filter_pass(
        ctx,
        obs,
        base_matrix(n),
        ParamScale(("engage_rate",)),
        end=HISTORY_START + T - 1,
        model_seed=3,
        rngs=streams(0),
        obs_model=ObsModel(),
        move=RandomWalk(0.0),
        ess_threshold=1e-12,
        stock_update="weight",
    )  # fmt: skip (no analysis of the December stocks)
    assert len(res.diagnostics) == T and not res.diagnostics.resampled.any()
    for k, v in st_one.arrays().items():
        np.testing.assert_array_equal(res.state.arrays()[k], v)


def test_copies_in_different_slots_draw_different_noise(space):
    ctx = Context(space)
    _, st = simulate(space, Params.default(), ctx.drivers(HISTORY_START, 6), members=4, seed=2,
                     record=Record(cells=()), return_state=True)  # fmt: skip
    clones = st.take(np.zeros(4, dtype=np.int64))
    ds = simulate(space, Params.default(), ctx.drivers(HISTORY_START + 6, 3), members=np.arange(4),
                  seed=2, record=Record(cells=()), state0=clones)  # fmt: skip
    d = ds["deaths_total"].sum(("month", "country")).values
    assert len(np.unique(d)) == 4


# -- the filter -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def twin(space):
    """Truth: one run with engage_rate 0.08 (default 0.1); data drawn from the observation model."""
    T = 36
    # 0.08: with the unit model deaths saturate above ~0.3 (a flat likelihood there), so the
    # truth sits where the data can tell values apart
    truth = Params.default().with_values(engage_rate=0.08)
    ds = simulate(space, truth, Context(space).drivers(HISTORY_START, T), members=np.array([0]),
                  seed=777, record=Record(cells=()))  # fmt: skip
    return ds, draw_observations(ds, 0, ObsModel(), seed=777), HISTORY_START + T - 1


def test_same_seed_same_filter_different_seed_differs(space, twin):
    _, obs, _ = twin
    end = HISTORY_START + 11
    a = ParticleFilter(space, particles=40, seed=5, params=("engage_rate", "harm_jnim")).run(
        obs, end
    )
    b = ParticleFilter(space, particles=40, seed=5, params=("engage_rate", "harm_jnim")).run(
        obs, end
    )
    c = ParticleFilter(space, particles=40, seed=6, params=("engage_rate", "harm_jnim")).run(
        obs, end
    )
    np.testing.assert_array_equal(a.param_matrix, b.param_matrix)
    pd.testing.assert_frame_equal(a.diagnostics, b.diagnostics)
    for k, v in a.state.arrays().items():
        np.testing.assert_array_equal(b.state.arrays()[k], v)
    assert a.loglik == b.loglik and a.loglik != c.loglik
    assert set(a.diagnostics.columns) >= {"month_id", "ess", "loglik_increment", "unique"}
    assert np.isclose(a.loglik, a.diagnostics.loglik_increment.sum())


def test_degeneracy_is_reported(space, twin, caplog):
    """A count no particle can explain (outliers switched off) leaves few unique particles."""
    _, obs, _ = twin
    obs = obs[obs.month_id <= HISTORY_START + 2].copy()
    hit = (obs.month_id == HISTORY_START + 1) & (obs.observable == "sb") & (obs.iso3 == "MLI")
    obs.loc[hit, "value"] = 1e5
    with caplog.at_level(logging.WARNING, logger="sahelsim.inference.filter"):
        r = ParticleFilter(space, particles=60, seed=1, params=("engage_rate",),
                           obs_model=ObsModel(outlier=0.0)).run(obs, HISTORY_START + 2)  # fmt: skip
    row = r.diagnostics.set_index("month_id").loc[HISTORY_START + 1]
    assert row["degenerate"] and row["unique"] < 6 and row["ess"] < 6, row
    assert "unique particles" in caplog.text


@pytest.mark.xfail(
    strict=True,
    reason="known defect: the filtered final-month deaths miss the twin's truth (105 against "
    "a 90 % interval of 120-269 with 200 particles): the hidden state is over-confident, like "
    "the fighter totals (docs/decisions.md). It passed once, by chance, with the stocks' "
    "Kalman analysis at sd 0.3 and no inflation",
)
def test_twin_final_month_deaths_inside_the_filtered_interval(space, twin):
    ds, obs, end = twin
    r = ParticleFilter(space, particles=200, seed=1, params=("engage_rate",)).run(obs, end)
    deaths = float(ds["deaths_total"].values[0, -1].sum())
    q05, q95 = np.quantile(r.final["deaths_total"].values.sum(1), [0.05, 0.95])
    assert q05 <= deaths <= q95, (deaths, q05, q95)


def test_twin_experiment_recovers_parameter_and_observed_state(space, twin):
    ds, obs, end = twin
    r = ParticleFilter(space, particles=200, seed=1, params=("engage_rate",)).run(obs, end)
    x = r.param_matrix[:, COLS.index("engage_rate")]
    lo, hi = np.quantile(x, [0.05, 0.95])
    assert lo <= 0.08 <= hi, (lo, hi)
    assert hi - lo < 0.3 * (2.0 - 0.01)  # the data moved it: far narrower than the prior
    # the predictive intervals (observation noise included) cover about 90 % of the data
    assert 0.8 <= r.checks.pred_in_90.mean() <= 0.99
    # hidden state at the end, against an ensemble of the same size run from the prior
    pm = initial_params(ParamScale(("engage_rate",)), 200, streams(1)["init"])
    free = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, 36),
                    members=200, seed=1, record=Record(cells=()), param_matrix=pm)  # fmt: skip
    for var in ("fighters_jnim", "idps"):  # (IS Sahel appears only in May 2015, after the twin)
        truth = float(ds[var].values[0, -1].sum())
        filt = r.final[var].values.sum(1)
        prior = free[var].values[:, -1].sum(1)
        assert abs(np.median(filt) - truth) < abs(np.median(prior) - truth), var
        assert np.ptp(np.quantile(filt, [0.05, 0.95])) < np.ptp(np.quantile(prior, [0.05, 0.95]))
    # (strict 90 % coverage of the unobserved fighter totals is not reached with 200
    # particles: measured in 1 of 6 twins, see docs/decisions.md)
