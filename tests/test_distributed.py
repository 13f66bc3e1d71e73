"""Scale-out on Ray: the same numbers as the local backend, retries and partial failures.

One real local Ray cluster (2 CPUs) serves the whole session; the tests that need it are
skipped, with the reason, when Ray is not installed (``pip install 'sahelsim[distributed]'``),
and fail instead when ``SAHELSIM_REQUIRE_RAY=1`` (CI).
"""

from __future__ import annotations

import functools
import operator
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sahelsim.core.backend import Backend, ChunkFailure, LocalBackend
from sahelsim.core.canon import month_id
from sahelsim.core.errors import MissingExtraError, SahelsimError
from sahelsim.distributed import RayBackend, make_backend
from sahelsim.forecast.backtest import run_backtest
from sahelsim.inference.calibrate import CALIBRATED, Calibrator
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import SPECS, Params
from sahelsim.model.space import Space
from sahelsim.scenarios import run
from sahelsim.scenarios.ensemble import simulate_members
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.scenarios.setup import build_drivers

START = int(month_id(2016, 1))


# -- the cluster -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ray_cluster():
    reason = "Ray is not installed: pip install 'sahelsim[distributed]'"
    if os.environ.get("SAHELSIM_REQUIRE_RAY") == "1":  # CI: these tests must not be skipped
        try:
            import ray
        except ImportError:
            pytest.fail(f"SAHELSIM_REQUIRE_RAY=1 but {reason}")
    else:
        ray = pytest.importorskip("ray", reason=reason)
    # the failure-injection helpers below live in this test module, which Ray workers cannot
    # import: ship them by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
             configure_logging=False)  # fmt: skip
    yield ray
    ray.shutdown()


@pytest.fixture()
def ray_backend(ray_cluster):
    be = RayBackend(max_retries=3)
    yield be
    be.close()  # leaves the session's cluster running (it did not start it)
    assert ray_cluster.is_initialized()


@pytest.fixture(scope="module")
def space():
    return Space.synthetic(rows=6, cols=9, seed=2)


def _drivers(space, months=12, start=START):
    sc = load_scenario("acceleration")
    return build_drivers(space, start, months, levers=sc.lever_series(start, months),
                         flags=sc.flags, projection_start=int(month_id(2017, 1)))  # fmt: skip


