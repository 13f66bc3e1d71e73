"""The explorer's cached present: a projection from the saved December-2024 state gives the same
numbers as one run from 2012; the cache key separates what changes the history; a filtered
ensemble directory replaces the spin-up in one place. Synthetic grid, small ensembles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sahelsim.app import present as pr
from sahelsim.model.engine import Record
from sahelsim.model.space import Space
from sahelsim.model.state import State
from sahelsim.scenarios.run import HISTORY_START, PROJECTION_START, run_scenario
from sahelsim.scenarios.scenario import load_scenario

MEMBERS, MONTHS, SEED = 6, 12, 4


@pytest.fixture(scope="module")
def space():
    return Space.synthetic()


def _present(provider, space, sc="acceleration", members=MEMBERS, seed=SEED):
    return provider.present(space, load_scenario(sc) if isinstance(sc, str) else sc,
                            members=members, seed=seed, grid="synthetic grid")  # fmt: skip


def test_projection_from_the_present_equals_one_run_from_2012(space, tmp_path):
    """Every variable, every month, every member: the cached present changes no number."""
    sc = load_scenario("accommodation").with_overrides(effective="2025-03", restraint=0.9)
    prov = pr.SpinupPresent(tmp_path)
    pres = _present(prov, space, sc)
    ds, cells = pr.project(pres, space, sc, months=MONTHS, seed=SEED, members=np.arange(MEMBERS),
                           record=Record(cells=("deaths", "hold")))  # fmt: skip
    ref = run_scenario(sc, members=MEMBERS, months=PROJECTION_START - HISTORY_START + MONTHS,
                       seed=SEED, space=space, record=Record(cells=("deaths", "hold")))  # fmt: skip
    assert int(ds.month[0]) == HISTORY_START and ds.sizes["month"] == ref.sizes["month"]
    for v in ref.data_vars:
        if str(v).startswith("cell_"):
            want = ref[v].sel(month=ref.month >= PROJECTION_START).values
            np.testing.assert_array_equal(cells[v].values, want, err_msg=str(v))
        else:
            np.testing.assert_allclose(ds[v].values, ref[v].values, rtol=1e-12, err_msg=str(v))
    assert ds.attrs["projection_start"] == PROJECTION_START
    assert "spin-up" in ds.attrs["present"] and "2024-12" in ds.attrs["present"]
    # a subset of members from the same present: the same numbers for those members
    sub, _ = pr.project(pres, space, sc, months=MONTHS, seed=SEED, members=np.arange(2, 4),
                        record=Record(cells=()))  # fmt: skip
    np.testing.assert_array_equal(sub["deaths_total"].values,
                                  ds["deaths_total"].isel(member=slice(2, 4)).values)  # fmt: skip


def test_cache_is_reused_on_disk_and_keyed_by_what_changes_history(space, tmp_path):
    prov = pr.SpinupPresent(tmp_path)
    a = _present(prov, space)
    assert prov.built == 1 and (tmp_path / a.key / "state.npz").is_file()
    assert json.loads((tmp_path / a.key / "meta.json").read_text())["members"] == MEMBERS
    assert _present(prov, space) is a  # memory
    # a new process (a new provider) reads the disk cache and spins up nothing
    fresh = pr.SpinupPresent(tmp_path)
    b = _present(fresh, space)
    assert fresh.built == 0 and b.key == a.key
    np.testing.assert_array_equal(b.state.cells, a.state.cells)
    # a lever change from 2025 does not change the history: same key
    edited = load_scenario("acceleration").with_overrides(effective="2025-01", restraint=0.1)
    assert prov.key(space, edited, members=MEMBERS, seed=SEED) == a.key
    # members, seed and a scenario whose history differs do
    keys = {
        prov.key(space, load_scenario("acceleration"), members=MEMBERS + 1, seed=SEED),
        prov.key(space, load_scenario("acceleration"), members=MEMBERS, seed=SEED + 1),
        prov.key(space, load_scenario("acceleration").with_overrides(effective="2012-01",
                                                                     restraint=0.1),
                 members=MEMBERS, seed=SEED),
    }  # fmt: skip
    assert a.key not in keys and len(keys) == 3
    # a damaged cache file is rebuilt, not trusted
    (tmp_path / a.key / "state.npz").write_bytes(b"not a state")
    again = pr.SpinupPresent(tmp_path)
    c = _present(again, space)
    assert again.built == 1
    np.testing.assert_array_equal(c.state.cells, a.state.cells)


def test_filtered_present_replaces_the_spin_up(space, tmp_path):
    """A filtered directory's state and parameters are where projections start; members past
    the particles repeat them in order; the page is told where projections start."""
    spun = _present(pr.SpinupPresent(tmp_path / "cache"), space, members=3)
    folder = tmp_path / "filtered"
    folder.mkdir()
    calls = []

    def load(d):
        calls.append(d)
        return (
            spun.state.copy(),
            spun.param_matrix,
            {"until": "2024-12", "next_month_id": PROJECTION_START},
        )

    prov = pr.FilteredPresent(folder, load)
    pres = _present(prov, space, members=5)
    assert pres.history is None and "filtered ensemble" in pres.description
    assert list(pres.rows(5)) == [0, 1, 2, 0, 1]
    sc = load_scenario("acceleration")
    ds, _ = pr.project(pres, space, sc, months=6, seed=SEED, members=np.arange(5),
                       record=Record(cells=()))  # fmt: skip
    assert int(ds.month[0]) == PROJECTION_START and ds.sizes["member"] == 5
    ref, _ = pr.project(spun, space, sc, months=6, seed=SEED, members=np.arange(3),
                        record=Record(cells=()))  # fmt: skip
    proj = ref.sel(month=ref.month >= PROJECTION_START)
    np.testing.assert_array_equal(ds["deaths_total"].isel(member=slice(0, 3)).values,
                                  proj["deaths_total"].values)  # fmt: skip
    _present(prov, space, members=5)
    assert len(calls) == 1  # read once
    with pytest.raises(pr.PresentError, match="no such folder"):
        _present(pr.FilteredPresent(tmp_path / "nope", load), space)
    small = Space.synthetic()

    def wrong(d):
        st = spun.state
        return (
            State(st.cells[..., :3].copy(), st.ctry.copy(), st.growth_cum.copy(), st.units.copy()),
            None,
            {},
        )

    with pytest.raises(pr.PresentError, match="cells"):
        _present(pr.FilteredPresent(folder, wrong), small)


def test_provider_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(pr.ENV_PRESENT, raising=False)
    assert isinstance(pr.present_provider(tmp_path), pr.SpinupPresent)
    monkeypatch.setenv(pr.ENV_PRESENT, str(tmp_path))
    got = pr.present_provider()
    assert isinstance(got, pr.FilteredPresent) and got.folder == tmp_path


def test_overlapping_requests_run_in_parallel_with_the_same_numbers(tmp_path, monkeypatch):
    """Two sessions asking at once: one runs in the server process, the other in a worker
    process of the shared pool; a run's numbers do not depend on where it ran."""
    from concurrent.futures import ThreadPoolExecutor

    from sahelsim.app import core
    from sahelsim.app.pool import Runner

    monkeypatch.setenv(core.ENV_GRID, "synthetic")
    monkeypatch.setenv("SAHELSIM_APP_CACHE", str(tmp_path))
    core.set_provider(None)
    runner = Runner(core._simulate, cores=2, env_keys=("SAHELSIM_APP_CACHE", core.ENV_GRID))
    reqs = [core.make_request("acceleration", members=4, months=6, seed=s) for s in (7, 8)]
    try:
        runner.run(reqs[0])  # the present of seed 7 is cached; the worker reads it from disk
        with ThreadPoolExecutor(2) as ex:
            futs = [ex.submit(runner.run, r) for r in reqs]
            got = [f.result(timeout=300) for f in futs]
        assert runner.where["pool"] >= 1
        assert len({g.meta["pid"] for g in got}) == 2  # two processes computed
        for g, r in zip(got, reqs, strict=True):
            local = core._simulate(r)
            np.testing.assert_array_equal(g.ds["deaths_total"].values,
                                          local.ds["deaths_total"].values)  # fmt: skip
            np.testing.assert_array_equal(
                g.cells["cell_hold"].values, local.cells["cell_hold"].values
            )
    finally:
        runner.shutdown()
        core.set_provider(None)
