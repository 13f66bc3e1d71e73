"""The explorer's stored runs (``sahelsim.app.stored``): a shipped scenario's full run is kept
on disk and read back by a new server instead of simulated, with the same numbers; the key
follows everything the run depends on; a run with lever changes is never stored; a damaged
stored run is simulated again; the newest runs are kept. Synthetic grid, small ensembles."""

from __future__ import annotations

import os

import numpy as np
import pytest

from sahelsim.app import APP_FILE, core, runs, stored
from sahelsim.app import present as pr
from sahelsim.model.space import Space
from sahelsim.scenarios.scenario import list_scenarios, load_scenario

SMALL = {"members": 28, "months": 6, "seed": 3}  # a preview of 25 and a tail of 3


@pytest.fixture(autouse=True)
def _fresh(tmp_path, monkeypatch):
    """A fresh explorer cache, the synthetic grid, no run in memory."""
    monkeypatch.setenv("SAHELSIM_APP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(core.ENV_GRID, "synthetic")
    monkeypatch.setenv(core.ENV_CLAIMS, "/nonexistent/claims_audit.csv")
    monkeypatch.delenv(pr.ENV_PRESENT, raising=False)
    core.set_provider(None)
    yield
    stored.flush()
    core.set_provider(None)


def _new_server() -> None:
    """What a new server process starts with: nothing in memory (the disk cache stays)."""
    stored.flush()
    core.set_provider(None)


def _forbid_simulation(monkeypatch) -> None:
    def boom(job):
        raise AssertionError(f"simulated {job[0]} although the run is stored")

    monkeypatch.setattr(runs.RUNNER, "run", boom)


def test_a_stored_run_is_read_back_with_the_same_numbers(monkeypatch):
    req = core.make_request("accommodation", **SMALL)
    ran, hit = core.run_cached(req)
    assert not hit and not ran.meta.get("stored")
    key = runs.stored_key(req)
    assert key is not None
    stored.flush()
    assert stored.exists(key) and core.has_stored(req)
    _new_server()
    _forbid_simulation(monkeypatch)
    got, hit = core.run_cached(req)
    assert got.meta["stored"] is True and not hit
    assert got.members == req.members and got.request == req
    assert got.ds.identical(ran.ds), "the stored ensemble differs from the run"
    assert got.cells.identical(ran.cells), "the stored cell variables differ from the run"
    assert got.meta["present"] == ran.meta["present"]
    assert got.seconds == pytest.approx(ran.seconds)
    # the page's figures and downloads work from it
    assert set(core.fan_charts_for(req)) == set(core.FANS)
    assert b"levers changed" in got.summary_csv()


def test_the_key_follows_what_the_run_depends_on():
    base = core.make_request("accommodation", **SMALL)
    key = runs.stored_key(base)
    others = [
        core.make_request("accommodation", **{**SMALL, "months": 12}),
        core.make_request("accommodation", **{**SMALL, "seed": 4}),
        core.make_request("accommodation", **{**SMALL, "members": 29}),
        core.make_request("coup", **SMALL),
    ]
    keys = {runs.stored_key(r) for r in others}
    assert None not in keys and key not in keys and len(keys) == len(others)
    assert runs.stored_key(core.make_request("accommodation", **SMALL)) == key
    # the drivers enter the key: a scenario edited in place changes it
    space = Space.synthetic()
    sc = load_scenario("accommodation")
    pk = runs.provider().key(space, sc, members=28, seed=3)
    args = {"members": 28, "seed": 3, "months": 6, "map_members": 25, "map_vars": ("deaths",)}
    k1 = stored.run_key(pk, space, sc, **args)
    k2 = stored.run_key(pk, space, sc.with_overrides(effective="2025-02", restraint=0.2), **args)
    assert k1 != k2
    assert stored.run_key(pk, space, sc, **{**args, "map_members": 10}) != k1


def test_the_key_follows_the_posterior_in_use_and_the_code(tmp_path, monkeypatch):
    """A posterior named by $SAHELSIM_POSTERIOR and a change of the projection's code give
    other keys (the same members, seed and scenario would otherwise be served stale runs)."""
    from sahelsim.scenarios.posterior import POSTERIOR_ENV, installed_posterior_path

    req = core.make_request("accommodation", **SMALL)
    shipped = runs.stored_key(req)
    other = tmp_path / "posterior.json"
    other.write_text(installed_posterior_path().read_text() + "\n\n")  # other bytes
    monkeypatch.setenv(POSTERIOR_ENV, str(other))
    core.set_provider(None)
    assert runs.stored_key(req) != shipped
    monkeypatch.delenv(POSTERIOR_ENV)
    core.set_provider(None)
    assert runs.stored_key(req) == shipped
    monkeypatch.setattr(pr, "_DIGESTS", pr._Digests("other code"))
    core.set_provider(None)
    assert runs.stored_key(req) != shipped


def test_a_run_with_lever_changes_is_never_stored():
    req = core.make_request("accommodation", {"restraint": 0.4}, **SMALL)
    assert runs.stored_key(req) is None and not core.has_stored(req)
    core.run_cached(req)
    stored.flush()
    assert not stored.root().exists() or not any(stored.root().iterdir())


def test_a_damaged_stored_run_is_simulated_again(monkeypatch):
    req = core.make_request("accommodation", **SMALL)
    ran, _ = core.run_cached(req)
    stored.flush()
    key = runs.stored_key(req)
    (stored.root() / key / "ensemble.nc").write_bytes(b"not a netcdf file")
    _new_server()
    assert stored.read(key) is None
    got, _ = core.run_cached(req)
    assert not got.meta.get("stored"), "a damaged stored run was trusted"
    np.testing.assert_array_equal(got.ds["deaths_total"].values, ran.ds["deaths_total"].values)
    stored.flush()
    assert stored.read(key) is not None, "the run was not stored again"


def test_only_the_newest_runs_are_kept(monkeypatch):
    monkeypatch.setattr(stored, "KEEP", 2)
    reqs = [core.make_request(n, **SMALL) for n in ("accommodation", "coup", "consolidation")]
    for r in reqs:
        core.run_cached(r)
        stored.flush()
        os.utime(stored.root() / runs.stored_key(r) / "meta.json")  # strictly newer mtimes
    assert not stored.exists(runs.stored_key(reqs[0]))
    assert all(stored.exists(runs.stored_key(r)) for r in reqs[1:])


def test_prebuild_stores_every_shipped_scenario_and_the_page_reads_it(monkeypatch):
    AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
    core.prebuild(None, members=SMALL["members"], seed=SMALL["seed"])
    names = list_scenarios()
    reqs = [core.make_request(n, members=SMALL["members"], seed=SMALL["seed"]) for n in names]
    assert all(core.has_stored(r) for r in reqs)
    _new_server()
    at = AppTest.from_file(str(APP_FILE), default_timeout=120)
    at.query_params.update({"members": str(SMALL["members"]), "seed": str(SMALL["seed"])})
    _forbid_simulation(monkeypatch)
    at.run()
    assert not at.exception, at.exception
    status = " ".join(c.value for c in at.caption)
    assert "a stored run, read from disk" in status, status
    assert len(at.get("echarts_chart")) == len(core.FANS)


def test_a_filtered_present_key_changes_with_its_files(tmp_path):
    folder = tmp_path / "filtered"
    folder.mkdir()
    (folder / "meta.json").write_text("{}")
    space, sc = Space.synthetic(), load_scenario("acceleration")
    fp = pr.FilteredPresent(folder, load=lambda d: (None, None, {}))
    k1 = fp.key(space, sc, members=10, seed=0)
    assert k1.startswith("filtered-") and fp.key(space, sc, members=10, seed=0) == k1
    (folder / "meta.json").write_text('{"until": "2024-12"}')
    assert fp.key(space, sc, members=10, seed=0) != k1


_STRESS = """
import os, sys, threading
import numpy as np, xarray as xr
from sahelsim.app import stored
ds = xr.Dataset({f"v{i}": (("member", "month"), np.random.rand(60, 200)) for i in range(12)})
cells = xr.Dataset({"c": (("member", "cell"), np.random.rand(25, 300))})
def work(k):
    for j in range(12):
        key = f"stress{k}_{j}"
        stored.write(key, ds, cells, {"seconds": 1.0})
        got = stored.read(key)
        assert got is not None and got[0].identical(ds), key
threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
[t.start() for t in threads]
[t.join() for t in threads]
print("ok")
"""


def test_stored_runs_written_and_read_from_threads_do_not_crash(tmp_path):
    """NetCDF I/O from several threads at once (the page, the warm-up, the writer) crashes the
    process unless it is serialised (settings.NETCDF_LOCK); run in a child process so a crash
    is a failed test, not a dead test run."""
    import subprocess
    import sys

    env = {**os.environ, "SAHELSIM_APP_CACHE": str(tmp_path / "cache")}
    got = subprocess.run([sys.executable, "-c", _STRESS], env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert got.returncode == 0 and "ok" in got.stdout, (got.returncode, got.stderr[-2000:])
