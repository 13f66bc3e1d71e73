"""Scoring rules (CRPS, ignorance, interval score), baselines and VIEWS forecast files."""

from __future__ import annotations

import itertools
import logging
import math
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from sahelsim.forecast import baselines, scoring
from sahelsim.forecast import views_io as forecast_io
from sahelsim.forecast.baselines import (
    Conflictology,
    LastValuePoisson,
    NegBinRecent,
    ZeroBaseline,
    forecasts_to_frame,
    unit_key,
)
from sahelsim.forecast.scoring import (
    VIEWS_BINS,
    bin_index,
    coverage,
    crps_ensemble,
    crps_ensemble_reference,
    ignorance_score,
    interval_score,
    mean_interval_score,
    mean_interval_score_50,
    mean_interval_score_90,
    score_rows,
    score_table,
)
from sahelsim.forecast.views_io import (
    ViewsFormatError,
    read_views_parquet,
    to_views,
    validate_views,
    write_views_parquet,
)

# --------------------------------------------------------------------------------------------
# CRPS
# --------------------------------------------------------------------------------------------


def _crps_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Random cases: count data with many ties, continuous data, degenerate ensembles."""
    rng = np.random.default_rng(20240611)
    cases = []
    for n in (1, 2, 3, 10, 1000):
        lam = rng.uniform(0.1, 30.0, size=40)
        draws = rng.poisson(lam[:, None], size=(40, n)).astype(float)
        obs = rng.poisson(lam).astype(float)
        cases.append((obs, draws))
        cases.append((rng.normal(size=25) * 5, rng.normal(size=(25, n)) * 3 + 1))
    # obs equal to one of the draws, below all, above all; heavy tails; all-zero ensembles
    d = rng.negative_binomial(0.3, 0.01, size=(30, 500)).astype(float)
    cases.append((d[:, 7].copy(), d))
    cases.append((np.full(30, -1.0), d))
    cases.append((d.max(axis=1) + 10, d))
    cases.append((np.array([0.0, 3.0, 0.0]), np.zeros((3, 1000))))
    cases.append((np.array([2.0, 2.0]), np.full((2, 50), 2.0)))
    # multi-dimensional obs (unit x period) and a scalar
    cases.append((rng.poisson(4, size=(3, 4)).astype(float), rng.poisson(4, size=(3, 4, 200))))
    cases.append((np.array(3.0), rng.poisson(3, size=100)))
    return cases


def test_crps_scoringrules_matches_reference():
    pytest.importorskip("scoringrules", reason="scoringrules not installed (optional)")
    for obs, draws in _crps_cases():
        got = crps_ensemble(obs, draws, engine="scoringrules")
        ref = crps_ensemble_reference(obs, draws)
        assert got.shape == np.shape(obs)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


def _crps_pairwise(obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """CRPS = E|X - y| - 1/2 E|X - X'| by brute force over all pairs (no sorting)."""
    x = np.asarray(draws, dtype=float)
    accuracy = np.abs(x - np.asarray(obs, dtype=float)[..., None]).mean(axis=-1)
    spread = np.abs(x[..., :, None] - x[..., None, :]).mean(axis=(-2, -1))
    return accuracy - 0.5 * spread


def _crps_integral(y: float, draws: np.ndarray) -> float:
    """CRPS by its definition, the integral of (F(t) - 1{t >= y})^2 dt, exact for a step CDF."""
    x = np.sort(np.asarray(draws, dtype=float))
    knots = np.unique(np.append(x, y))
    total = 0.0
    for a, b in itertools.pairwise(knots):
        f = np.searchsorted(x, a, side="right") / len(x)  # F is constant on [a, b)
        total += (f - float(a >= y)) ** 2 * (b - a)
    return total


