"""Calibration: the ABC-SMC sampler against an analytic posterior, the observation model,
posterior files, and a small end-to-end calibration of the model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sahelsim.core.backend import LocalBackend
from sahelsim.core.errors import SahelsimError
from sahelsim.inference.calibrate import Calibrator
from sahelsim.scenarios.posterior import Posterior, load_posterior


def _gaussian_simulator(sigma: float, n_stats: int):
    """stats = theta + N(0, sigma^2) per statistic; noise keyed by member id (reproducible)."""

    def sim(theta: np.ndarray, members: np.ndarray) -> np.ndarray:
        out = np.empty((theta.shape[0], n_stats))
        for i, m in enumerate(members):
            rng = np.random.default_rng(np.random.SeedSequence(42, spawn_key=(int(m),)))
            out[i] = theta[i, 0] + sigma * rng.standard_normal(n_stats)
        return out

    return sim


def test_abc_smc_recovers_analytic_posterior():
    # prior U(0.005, 0.06) on "attrition"; data: 20 noisy copies of the true value 0.03
    sigma, n = 0.01, 20
    obs = np.full(n, 0.03) + sigma * np.random.default_rng(0).standard_normal(n)
    cal = Calibrator(params=("attrition",), n_particles=400, generations=8, alpha=0.5,
                     simulator=_gaussian_simulator(sigma, n), seed=3).fit(obs)  # fmt: skip
    post = cal.posterior_
    mean = float(np.sum(post.weights * post.particles[:, 0]))
    sd = float(np.sqrt(np.sum(post.weights * (post.particles[:, 0] - mean) ** 2)))
    # exact posterior (flat prior, Gaussian likelihood): N(mean(obs), sigma^2 / n)
    assert mean == pytest.approx(obs.mean(), abs=0.0015)
    assert sigma / np.sqrt(n) * 0.5 < sd < sigma / np.sqrt(n) * 2.5
    d = cal.diagnostics_
    assert d["epsilon"][1] > d["epsilon"][-1]  # tolerances shrink
    assert d["n_simulations"] > 400


def test_calibration_in_chunks_gives_the_same_posterior():
    sigma, n = 0.01, 5
    obs = np.full(n, 0.03)
    kw = {"params": ("attrition",), "n_particles": 40, "generations": 3,
          "simulator": _gaussian_simulator(sigma, n), "seed": 4}  # fmt: skip
    one = Calibrator(**kw).fit(obs)
    split = Calibrator(backend=LocalBackend(chunk=7), **kw).fit(obs)
    np.testing.assert_array_equal(split.posterior_.particles, one.posterior_.particles)
    np.testing.assert_array_equal(split.posterior_.weights, one.posterior_.weights)
    assert split.diagnostics_["epsilon"] == one.diagnostics_["epsilon"]


def test_posterior_roundtrip_and_validation(tmp_path):
    post = Posterior(("a", "b"), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.25, 0.75]),
                     {"data_hash": "x"})  # fmt: skip
    p = post.save(tmp_path / "post.json")
    back = load_posterior(p)
    np.testing.assert_array_equal(back.particles, post.particles)
    assert back.meta["data_hash"] == "x"
    sm = back.summary().set_index("parameter")
    assert sm.loc["b", "mean"] == pytest.approx(3.5)
    rows = back.sample_rows(np.arange(1000), seed=1)
    assert 0.65 < np.mean(rows == 1) < 0.85
    np.testing.assert_array_equal(back.sample_rows(np.arange(500, 1000), 1), rows[500:])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"names": ["a"], "particles": [[1, 2]], "weights": [1]}))
    with pytest.raises(SahelsimError, match=r"bad\.json"):
        load_posterior(bad)


def test_observation_model_matches_simulation_totals():
    from sahelsim.inference.observe import simulated_country_year, summary_vector
    from sahelsim.scenarios.run import run_scenario

    ds = run_scenario("acceleration", synthetic=True, members=4, months=36, start="2012-01",
                      seed=1, params=__import__("sahelsim.model.params", fromlist=["Params"]).Params.default())  # fmt: skip
    obs = simulated_country_year(ds)
    assert obs.sizes == {"member": 4, "year": 3, "country": 3}
    sb2013 = ds.deaths_state_based.sel(country="MLI").where(ds.year == 2013, drop=True).sum("month")
    np.testing.assert_allclose(obs.sb.sel(country="MLI", year=2013).values, sb2013.values)
    dec = ds.idps.sel(country="BFA").where((ds.year == 2014) & (ds.month_of_year == 12), drop=True)
    np.testing.assert_allclose(obs.idps.sel(country="BFA", year=2014).values, dec.values[:, 0])
    s = summary_vector(obs, [2012, 2013, 2014])
    assert s.shape == (4, 5 * 3 * 3) and np.all(np.isfinite(s))


def test_small_model_calibration_end_to_end(tmp_path, shared_data):
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all
    from sahelsim.inference.calibrate import run_calibration

    with Store(tmp_path / "s.duckdb") as st:
        ingest_all(shared_data, st)
        res = run_calibration(st, out=tmp_path / "cal", n_particles=24, generations=2,
                              years=(2012, 2016), synthetic=True, seed=2)  # fmt: skip
    post = res["posterior"]
    assert post.particles.shape[1] == len(post.names) and abs(post.weights.sum() - 1) < 1e-9
    assert len(post.meta["data_hash"]) == 64
    assert {r["source"] for r in post.meta["data_files"]} >= {"ucdp_cy"}
    assert (tmp_path / "cal" / "posterior.json").exists()
    ppc = pd.read_csv(tmp_path / "cal" / "posterior_predictive.csv")
    assert set(ppc.observable) == {"sb", "ns", "os_govt", "os_nsgroup", "idps"}
    assert "attrition" in res["attrition"]


def test_posterior_from_the_environment_replaces_the_shipped_one(tmp_path, monkeypatch):
    post = Posterior(("attrition",), np.array([[0.021], [0.029]]), np.array([0.5, 0.5]))
    path = post.save(tmp_path / "holdout.json")
    monkeypatch.setenv("SAHELSIM_POSTERIOR", str(path))
    got = load_posterior()
    assert got is not None and list(got.names) == ["attrition"]
    np.testing.assert_allclose(got.particles, post.particles)
    monkeypatch.setenv("SAHELSIM_POSTERIOR", str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match="SAHELSIM_POSTERIOR"):
        load_posterior()