def _param_matrix(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pm = np.broadcast_to(Params.default().vector(), (n, len(SPECS))).copy()
    for j, s in enumerate(SPECS):
        if s.name in ("attrition", "recruit_base", "engage_rate", "harm_jnim"):
            pm[:, j] = rng.uniform(s.lo, s.hi, n)
    return pm


# -- failure-injection helpers (shipped to the workers by value) -----------------------------
def _die_once(marker_dir: str, x: int) -> int:
    """Kills its worker process the first time item 1 runs; the retry finds the marker."""
    marker = Path(marker_dir) / f"attempt-{x}"
    if x == 1 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return 10 * x


def _fail_on(bad: int, x: int) -> int:
    if x == bad:
        raise ValueError(f"cannot do item {x}")
    return 10 * x


class Counting:
    """A backend that counts its maps (delegating the work)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.maps = inner, inner.name, 0

    def default_chunk(self, n):
        return self.inner.default_chunk(n)

    def map(self, fn, items, **kw):
        self.maps += 1
        return self.inner.map(fn, items, **kw)


class Failing(Counting):
    """A backend whose items for which ``fails(item)`` is true raise (as a lost node would)."""

    def __init__(self, inner, fails) -> None:
        super().__init__(inner)
        self.fails = fails

    def map(self, fn, items, **kw):
        return super().map(functools.partial(_fail_if, self.fails, fn), items, **kw)


def _fail_if(fails, fn, item):
    if fails(item):
        raise RuntimeError("node lost")
    return fn(item)


def _holds_member(member: int, item) -> bool:
    return member in item[0]  # a chunk of members: (ids, parameter rows)


# -- without Ray ---------------------------------------------------------------------------------
def test_ray_backend_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'sahelsim\[distributed\]'"):
        RayBackend()
    with pytest.raises(MissingExtraError, match="Ray, which is not installed"):
        make_backend("ray")
    assert isinstance(make_backend("local"), LocalBackend)
    assert make_backend("local", chunk=5).default_chunk(12) == 5
    with pytest.raises(SahelsimError, match="--backend ray"):
        make_backend("local", address="auto")
    with pytest.raises(SahelsimError, match="unknown backend 'dask'"):
        make_backend("dask")


def test_local_backend_keeps_finished_chunks_and_partial_ensemble(space):
    be = LocalBackend()
    assert isinstance(be, Backend)
    with pytest.raises(ChunkFailure, match=r"chunk 1 \(item 1\): ValueError: cannot do item 1"):
        be.map(functools.partial(_fail_on, 1), [0, 1, 2])
    d = _drivers(space, 6)
    failing = Failing(LocalBackend(chunk=4), functools.partial(_holds_member, 5))
    with pytest.raises(ChunkFailure, match=r"chunk 1 \(members 4-7\)") as info:
        simulate_members(space, Params.default(), d, members=12, seed=3, backend=failing)
    exc = info.value
    assert exc.failed_chunks == [1] and sorted(exc.completed) == [0, 2]
    whole = simulate(space, Params.default(), d, members=12, seed=3)
    kept = whole.sel(member=[0, 1, 2, 3, 8, 9, 10, 11])
    xr.testing.assert_identical(exc.partial, kept)


def test_local_chunks_equal_one_call(space):
    p, d = Params.default(), _drivers(space, 6)
    ids = np.arange(40, 57)
    pm = _param_matrix(ids.size, seed=3)
    one = simulate(space, p, d, members=ids, seed=7, param_matrix=pm)
    for chunk in (1, 5, 16, 17, 100):
        xr.testing.assert_identical(
            simulate_members(space, p, d, members=ids, seed=7, param_matrix=pm,
                             backend=LocalBackend(chunk=chunk)), one)  # fmt: skip
    with pytest.raises(ValueError, match="16 rows for 17 members"):
        simulate_members(space, p, d, members=ids, seed=7, param_matrix=pm[:16],
                         backend=LocalBackend(chunk=4))  # fmt: skip


# -- with Ray -------------------------------------------------------------------------------------
def test_simulate_on_ray_equals_local(ray_backend, space):
    p = Params.default()
    d = _drivers(space, 12)
    ids = np.arange(100, 124)
    pm = _param_matrix(ids.size)
    rec = Record(cells=("deaths", "hold"))
    local = simulate(space, p, d, members=ids, seed=5, record=rec, param_matrix=pm)
    seen = []
    ray_backend.chunk = 8
    on_ray = simulate_members(space, p, d, members=ids, seed=5, record=rec, param_matrix=pm,
                              backend=ray_backend, progress=lambda *a: seen.append(a))  # fmt: skip
    xr.testing.assert_identical(on_ray, local)  # 3 chunks, bit for bit
    assert seen[-1] == ("chunk", 3, 3)
    ray_backend.chunk = 5  # another split (5 chunks, the last one short) agrees too
    xr.testing.assert_identical(
        simulate_members(space, p, d, members=ids, seed=5, record=rec, param_matrix=pm,
                         backend=ray_backend), local)  # fmt: skip


def test_partial_ensemble_on_ray(ray_backend, space):
    d = _drivers(space, 6)
    ray_backend.chunk = 4
    failing = Failing(ray_backend, functools.partial(_holds_member, 9))
    with pytest.raises(ChunkFailure, match=r"chunk 2 \(members 8-11\): RuntimeError") as info:
        simulate_members(space, Params.default(), d, members=12, seed=3, backend=failing)
    whole = simulate(space, Params.default(), d, members=12, seed=3)
    xr.testing.assert_identical(info.value.partial, whole.sel(member=list(range(8))))


def test_run_scenario_on_ray_equals_local(ray_backend):
    kw = {"members": 9, "months": 6, "start": "2013-01", "seed": 4, "synthetic": True,
          "record": Record(cells=("deaths",))}  # fmt: skip
    local = run.run_scenario("acceleration", **kw)
    ray_backend.chunk = 3
    on_ray = run.run_scenario("acceleration", backend=ray_backend, **kw)
    xr.testing.assert_identical(on_ray, local)
    assert on_ray.attrs["spinup_from"] == run.HISTORY_START


def test_calibration_on_ray_gives_the_local_posterior(ray_backend):
    settings = {"n_particles": 16, "generations": 1, "years": (2012, 2013), "seed": 1,
                "synthetic": True}  # fmt: skip
    # observed statistics: one simulated history at the default parameters
    base = Params.default()
    theta0 = np.array([[base.values[n] for n in CALIBRATED]])
    obs = Calibrator(**settings).batch_simulator()(theta0, np.array([10_000]))[0]
    local = Calibrator(**settings).fit(obs)
    for chunk in (6, 16):  # 3 chunks of the 16 particles, and one
        ray_backend.chunk = chunk
        be = Counting(ray_backend)
        cal = Calibrator(backend=be, **settings).fit(obs)
        assert be.maps >= 2  # the prior and at least one proposal batch went through Ray
        np.testing.assert_array_equal(cal.posterior_.particles, local.posterior_.particles)
        np.testing.assert_array_equal(cal.posterior_.weights, local.posterior_.weights)
        assert cal.diagnostics_["n_simulations"] == local.diagnostics_["n_simulations"]
    # each fit shipped its simulator (grid, drivers) to the object store once, for every batch
    assert len(ray_backend._shipped) == 2
    # a local split of the batches agrees as well
    split = Calibrator(backend=LocalBackend(chunk=5), **settings).fit(obs)
    np.testing.assert_array_equal(split.posterior_.particles, local.posterior_.particles)


def _synthetic_country_year() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for i, c in enumerate(("MLI", "BFA", "NER")):
        for y in range(2012, 2017):
            sb, ns, og, on = (rng.poisson(lam) for lam in (300 + 80 * i, 60, 40, 90))
            rows.append({"iso3": c, "year": y, "deaths_state_based": float(sb),
                         "deaths_non_state": float(ns), "deaths_one_sided": float(og + on),
                         "civilians_killed_by_government": float(og),
                         "civilians_killed_by_nonstate": float(on),
                         "idps": float(rng.integers(1e4, 3e5))})  # fmt: skip
    return pd.DataFrame(rows)


def test_backtest_origins_on_ray_equal_local(ray_backend):
    cy = _synthetic_country_year()
    kw = {"origins": (2014, 2015), "n_particles": 10, "generations": 1, "draws": 20, "seed": 2,
          "synthetic": True}  # fmt: skip
    local = run_backtest(cy, **kw)
    seen = []
    on_ray = run_backtest(cy, backend=ray_backend, progress=lambda *a: seen.append(a), **kw)
    assert seen[-1] == ("origin", 2, 2)
    a, b = local["forecasts"], on_ray["forecasts"]
    pd.testing.assert_frame_equal(a.drop(columns="draws"), b.drop(columns="draws"))
    assert all(np.array_equal(x, y) for x, y in zip(a["draws"], b["draws"], strict=True))
    assert set(b.origin) == {2014, 2015}
    for name in ("scores", "overall", "by_target", "verdict"):
        pd.testing.assert_frame_equal(local[name], on_ray[name])
    # an origin that fails: named, and the finished origin's forecasts kept
    with pytest.raises(ChunkFailure, match=r"origin 1 \(origin 2015\): RuntimeError") as info:
        run_backtest(cy, backend=Failing(ray_backend, functools.partial(operator.eq, 2015)), **kw)
    part = info.value.partial
    # the partial holds the finished origin's own forecasters; the ensembles, which combine
    # every origin's forecasts, are built only when all origins finish
    assert not {"median_ensemble", "linear_pool"} & set(part.forecaster)
    want = a[(a.origin == 2014) & a.forecaster.isin(set(part.forecaster))]
    assert set(part.forecaster) | {"median_ensemble", "linear_pool"} >= set(a.forecaster)
    pd.testing.assert_frame_equal(part.drop(columns="draws").reset_index(drop=True),
                                  want.drop(columns="draws").reset_index(drop=True))  # fmt: skip


def test_dead_worker_is_retried(ray_backend, tmp_path):
    out = ray_backend.map(functools.partial(_die_once, str(tmp_path)), [0, 1, 2])
    assert out == [0, 10, 20]
    assert (tmp_path / "attempt-1").exists()  # the first attempt did run, and died


def test_failing_chunk_is_named_and_finished_chunks_kept(ray_backend):
    with pytest.raises(ChunkFailure, match=r"chunk 2 \(item 2\): ValueError: cannot do item 2"):
        ray_backend.map(functools.partial(_fail_on, 2), [0, 1, 2, 3])
    try:
        ray_backend.map(functools.partial(_fail_on, 2), [0, 1, 2, 3])
    except ChunkFailure as exc:
        assert exc.failed_chunks == [2]
        assert exc.completed == {0: 0, 1: 10, 3: 30}
        assert "1 of 4 chunk(s) failed" in str(exc)


def test_cli_simulate_on_ray_writes_the_local_result(ray_backend, tmp_path):
    from sahelsim.cli.main import main

    common = ["simulate", "--synthetic", "--members", "6", "--months", "6", "--seed", "3"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--backend", "ray"]) == 0
    with (
        xr.open_dataset(tmp_path / "local" / "acceleration.nc") as a,
        xr.open_dataset(tmp_path / "ray" / "acceleration.nc") as b,
    ):
        xr.testing.assert_identical(a.load(), b.load())
    assert ray_backend._ray.is_initialized()  # the CLI did not shut the session's cluster down


def test_cli_simulate_from_a_filtered_present_on_ray_equals_local(ray_backend, tmp_path):
    from sahelsim.cli.main import main
    from sahelsim.inference.assimilate import assimilate, load_filtered
    from sahelsim.inference.filter import Context
    from sahelsim.inference.likelihood import ObsModel, draw_observations

    grid = Space.synthetic()  # the grid of --synthetic
    hist = simulate(grid, Params.default(), Context(grid).drivers(run.HISTORY_START, 14),
                    members=np.array([0]), seed=11, record=Record(cells=()))  # fmt: skip
    obs = draw_observations(hist, 0, ObsModel(), seed=11)
    folder = tmp_path / "filtered"
    assimilate(obs, grid, until=run.HISTORY_START + 13, out=folder, members=5, seed=2,
               params=("engage_rate", "harm_jnim"), grid="synthetic")  # fmt: skip
    common = ["simulate", "--synthetic", "--present", str(folder), "--members", "7", "--months",
              "3", "--seed", "3"]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--backend", "ray"]) == 0
    with (
        xr.open_dataset(tmp_path / "local" / "acceleration.nc") as a,
        xr.open_dataset(tmp_path / "ray" / "acceleration.nc") as b,
    ):
        xr.testing.assert_identical(a.load(), b.load())
        assert a.attrs["start_kind"] == "filtered" and int(a.month[0]) == run.HISTORY_START + 14
    # the library seam: the states travel with their members' chunks
    state, pm, _ = load_filtered(folder)
    kw = {"state0": state, "param_matrix": pm, "start": run.HISTORY_START + 14, "months": 3,
          "space": grid, "members": np.arange(3, 12), "seed": 6}  # fmt: skip
    local = run.project_scenario("acceleration", **kw)
    ray_backend.chunk = 4
    xr.testing.assert_identical(run.project_scenario("acceleration", backend=ray_backend, **kw),
                                local)  # fmt: skip
    assert ray_backend._ray.is_initialized()


def test_cli_without_ray_says_which_extra(monkeypatch, tmp_path, capsys):
    from sahelsim.cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)
    code = main(["simulate", "--synthetic", "--members", "2", "--months", "2", "--backend", "ray",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 2
    # (the CLI prints errors as Rich markup, which currently swallows "[distributed]"; the
    # message itself names the extra, see test_ray_backend_without_ray_names_the_extra)
    assert "Ray, which is not installed: pip install 'sahelsim" in capsys.readouterr().err


def test_cli_calibrate_and_backtest_on_ray_match_local(ray_backend, tmp_path, shared_data):
    import json

    from sahelsim.cli.main import main

    cal = ["calibrate", "--data-dir", str(shared_data), "--particles", "12", "--generations",
           "1", "--years", "2012-2014", "--seed", "2", "--synthetic"]  # fmt: skip
    bt = ["backtest", "--data-dir", str(shared_data), "--origins", "2022-2022", "--particles",
          "10", "--generations", "1", "--draws", "20", "--synthetic"]  # fmt: skip
    for name, extra in (("local", []), ("ray", ["--backend", "ray"])):
        assert main([*cal, "--out", str(tmp_path / name), *extra]) == 0
        assert main([*bt, "--out", str(tmp_path / name), *extra]) == 0
    post = [json.loads((tmp_path / n / "calibration" / "posterior.json").read_text())
            for n in ("local", "ray")]  # fmt: skip
    assert post[0]["particles"] == post[1]["particles"]
    assert post[0]["weights"] == post[1]["weights"]
    fc = [pd.read_csv(tmp_path / n / "backtest" / "forecasts.csv") for n in ("local", "ray")]
    pd.testing.assert_frame_equal(fc[0], fc[1])


def test_filtered_backtests_on_ray_equal_local(ray_backend):
    """Both levels with the filtered model (synthetic twin data): seeds (cm) and origins (cy)
    as Ray items give the local numbers exactly."""
    from sahelsim.forecast.backtest_cm import run_backtest_cm
    from sahelsim.inference.filter import Context
    from sahelsim.inference.likelihood import ObsModel, draw_observations
    from sahelsim.model.engine import Record, simulate
    from sahelsim.model.params import Params

    space = Space.synthetic()
    ds = simulate(space, Params.default(), Context(space).drivers(int(month_id(2012, 1)), 36),
                  members=np.array([0]), seed=7, record=Record(cells=()))  # fmt: skip
    obs = draw_observations(ds, 0, ObsModel(), seed=7)
    cm = (obs[obs.resolution == "month"].pivot_table(index=["iso3", "month_id"],
                                                    columns="observable", values="value")
          .reset_index().rename_axis(columns=None))  # fmt: skip
    kw = {"draws": 12, "seeds": (0, 1), "synthetic": True, "observations": obs, "members": 12}
    origins = [int(month_id(2013, 6)), int(month_id(2013, 12))]
    local = run_backtest_cm(cm, origins, range(1, 3), **kw)
    on_ray = run_backtest_cm(cm, origins, range(1, 3), backend=ray_backend, **kw)
    a, b = local["forecasts"], on_ray["forecasts"]
    pd.testing.assert_frame_equal(a.drop(columns="draws"), b.drop(columns="draws"))
    assert all(np.array_equal(x, y) for x, y in zip(a["draws"], b["draws"], strict=True))
    cy = _synthetic_country_year()
    kw = {"origins": (2012, 2013), "draws": 12, "seed": 2, "synthetic": True,
          "observations": obs, "members": 12}  # fmt: skip
    a = run_backtest(cy, **kw)["forecasts"]
    b = run_backtest(cy, backend=ray_backend, **kw)["forecasts"]
    pd.testing.assert_frame_equal(a.drop(columns="draws"), b.drop(columns="draws"))
    assert all(np.array_equal(x, y) for x, y in zip(a["draws"], b["draws"], strict=True))