def test_crps_reference_matches_pairwise_and_integral():
    for obs, draws in _crps_cases():
        ref = crps_ensemble_reference(obs, draws)
        if draws.shape[-1] <= 500:  # the pairwise matrix is n^2
            np.testing.assert_allclose(ref, _crps_pairwise(obs, draws), rtol=0, atol=1e-9)
        flat_y, flat_x = np.ravel(obs), np.reshape(draws, (-1, draws.shape[-1]))
        exact = [_crps_integral(y, x) for y, x in zip(flat_y, flat_x, strict=True)]
        np.testing.assert_allclose(np.ravel(ref), exact, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(("mu", "sigma", "y"), [(0.0, 1.0, 0.0), (2.0, 3.0, -1.5), (10, 0.5, 11)])
def test_crps_of_normal_quantile_ensemble_matches_closed_form(mu, sigma, y):
    # Gneiting & Raftery (2007): CRPS(N(mu, sigma^2), y) = sigma (z (2 Phi(z) - 1) + 2 phi(z)
    # - 1 / sqrt(pi)), z = (y - mu) / sigma; an ensemble of the normal's n quantiles tends to it
    z = (y - mu) / sigma
    closed = sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi))
    n = 20_000
    draws = mu + sigma * norm.ppf((np.arange(n) + 0.5) / n)
    got = float(crps_ensemble_reference(np.array(float(y)), draws))
    assert got == pytest.approx(closed, rel=1e-3)
    # an ensemble shifted away from y scores worse, so the check can fail
    worse = float(
        crps_ensemble_reference(np.array(float(y)), draws + (sigma if y <= mu else -sigma))
    )
    assert worse > closed * 1.05


def test_crps_known_values():
    # ensemble all equal to the observation scores 0
    assert crps_ensemble(np.array([4.0]), np.full((1, 1000), 4.0))[0] == pytest.approx(0, abs=1e-12)
    # a point forecast (one draw, or all draws equal) scores the absolute error
    x = np.array([[3.0], [0.0], [10.0]])
    y = np.array([5.0, 0.0, 2.5])
    np.testing.assert_allclose(crps_ensemble(y, x), np.abs(x[:, 0] - y), atol=1e-12)
    np.testing.assert_allclose(crps_ensemble(y, np.repeat(x, 7, axis=1)), np.abs(x[:, 0] - y))
    # {0, 2} against 1: E|X - y| = 1, E|X - X'| = (0 + 2 + 2 + 0) / 4 = 1, CRPS = 1 - 1/2
    assert crps_ensemble_reference(np.array(1.0), np.array([0.0, 2.0])) == pytest.approx(0.5)
    assert crps_ensemble(np.array(1.0), np.array([0.0, 2.0])) == pytest.approx(0.5)
    # order of the draws does not matter
    d = np.array([5.0, 1.0, 3.0, 3.0, 0.0])
    assert crps_ensemble_reference(np.array(2.0), d) == pytest.approx(
        crps_ensemble_reference(np.array(2.0), d[::-1])
    )


def test_crps_nan_obs_and_bad_input():
    out = crps_ensemble(np.array([np.nan, 1.0]), np.ones((2, 10)))
    assert np.isnan(out[0]) and out[1] == 0
    assert np.isnan(crps_ensemble_reference(np.array([np.nan]), np.ones((1, 10)))[0])
    with pytest.raises(ValueError, match="shape"):
        crps_ensemble(np.zeros(3), np.zeros((4, 10)))
    with pytest.raises(ValueError, match="NaN"):
        crps_ensemble(np.zeros(1), np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="no draws"):
        crps_ensemble(np.zeros(2), np.zeros((2, 0)))
    with pytest.raises(ValueError, match="engine"):
        crps_ensemble(np.zeros(1), np.zeros((1, 3)), engine="bogus")  # type: ignore[arg-type]


