"""Iterated filtering (IF2): convergence diagnostics, a posterior in the shipped JSON form, the
hold-out option (later data cannot move the fit) and determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sahelsim.inference.filter import Context
from sahelsim.inference.if2 import run_if2
from sahelsim.inference.likelihood import ObsModel, draw_observations
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.posterior import Posterior
from sahelsim.scenarios.run import HISTORY_START

T = 24


@pytest.fixture(scope="module")
def setup():
    space = Space.synthetic()
    truth = Params.default().with_values(engage_rate=0.08)  # identifiable (see test_filter)
    ds = simulate(space, truth, Context(space).drivers(HISTORY_START, T), members=np.array([0]),
                  seed=777, record=Record(cells=()))  # fmt: skip
    return space, draw_observations(ds, 0, ObsModel(), seed=777)


def test_if2_concentrates_and_returns_a_posterior(setup, tmp_path):
    space, obs = setup
    res = run_if2(space, obs, particles=60, iterations=4, params=("engage_rate",), seed=3)
    d = res.diagnostics
    assert list(d.iteration) == [1, 2, 3, 4]
    assert np.all(np.diff(d.rw_sd) < 0)  # geometric cooling
    assert {"loglik", "ess_mean", "ess_min", "unique_share"} <= set(d.columns)
    assert d.sd_engage_rate.iloc[-1] < 0.5 * (2.0 - 0.01) / np.sqrt(12)  # narrower than the prior
    assert d.loglik.iloc[-1] > d.loglik.iloc[0]  # the fit improved from the prior swarm
    m = d.mean_engage_rate.iloc[-1]
    assert 0.03 < m < 0.2, m  # near the truth 0.08 (deaths rise steeply with it below 0.3)
    post = res.posterior
    assert post.names == ("engage_rate",) and post.meta["method"] == "if2"
    p = post.save(tmp_path / "posterior.json")
    back = Posterior.from_json(json.loads(p.read_text()))
    np.testing.assert_array_equal(back.particles, post.particles)
    assert back.meta["diagnostics"]["loglik"] == d.loglik.tolist()


def test_if2_holdout_ignores_later_data_and_scores_it(setup):
    space, obs = setup
    cut = HISTORY_START + 11
    kw = dict(particles=30, iterations=2, params=("engage_rate",), seed=4, holdout_after=cut)
    a = run_if2(space, obs, **kw)
    later = obs.copy()
    later.loc[later.month_id > cut, "value"] *= 3
    b = run_if2(space, later, **kw)
    np.testing.assert_array_equal(a.posterior.particles, b.posterior.particles)
    assert a.diagnostics.loglik.tolist() == b.diagnostics.loglik.tolist()
    assert (a.holdout.month_id > cut).all() and len(a.holdout) == T - 12
    assert np.isfinite(a.holdout_loglik) and a.holdout_loglik != b.holdout_loglik
    assert a.posterior.meta["settings"]["fit_until"] == cut


def test_if2_rejects_bad_settings(setup):
    space, obs = setup
    with pytest.raises(ValueError, match="cooling"):
        run_if2(space, obs, cooling=1.5)
    with pytest.raises(ValueError, match="iterations"):
        run_if2(space, obs, iterations=0)
