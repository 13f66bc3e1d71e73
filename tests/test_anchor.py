"""Forecasts anchored on the observed level, the per-series dispersion, and the ensemble
Kalman analysis of displaced-people stocks (state change conserves people; the analysis moves
the ensemble towards the observation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahelsim.forecast.filtered import anchor_ratios
from sahelsim.inference.analysis import enkf_stocks
from sahelsim.inference.filter import Context
from sahelsim.inference.likelihood import ObsModel, series_dispersion
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.run import HISTORY_START

COUNTRIES = ("MLI", "BFA", "NER")


@pytest.fixture(scope="module")
def space() -> Space:
    return Space.synthetic()


def _rows(iso: str, obs: str, months: range, values) -> pd.DataFrame:
    return pd.DataFrame({"iso3": iso, "observable": obs, "resolution": "month",
                         "month_id": list(months), "first_month": list(months),
                         "value": list(values)})  # fmt: skip


def test_anchor_ratio_matches_the_observed_level_and_ignores_later_rows():
    origin = 500
    months = np.arange(origin - 23, origin + 1)
    counts = np.zeros((2, months.size, 3, 3))
    counts[0, :, 0, 0] = 10.0  # member 0 simulates 10 state-based deaths a month in Mali
    counts[1, :, 0, 0] = 40.0
    rows = _rows("MLI", "sb", range(origin - 11, origin + 1), [20.0] * 12)
    later = _rows("MLI", "sb", range(origin + 1, origin + 4), [1e6] * 3)
    r = anchor_ratios(pd.concat([rows, later]), origin, months, counts, COUNTRIES)
    a = 12.0  # one death a month
    np.testing.assert_allclose(r[:, 0, 0], [(240 + a) / (120 + a), (240 + a) / (480 + a)])
    assert (r[:, 1:, :] == 1).all() and (r[:, :, 1:] == 1).all()  # unobserved series kept
    half = anchor_ratios(rows, origin, months, counts, COUNTRIES, gamma=0.5)
    np.testing.assert_allclose(half[:, 0, 0], np.sqrt(r[:, 0, 0]))
    sparse = _rows("MLI", "sb", range(origin - 2, origin + 1), [20.0] * 3)  # 3 of 12 months
    assert (anchor_ratios(sparse, origin, months, counts, COUNTRIES) == 1).all()


def test_anchor_uses_a_whole_year_row():
    origin = 540  # a December
    months = np.arange(origin - 23, origin + 1)
    counts = np.full((1, months.size, 3, 3), 5.0)
    row = pd.DataFrame({"iso3": ["NER"], "observable": ["os"], "resolution": ["year"],
                        "month_id": [origin], "first_month": [origin - 11], "value": [600.0]})  # fmt: skip
    r = anchor_ratios(row, origin, months, counts, COUNTRIES)
    np.testing.assert_allclose(r[0, 2, 2], (600 + 12) / (60 + 12))


def test_series_dispersion_separates_a_noisy_from_a_poisson_series():
    rng = np.random.default_rng(0)
    m = range(400, 436)
    noisy = _rows("MLI", "sb", m, rng.negative_binomial(0.8, 0.8 / (0.8 + 30), 36))
    calm = _rows("BFA", "sb", m, rng.poisson(30, 36))
    ks = series_dispersion(pd.concat([noisy, calm]), 435)
    assert ks[("MLI", "sb")] < 3 < ks[("BFA", "sb")]
    assert series_dispersion(noisy, 420)[("MLI", "sb")] != ks[("MLI", "sb")]  # only to 420


def test_rescale_displaced_conserves_people(space):
    _ds, state = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, 24),
                         members=np.arange(4), seed=3, record=Record(cells=()),
                         return_state=True)  # fmt: skip
    before = state.people().copy()
    k = 0
    cells = space.country == k
    hosted = state.idp[:, cells].sum(1)
    assert (hosted > 0).all()
    delta = state.rescale_displaced(space.country, k, np.array([2.0, 0.5, 1.0, 0.0]))
    np.testing.assert_allclose(state.idp[:, cells].sum(1), hosted + delta)
    np.testing.assert_allclose(delta[[1, 2, 3]], [-0.5 * hosted[1], 0.0, -hosted[3]])
    assert delta[0] > 0
    np.testing.assert_allclose(state.people(), before)
    assert (state.pop >= 0).all()
    with pytest.raises(ValueError, match="factor"):
        state.rescale_displaced(space.country, k, np.array([1.0, -1.0, 1.0, 1.0]))


def test_enkf_moves_stocks_towards_the_observation(space):
    _, state = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, 24),
                        members=np.arange(60), seed=4, record=Record(cells=()),
                        return_state=True)  # fmt: skip
    sim = np.stack([state.idp[:, space.country == k].sum(1) for k in range(3)], axis=1)
    truth = 3.0 * np.median(sim, axis=0)
    rows = pd.DataFrame({"iso3": list(COUNTRIES), "observable": "idps", "resolution": "stock",
                         "value": truth})  # fmt: skip
    w = np.full(60, 1 / 60)
    om = ObsModel()
    after, ll = enkf_stocks(rows, sim, w, state, space, om, np.random.default_rng(0))
    live = [j for j in range(3) if np.median(sim[:, j]) > 0]
    assert live
    for j in range(3):
        np.testing.assert_allclose(after[:, j], state.idp[:, space.country == j].sum(1))
    for j in live:  # inflation: an ensemble far off and confident still reaches the truth
        lo, hi = np.quantile(after[:, j], [0.05, 0.95])
        assert lo <= truth[j] <= hi, (j, lo, truth[j], hi)
        assert abs(np.log(np.median(after[:, j]) / truth[j])) < abs(
            np.log(np.median(sim[:, j]) / truth[j])
        )
    assert np.isfinite(ll)
    again = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, 24),
                     members=np.arange(60), seed=4, record=Record(cells=()),
                     return_state=True)[1]  # fmt: skip
    b, ll2 = enkf_stocks(rows, sim, w, again, space, om, np.random.default_rng(0))
    np.testing.assert_array_equal(after, b)
    assert ll == ll2


def test_year_noise_gives_year_sums_the_country_year_dispersion():
    from sahelsim.forecast.filtered import _year_noise

    n, k = 4000, 2.0
    rows = pd.DataFrame({"draw": np.repeat(np.arange(n), 12), "month_id": np.tile(np.arange(517, 529), n),
                         "iso3": "MLI", "target": "sb"})  # fmt: skip
    mu = np.full(len(rows), 50.0)  # 600 a year
    y = _year_noise(rows, mu, k, np.random.default_rng(0)).reshape(n, 12).sum(1)
    # NB(size k, mean 600): variance 600 + 600^2 / k
    assert abs(y.mean() / 600 - 1) < 0.05
    assert abs(y.var() / (600 + 600**2 / k) - 1) < 0.15


def test_anchor_dataset_keeps_the_parts_adding_up(space):
    from sahelsim.forecast.filtered import ONE_SIDED_PARTS, anchor_dataset

    ds = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, 12),
                  members=np.arange(3), seed=5, record=Record(cells=()))  # fmt: skip
    types = ("deaths_state_based", "deaths_non_state", "deaths_one_sided")
    rest = ds["deaths_total"] - sum(ds[v] for v in types)  # deaths outside the three types
    ratio = np.array([0.5, 2.0, 0.25])[:, None, None] * np.ones((3, 3, space.n_countries))
    ratio[:, 1] *= 3.0  # non-state scaled differently
    a = anchor_dataset(ds, ratio)
    np.testing.assert_allclose(
        a["deaths_state_based"], ds["deaths_state_based"] * ratio[:, 0][:, None, :]
    )
    np.testing.assert_allclose(a["deaths_total"] - sum(a[v] for v in types), rest, atol=1e-9)
    parts = sum(a[v] for v in ONE_SIDED_PARTS if v in a)
    np.testing.assert_allclose(
        parts, sum(ds[v] for v in ONE_SIDED_PARTS if v in ds) * ratio[:, 2][:, None, :]
    )
    np.testing.assert_allclose(a["state_losses"], ds["state_losses"] * ratio[:, 0][:, None, :])
    assert "anchored" in a.attrs and "anchored" not in ds.attrs