def test_crps_falls_back_without_scoringrules(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "scoringrules", None)  # makes `import scoringrules` fail
    monkeypatch.setattr(scoring, "_sr_checked", False)
    monkeypatch.setattr(scoring, "_sr_module", None)
    monkeypatch.setattr(scoring, "_fallback_logged", False)
    y, x = np.array([1.0, 7.0]), np.array([[0.0, 2.0], [1.0, 1.0]])
    with caplog.at_level(logging.WARNING, logger="sahelsim.scoring"):
        first = crps_ensemble(y, x)
        second = crps_ensemble(y, x)
    np.testing.assert_allclose(first, [0.5, 6.0])
    np.testing.assert_array_equal(first, second)
    assert sum("scoringrules is not installed" in r.message for r in caplog.records) == 1
    with pytest.raises(ImportError, match="scoringrules"):
        crps_ensemble(y, x, engine="scoringrules")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    lam=st.floats(0.5, 60.0),
    rel_shift=st.floats(0.5, 3.0),
    sign=st.sampled_from([-1.0, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_crps_is_proper_true_distribution_wins(lam, rel_shift, sign, seed):
    """Averaged over many outcomes, the true distribution's draws beat a shifted forecast."""
    rng = np.random.default_rng(seed)
    n_obs, n_draws = 400, 200
    obs = rng.poisson(lam, size=n_obs).astype(float)
    true_draws = rng.poisson(lam, size=(n_obs, n_draws)).astype(float)
    shift = sign * max(1.0, rel_shift * math.sqrt(lam))
    shifted = true_draws + shift
    assert crps_ensemble(obs, true_draws).mean() < crps_ensemble(obs, shifted).mean()


# --------------------------------------------------------------------------------------------
# Ignorance
# --------------------------------------------------------------------------------------------


def test_views_bins_exact():
    assert VIEWS_BINS == (0, 0.5, 2.5, 5.5, 10.5, 25.5, 50.5, 100.5, 250.5, 500.5, 1000.5)
    values = np.array([0, 1, 2, 3, 5, 6, 10, 11, 25, 26, 50, 51, 100, 101, 250, 251, 500, 501])
    expected = [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9]
    np.testing.assert_array_equal(bin_index(values), expected)
    np.testing.assert_array_equal(bin_index([1000, 1001, 10**7]), [9, 10, 10])
    # the VIEWS challenge code: np.digitize(x, bins, right=False) - 1
    x = np.random.default_rng(0).negative_binomial(0.2, 0.0005, size=5000)
    np.testing.assert_array_equal(bin_index(x), np.digitize(x, VIEWS_BINS, right=False) - 1)
    with pytest.raises(ValueError, match="negative"):
        bin_index([-1])


def _views_challenge_ignorance(obs: float, draws: np.ndarray) -> float:
    """The prediction_competition_2023 rule, re-implemented: one extra draw in each category."""
    binned = list(np.digitize(draws, VIEWS_BINS) - 1) + list(range(len(VIEWS_BINS)))
    observed = int(np.digitize([obs], VIEWS_BINS)[0] - 1)
    return float(-np.log2(Counter(binned)[observed] / len(binned)))


def test_ignorance_matches_views_challenge_rule():
    rng = np.random.default_rng(5)
    draws = rng.negative_binomial(0.5, rng.uniform(0.001, 0.5, size=(60, 1)), size=(60, 1000))
    obs = rng.negative_binomial(0.5, 0.02, size=60)
    got = ignorance_score(obs, draws)
    want = [_views_challenge_ignorance(o, d) for o, d in zip(obs, draws, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_ignorance_extremes_and_smoothing():
    n, k = 1000, len(VIEWS_BINS)
    rng = np.random.default_rng(1)
    best = -math.log2((n + 1) / (n + k))
    # all draws in the observed bin (3..5 fatalities) scores the minimum
    obs = np.array([4.0])
    hit = rng.integers(3, 6, size=(1, n))
    assert ignorance_score(obs, hit)[0] == pytest.approx(best)
    others = rng.poisson(rng.uniform(0, 50, size=(200, 1)), size=(200, n))
    assert np.all(ignorance_score(np.full(200, 4.0), others) >= best - 1e-12)
    # no draw in the observed bin: finite, -log2(1 / (n + K))
    assert ignorance_score(np.array([0.0]), np.full((1, n), 2000.0))[0] == pytest.approx(
        math.log2(n + k)
    )
    # the first bin is exactly 0 for counts; 1 is in the next bin
    assert ignorance_score(np.array([1.0]), np.zeros((1, n)))[0] == pytest.approx(math.log2(n + k))
    # lighter smoothing eps = 1/K
    eps = 1 / k
    assert ignorance_score(obs, hit, eps=eps)[0] == pytest.approx(-math.log2((n + eps) / (n + 1)))
    # NaN observation -> NaN; invalid inputs
    assert np.isnan(ignorance_score(np.array([np.nan]), hit)[0])
    with pytest.raises(ValueError, match="eps"):
        ignorance_score(obs, hit, eps=0)
    with pytest.raises(ValueError, match="negative"):
        ignorance_score(np.array([-1.0]), hit)
    with pytest.raises(ValueError, match="increasing"):
        ignorance_score(obs, hit, bins=[0, 2, 1])


# --------------------------------------------------------------------------------------------
# Interval score and coverage
# --------------------------------------------------------------------------------------------


def test_interval_score_by_hand():
    draws = np.tile(np.arange(101.0), (4, 1))  # empirical 5 % / 95 % quantiles: 5 and 95
    obs = np.array([50.0, 0.0, 100.0, 95.0])
    # width 90; below by 5 -> + (2 / 0.1) * 5 = 100; above by 5 -> + 100; on the bound -> 90
    np.testing.assert_allclose(interval_score(obs, draws, 0.1), [90, 190, 190, 90])
    # 50 % interval [25, 75]: width 50, y = 80 -> 50 + (2 / 0.5) * 5 = 70
    assert interval_score(np.array([80.0]), draws[:1], 0.5)[0] == pytest.approx(70)
    # against the Gneiting-Raftery formula on random data with numpy quantiles
    rng = np.random.default_rng(2)
    x = rng.poisson(7, size=(50, 300)).astype(float)
    y = rng.poisson(9, size=50).astype(float)
    lo, hi = np.quantile(x, 0.05, axis=1), np.quantile(x, 0.95, axis=1)
    want = (hi - lo) + 20 * (lo - y) * (y < lo) + 20 * (y - hi) * (y > hi)
    np.testing.assert_allclose(interval_score(y, x, 0.1), want)
    assert mean_interval_score(y, x, 0.9) == pytest.approx(want.mean())
    assert mean_interval_score_90(y, x) == pytest.approx(want.mean())
    assert mean_interval_score_50(y, x) == pytest.approx(interval_score(y, x, 0.5).mean())
    with pytest.raises(ValueError, match="alpha"):
        interval_score(y, x, 1.5)


def test_coverage():
    draws = np.tile(np.arange(101.0), (5, 1))
    obs = np.array([5.0, 4.9, 95.0, 95.1, np.nan])
    np.testing.assert_array_equal(coverage(obs, draws, 0.9), [True, False, True, False, False])
    np.testing.assert_array_equal(coverage(np.array([25.0, 24.0]), draws[:2], 0.5), [True, False])
    # calibrated forecasts cover about their level
    rng = np.random.default_rng(3)
    y = rng.normal(size=4000)
    x = rng.normal(size=(4000, 400))
    assert coverage(y, x, 0.9).mean() == pytest.approx(0.9, abs=0.02)
    assert coverage(y, x, 0.5).mean() == pytest.approx(0.5, abs=0.03)


# --------------------------------------------------------------------------------------------
# score_table
# --------------------------------------------------------------------------------------------


def test_score_table_groups_and_means():
    rng = np.random.default_rng(4)
    rows = []
    for model in ("a", "b"):
        for unit in ("MLI", "BFA", "NER"):
            for period in (530, 531):
                n = 1000 if model == "a" else 500  # rows may differ in number of draws
                rows.append(
                    {
                        "model": model,
                        "unit": unit,
                        "period": period,
                        "draws": rng.poisson(10, n).astype(float),
                        "obs": float(rng.poisson(10)),
                    }
                )
    frame = pd.DataFrame(rows)
    frame.loc[5, "obs"] = np.nan  # not scored
    table = score_table(frame, by=["model"])
    assert list(table.columns) == [
        "model",
        "n",
        "crps",
        "ignorance",
        "is50",
        "is90",
        "coverage50",
        "coverage90",
    ]
    assert table["n"].tolist() == [5, 6]
    a = frame[(frame["model"] == "a") & frame["obs"].notna()]
    x = np.stack(a["draws"].to_list())
    y = a["obs"].to_numpy()
    row = table.set_index("model").loc["a"]
    assert row["crps"] == pytest.approx(crps_ensemble(y, x).mean())
    assert row["ignorance"] == pytest.approx(ignorance_score(y, x).mean())
    assert row["is50"] == pytest.approx(interval_score(y, x, 0.5).mean())
    assert row["is90"] == pytest.approx(interval_score(y, x, 0.1).mean())
    assert row["coverage90"] == pytest.approx(coverage(y, x, 0.9).mean())
    overall = score_table(frame)
    assert len(overall) == 1 and overall["n"].iloc[0] == 11
    per_row = score_rows(frame, levels=(0.5, 0.9, 0.95))
    assert {"is95", "coverage95"} <= set(per_row.columns)
    assert np.isnan(per_row.loc[5, "crps"])
    with pytest.raises(KeyError, match="nope"):
        score_table(frame, by=["nope"])


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------


def _history(rng: np.random.Generator, periods: range, units=("MLI", "BFA", "NER")) -> pd.DataFrame:
    rows = [
        {"unit": u, "period": p, "value": float(rng.poisson(5 + 10 * i))}
        for i, u in enumerate(units)
        for p in periods
    ]
    return pd.DataFrame(rows)


def test_zero_baseline():
    h = _history(np.random.default_rng(0), range(500, 540))
    fc = ZeroBaseline().fit(h).predict([541, 542], n_draws=100, units=["MLI", "BFA", "TCD"])
    assert set(fc) == {(u, p) for u in ("MLI", "BFA", "TCD") for p in (541, 542)}
    assert all(d.shape == (100,) and d.dtype == np.float64 and not d.any() for d in fc.values())


def test_last_value_poisson():
    h = pd.DataFrame(
        {
            "unit": ["MLI", "MLI", "BFA", "BFA", "NER"],
            "period": [538, 539, 538, 539, 537],
            "value": [3.0, 40.0, 7.0, 12.0, 9.0],
        }
    )
    m = LastValuePoisson().fit(h)
    assert m.window_ == 1
    assert m.last_value_ == {"MLI": 40.0, "BFA": 12.0, "NER": 0.0}  # NER has no row at 539
    fc = m.predict([540], n_draws=40_000, seed=1)
    for unit, lam in (("MLI", 40.0), ("BFA", 12.0)):
        d = fc[(unit, 540)]
        assert np.all(d == np.round(d))
        assert d.mean() == pytest.approx(lam, abs=4 * math.sqrt(lam / d.size))
    assert not fc[("NER", 540)].any()
    only_rows = LastValuePoisson(fill_missing=None).fit(h)
    assert only_rows.last_value_["NER"] == 9.0


def test_conflictology_draws_only_window_values():
    periods = range(400, 520)
    h = pd.DataFrame({"unit": "MLI", "period": list(periods), "value": [float(p) for p in periods]})
    m = Conflictology().fit(h)
    assert (m.freq_, m.window_) == ("month", 36)
    window = set(range(520 - 36, 520))
    d = m.predict([521], n_draws=5000, seed=2)[("MLI", 521)]
    assert set(np.unique(d)) <= window
    assert len(set(np.unique(d))) > 30  # resamples the whole window
    # absent unit-periods count as 0 in the window; fill_missing=None uses the rows present only
    sparse = h[h["period"] % 2 == 0]
    d0 = Conflictology(window=10).fit(sparse).predict([521], n_draws=2000)[("MLI", 521)]
    assert set(np.unique(d0)) == {0.0} | {float(p) for p in range(510, 520, 2)}
    d1 = Conflictology(window=10, fill_missing=None).fit(sparse).predict([521], n_draws=2000)
    assert set(np.unique(d1[("MLI", 521)])) == {float(p) for p in range(500, 520, 2)}
    # yearly periods: window 3
    years = pd.DataFrame({"unit": 432, "period": [2019, 2020, 2021, 2022], "value": [1, 2, 3, 4]})
    my = Conflictology().fit(years)
    assert (my.freq_, my.window_) == ("year", 3)
    assert set(np.unique(my.predict([2023])[(432, 2023)])) <= {2.0, 3.0, 4.0}


def test_negbin_matches_moments():
    rng = np.random.default_rng(7)
    mean, var = 12.0, 80.0
    r, p = mean**2 / (var - mean), mean / var
    values = rng.negative_binomial(r, p, size=6000).astype(float)
    h = pd.DataFrame({"unit": "BFA", "period": np.arange(1, 6001), "value": values})
    m = NegBinRecent(window=6000, freq="month").fit(h)
    m_hat, v_hat = m.moments_["BFA"]
    assert m_hat == pytest.approx(values.mean()) and v_hat == pytest.approx(values.var(ddof=1))
    assert m_hat == pytest.approx(mean, rel=0.05) and v_hat == pytest.approx(var, rel=0.15)
    d = m.predict([6001], n_draws=200_000, seed=3)[("BFA", 6001)]
    assert d.mean() == pytest.approx(m_hat, rel=0.01)
    assert d.var() == pytest.approx(v_hat, rel=0.03)
    # under-dispersed history -> Poisson; all-zero history -> zeros
    h2 = pd.DataFrame(
        {"unit": "NER", "period": np.arange(1, 101), "value": np.tile([4.0, 5.0], 50)}
    )
    d2 = NegBinRecent(window=100).fit(h2).predict([101], n_draws=100_000)[("NER", 101)]
    assert d2.mean() == pytest.approx(4.5, rel=0.02) and d2.var() == pytest.approx(4.5, rel=0.05)
    h3 = pd.DataFrame({"unit": "MLI", "period": [1, 2, 3], "value": [0.0, 0.0, 0.0]})
    assert not NegBinRecent().fit(h3).predict([4])[("MLI", 4)].any()


@pytest.mark.parametrize("cls", [LastValuePoisson, Conflictology, NegBinRecent])
def test_baselines_reproducible_and_order_independent(cls):
    h = _history(np.random.default_rng(8), range(500, 540))
    a = cls().fit(h).predict([541, 542], n_draws=300, seed=11)
    b = cls().fit(h.sample(frac=1.0, random_state=1)).predict([542, 541], n_draws=300, seed=11)
    c = cls().fit(h).predict([542], n_draws=300, seed=11, units=["NER"])
    for key, draws in a.items():
        np.testing.assert_array_equal(draws, b[key])
    np.testing.assert_array_equal(a[("NER", 542)], c[("NER", 542)])
    d = cls().fit(h).predict([541], n_draws=300, seed=12)
    assert not np.array_equal(a[("MLI", 541)], d[("MLI", 541)])
    assert not np.array_equal(a[("MLI", 541)], a[("MLI", 542)])


def test_unit_key_and_history_validation():
    assert unit_key("MLI") == 0x4D4C49  # UTF-8 bytes, stable across processes
    assert unit_key(432) == 432 and unit_key(np.int64(7)) == 7
    with pytest.raises(ValueError):
        unit_key(-1)
    with pytest.raises(TypeError):
        unit_key(1.5)  # type: ignore[arg-type]
    good = pd.DataFrame({"unit": ["MLI", "MLI"], "period": [1, 2], "value": [1.0, 2.0]})
    with pytest.raises(ValueError, match="column"):
        Conflictology().fit(good.drop(columns="value"))
    with pytest.raises(ValueError, match="negative"):
        Conflictology().fit(good.assign(value=[1.0, -2.0]))
    with pytest.raises(ValueError, match="several rows"):
        Conflictology().fit(good.assign(period=[1, 1]))
    with pytest.raises(RuntimeError, match="not fitted"):
        Conflictology().predict([3])
    assert baselines.infer_freq([2020, 2021]) == "year"


# --------------------------------------------------------------------------------------------
# VIEWS files
# --------------------------------------------------------------------------------------------


def test_views_round_trip(tmp_path):
    h = _history(np.random.default_rng(9), range(520, 540))
    fc = NegBinRecent().fit(h).predict([541, 542], n_draws=1000, seed=4)
    frame = to_views(fc, unit="country_id", period="month_id")
    assert list(frame.columns) == ["month_id", "country_id", "draw", "outcome"]
    assert sorted(frame["country_id"].unique()) == [432, 436, 439]
    assert len(frame) == 3 * 2 * 1000
    assert (
        frame.groupby(["month_id", "country_id"])["draw"]
        .agg(["min", "max"])
        .eq([0, 999])
        .all()
        .all()
    )
    mli = frame[(frame["country_id"] == 432) & (frame["month_id"] == 541)]
    np.testing.assert_array_equal(mli["outcome"].to_numpy(), fc[("MLI", 541)])
    path = write_views_parquet(frame, tmp_path / "sub" / "cm.parquet")
    back = read_views_parquet(path)
    pd.testing.assert_frame_equal(back, frame)
    # grid-year variant from a long frame with arrays, and the score_table path
    long = forecasts_to_frame({(123456, 2024): np.array([0.0, 2.0]), (123457, 2024): np.zeros(2)})
    pg = to_views(long, unit="priogrid_gid", period="year", outcome_name="ged_sb")
    assert list(pg.columns) == ["year", "priogrid_gid", "draw", "ged_sb"]
    write_views_parquet(pg, tmp_path / "pg.parquet", outcome_name="ged_sb")
    pd.testing.assert_frame_equal(
        read_views_parquet(tmp_path / "pg.parquet", outcome_name="ged_sb"), pg
    )


def test_to_views_rejects_unknown_units():
    with pytest.raises(ValueError, match="ISO3"):
        to_views({("XXX", 541): np.zeros(3)})
    with pytest.raises(ValueError, match="integers"):
        to_views({("MLI", 541): np.zeros(3)}, unit="priogrid_gid")


@pytest.mark.parametrize(
    ("mutate", "column", "message"),
    [
        (lambda f: f.drop(columns="draw"), "draw", "missing column"),
        (lambda f: f.drop(columns="month_id"), "month_id", "missing column"),
        (lambda f: f.assign(outcome=f["outcome"].astype(str)), "outcome", "wrong dtype"),
        (lambda f: f.assign(country_id=["MLI"] * len(f)), "country_id", "wrong dtype"),
        (lambda f: f.assign(draw=f["draw"] + 0.5), "draw", "non-integer draw index"),
        (lambda f: f.assign(outcome=-f["outcome"] - 1), "outcome", "negative outcome"),
        (lambda f: f.assign(draw=f["draw"] + 1), "draw", "not 0..n-1"),
    ],
)
def test_read_views_validation_errors(tmp_path, mutate, column, message):
    good = to_views({("MLI", 541): np.arange(5.0), ("BFA", 541): np.ones(5)})
    path = tmp_path / "bad.parquet"
    mutate(good).to_parquet(path, index=False)
    with pytest.raises(ViewsFormatError, match=message) as info:
        read_views_parquet(path)
    assert str(path) in str(info.value) and column in str(info.value)
    assert info.value.field is not None and column in info.value.field
    with pytest.raises(ViewsFormatError, match=message):  # writing refuses the same frame
        write_views_parquet(mutate(good), tmp_path / "out.parquet")


def test_read_views_bad_files(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(ViewsFormatError, match="parquet") as info:
        read_views_parquet(junk)
    assert str(junk) in str(info.value)
    with pytest.raises(FileNotFoundError):
        read_views_parquet(tmp_path / "absent.parquet")
    # float draws that are whole numbers are accepted and normalised to int64
    f = validate_views(
        pd.DataFrame(
            {"year": [2024, 2024], "country_id": [432, 432], "draw": [0.0, 1.0], "outcome": [1, 2]}
        )
    )
    assert f["draw"].dtype == np.int64 and f["outcome"].dtype == np.float64
    assert isinstance(forecast_io.ViewsFormatError("f", "m"), ValueError)
