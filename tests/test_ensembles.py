"""Ensembles: the median (quantile) combination and the trained linear pool, by hand and
against leakage (pool weights come only from earlier origins)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahelsim.core.canon import month_id
from sahelsim.forecast.ensembles import (
    LinearPool,
    MedianEnsemble,
    add_ensembles,
    fit_pool_weights,
    mean_abs_diff,
    median_combine,
    pool_crps,
    pool_sample,
    pool_terms,
)
from sahelsim.forecast.forecasters import baseline_forecasters
from sahelsim.forecast.scoring import crps_ensemble

CORE = ("MLI", "BFA", "NER")
ORIGIN = int(month_id(2015, 6))


def observed(seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mids = np.arange(int(month_id(2011, 1)), int(month_id(2016, 12)) + 1)
    return pd.DataFrame([{"iso3": c, "month_id": m, "sb": rng.poisson(5 + 10 * i),
                          "ns": rng.poisson(2), "os": rng.negative_binomial(1, 0.1)}
                         for i, c in enumerate(CORE) for m in mids])  # fmt: skip


def test_median_of_identical_forecasters_is_that_forecaster():
    f = baseline_forecasters()["negbin"]
    ens = MedianEnsemble({"a": f, "b": f, "c": f})
    obs = observed()
    one = f(obs, ORIGIN, 3, 40, 7).sort_values(["month_id", "iso3", "target", "draw"])
    med = ens(obs, ORIGIN, 3, 40, 7).sort_values(["month_id", "iso3", "target", "draw"])
    for key, g in one.groupby(["month_id", "iso3", "target"]):
        m = med.set_index(["month_id", "iso3", "target"]).loc[key, "outcome"].to_numpy()
        np.testing.assert_array_equal(np.sort(m), np.sort(g.outcome.to_numpy()))


def test_median_combine_by_hand():
    rng = np.random.default_rng(0)
    const = [np.full((2, 10), v) for v in (1.0, 5.0, 9.0)]
    assert np.all(median_combine(const, 7, rng) == 5.0)
    assert np.all(median_combine(const[:2], 7, rng) == 3.0)  # even K: mean of the middle two
    # quantiles of 0..9 and 10..19 -> median of two = mean: 5..14
    a = np.arange(10.0)[None, :]
    out = median_combine([a, a + 10], 10, rng)
    np.testing.assert_array_equal(np.sort(out[0]), np.arange(10.0) + 5)


def test_mixture_crps_terms_are_exact():
    rng = np.random.default_rng(1)
    x = rng.poisson(3, (4, 30)).astype(float)
    y = rng.poisson(8, (4, 30)).astype(float)
    brute = np.abs(x[:, :, None] - y[:, None, :]).mean(axis=(1, 2))
    np.testing.assert_allclose(mean_abs_diff(x, y), brute)
    obs = rng.poisson(5, 4).astype(float)
    a, B = pool_terms([x, y], obs)
    np.testing.assert_allclose(pool_crps(np.array([1.0, 0.0]), a, B), crps_ensemble(obs, x))
    # equal weights of equal-size samples = the pooled sample
    np.testing.assert_allclose(pool_crps(np.array([0.5, 0.5]), a, B),
                               crps_ensemble(obs, np.concatenate([x, y], axis=1)))  # fmt: skip


def test_pool_weights_favour_the_better_member_and_sampling_follows_them():
    rng = np.random.default_rng(2)
    obs = rng.poisson(20, 200).astype(float)
    good = obs[:, None] + rng.normal(0, 1, (200, 50))
    bad = rng.poisson(200, (200, 50)).astype(float)
    w = fit_pool_weights(*pool_terms([good, bad], obs))
    assert w[0] > 0.99 and w.sum() == pytest.approx(1.0)
    assert fit_pool_weights(np.zeros((0, 3)), np.zeros((0, 3, 3))).tolist() == [1 / 3] * 3
    draws = pool_sample([np.zeros((3, 5)), np.ones((3, 5))], np.array([0.25, 0.75]), 100, rng)
    assert draws.sum(axis=1).tolist() == [75.0, 75.0, 75.0]  # systematic allocation


def backtest_rows(obs_shift: dict[tuple[int, int], float] | None = None) -> pd.DataFrame:
    """Rows of 3 forecasters at 4 quarterly origins, 3 horizons, one country and target."""
    rng = np.random.default_rng(3)
    rows = []
    for origin in (100, 103, 106, 109):
        for h in (1, 2, 3):
            y = float(rng.poisson(10))
            y += (obs_shift or {}).get((origin, origin + h), 0.0)
            for name, lam in (("a", 10), ("b", 30), ("c", 3)):
                rows.append({"seed": 0, "origin": origin, "horizon": h, "month_id": origin + h,
                             "iso3": "MLI", "target": "sb", "forecaster": name,
                             "draws": rng.poisson(lam, 40).astype(float), "obs": y})  # fmt: skip
    return pd.DataFrame(rows)


def test_pool_weights_use_only_earlier_origins():
    base = backtest_rows()
    new, w = add_ensembles(base, period="month_id", members=["a", "b", "c"], draws=40)
    assert set(new.forecaster) == {"median_ensemble", "linear_pool"}
    first = w[w.origin == 100]
    assert first.n_train.eq(0).all() and np.allclose(first.weight, 1 / 3)
    # origin 103 trains on origin 100's months <= 103 (101, 102, 103); 106 on 100 and 103
    assert w.groupby("origin").n_train.first().to_dict() == {100: 0, 103: 3, 106: 6, 109: 9}
    # perturbing the outcomes of the last origin changes no weight
    later = backtest_rows({(109, 110): 500.0, (109, 111): 500.0, (109, 112): 500.0})
    _, w2 = add_ensembles(later, period="month_id", members=["a", "b", "c"], draws=40)
    pd.testing.assert_frame_equal(w, w2)
    # perturbing month 105 (origin 103, h 2) leaves the weights of origins 100 and 103 unchanged
    mid = backtest_rows({(103, 105): 500.0})
    _, w3 = add_ensembles(mid, period="month_id", members=["a", "b", "c"], draws=40)
    pd.testing.assert_frame_equal(w[w.origin <= 103], w3[w3.origin <= 103])
    assert not w[w.origin == 106].weight.equals(w3[w3.origin == 106].weight)


def test_linear_pool_forecaster_sees_only_the_history():
    f = baseline_forecasters()
    pool = LinearPool({"negbin": f["negbin"], "zero": f["zero"], "last": f["last_value"]},
                      train_origins=3)  # fmt: skip
    obs = observed()
    a = pool(obs, ORIGIN, 2, 30, 1)
    wa = dict(pool.weights_)
    later = obs.copy()
    later.loc[later.month_id > ORIGIN, "sb"] += 1000
    b = pool(later, ORIGIN, 2, 30, 1)
    pd.testing.assert_frame_equal(a, b)
    assert pool.weights_ == wa and sum(wa.values()) == pytest.approx(1.0)
    assert set(a.month_id) == {ORIGIN + 1, ORIGIN + 2}
