"""Projections from the filtered present (``simulate`` / ``scenarios compare --present``): a run
continues the saved filtered state (the same numbers as ``simulate(state0=...)``), compare is
paired, bad folders are clear errors, the start is printed and stored, ``--present auto``
reuses a matching ``out/assimilate`` and filters again when the data change; the forecast
table names countries. Everything on the synthetic grid with a synthetic twin of the data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sahelsim.cli.main import main
from sahelsim.core.backend import LocalBackend
from sahelsim.inference import assimilate as assim
from sahelsim.inference.assimilate import FILES, Filtered, assimilate, load_filtered
from sahelsim.inference.filter import Context
from sahelsim.inference.likelihood import ObsModel, draw_observations
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.ensemble import simulate_members
from sahelsim.scenarios.run import HISTORY_START, month_label, project_scenario
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.scenarios.setup import build_drivers

T = 18  # months of synthetic observations: 2012-01 .. 2013-06
LAST = HISTORY_START + T - 1
MOVING = ("engage_rate", "harm_jnim")
HEADER = """title = "probe"
article_section = "Three Futures"
description = "A test scenario."
"""


@pytest.fixture(scope="module")
def twin():
    """The synthetic grid and observations drawn from one simulated history on it."""
    space = Space.synthetic()
    ds = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, T),
                  members=np.array([0]), seed=11, record=Record(cells=()))  # fmt: skip
    return space, draw_observations(ds, 0, ObsModel(), seed=11)


@pytest.fixture(scope="module")
def folder(twin, tmp_path_factory):
    """A small filtered ensemble (6 members) of the twin, to the data's last month."""
    space, obs = twin
    out = tmp_path_factory.mktemp("filtered") / "f"
    assimilate(obs, space, until=LAST, out=out, members=6, seed=2, params=MOVING,
               grid="synthetic")  # fmt: skip
    return out


@pytest.fixture()
def work(tmp_path, monkeypatch):
    """An empty working directory without data (``out/`` lands under it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAHELSIM_DATA", str(tmp_path / "no-data"))
    return tmp_path


def _scenario(tmp_path: Path, name: str, body: str = "") -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(f'name = "{name}"\n' + HEADER + body, encoding="utf-8")
    return p


def _direct(space, folder, scenario, ids, months, seed):
    """One engine call from the saved state: member i from filtered row i % n."""
    state, pm, meta = load_filtered(folder)
    first = int(meta["next_month_id"])
    sc = load_scenario(scenario)
    drivers = build_drivers(space, first, months, levers=sc.lever_series(first, months),
                            flags=sc.flags, projection_start=first)  # fmt: skip
    rows = np.asarray(ids) % state.members
    return simulate(space, Params.default(), drivers, members=np.asarray(ids), seed=seed,
                    state0=state.take(rows), param_matrix=pm[rows])  # fmt: skip


def _assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    np.testing.assert_array_equal(a.month.values, b.month.values)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=str(v))


# -- simulate --present DIR ----------------------------------------------------------------------
def test_simulate_continues_the_filtered_state(twin, folder, work, capsys):
    space, _ = twin
    out = work / "o"
    argv = ["simulate", "--synthetic", "--present", str(folder), "--members", "9", "--months",
            "4", "--seed", "3", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    line = f"projections start from the filtered ensemble of {month_label(LAST)} ({folder}, 6"
    assert line in " ".join(printed.split()), printed
    with xr.open_dataset(out / "acceleration.nc") as ds:
        got = ds.load()
    ref = _direct(space, folder, "acceleration", np.arange(9), 4, 3)
    _assert_same_numbers(got, ref)  # 9 members cycle through the 6 filtered ones
    assert int(got.month[0]) == LAST + 1 and got.sizes["month"] == 4
    assert got.attrs["start_kind"] == "filtered" and got.attrs["present_until"] == "2013-06"
    assert got.attrs["present"].startswith("the filtered ensemble of 2013-06")
    assert got.attrs["projection_start"] == LAST + 1
    # the start travels with the summary table too
    sm = pd.read_parquet(out / "acceleration_summary.parquet")
    assert sm.attrs["present_folder"] == str(folder) and sm.attrs["start_kind"] == "filtered"


def test_default_horizon_runs_to_2030_12(twin, folder, work):
    assert main(["simulate", "--synthetic", "--present", str(folder), "--members", "2",
                 "--out", "o"]) == 0  # fmt: skip
    with xr.open_dataset(work / "o" / "acceleration.nc") as ds:
        assert month_label(int(ds.month[-1])) == "2030-12"
        assert int(ds.month[0]) == LAST + 1


def test_project_scenario_in_chunks_equals_one_call(twin, folder):
    space, _ = twin
    state, pm, _ = load_filtered(folder)
    ids = np.arange(20, 31)
    kw = {"state0": state, "param_matrix": pm, "start": LAST + 1, "months": 3, "space": space,
          "members": ids, "seed": 5}  # fmt: skip
    one = project_scenario("acceleration", **kw)
    _assert_same_numbers(one, _direct(space, folder, "acceleration", ids, 3, 5))
    for chunk in (1, 4, 11):
        xr.testing.assert_identical(
            project_scenario("acceleration", backend=LocalBackend(chunk=chunk), **kw), one
        )
    with pytest.raises(ValueError, match="state0 has 6 members for 11"):
        simulate_members(space, Params.default(), build_drivers(space, LAST + 1, 2),
                         members=ids, seed=5, state0=state, backend=LocalBackend(chunk=4))  # fmt: skip


# -- compare is paired ---------------------------------------------------------------------------
def test_compare_is_paired_from_the_same_filtered_members(folder, work, capsys):
    noop = _scenario(work, "noop", '[[changes]]\ndate = "2013-07"\nlever = "restraint"\n'
                     "value = 0.0\nnote = \"no change\"\n")  # fmt: skip
    # dated before the present: in force from the projection month on
    strict = _scenario(work, "strict", '[[changes]]\ndate = "2012-06"\nlever = "restraint"\n'
                       "value = 0.9\nnote = \"restraint\"\n")  # fmt: skip
    common = ["--synthetic", "--present", str(folder), "--members", "8", "--months", "3",
              "--seed", "4"]  # fmt: skip
    assert main(["scenarios", "compare", "acceleration", str(noop), *common, "--out", "c1"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "projections start from the filtered ensemble of 2013-06" in printed
    cmp = pd.read_csv(work / "c1" / "compare_acceleration_noop.csv")
    diffs = cmp[[c for c in cmp.columns if c.startswith("diff_")]].to_numpy()
    assert np.all(diffs == 0) and np.all(cmp.share_b_higher == 0)
    with (xr.open_dataset(work / "c1" / "acceleration.nc") as a,
          xr.open_dataset(work / "c1" / "noop.nc") as b):  # fmt: skip
        _assert_same_numbers(a.load(), b.load())
        assert a.attrs["present"] == b.attrs["present"]
    # a lever that differs: same members, different outcomes, from the projection month on
    assert main(["scenarios", "compare", "acceleration", str(strict), *common, "--out", "c2"]) == 0
    with (xr.open_dataset(work / "c2" / "acceleration.nc") as a,
          xr.open_dataset(work / "c2" / "strict.nc") as b):  # fmt: skip
        assert int(a.month[0]) == int(b.month[0]) == LAST + 1
        assert not np.array_equal(a["deaths_one_sided"].values, b["deaths_one_sided"].values)
    assert (work / "c2" / "compare_acceleration_strict.csv").is_file()


# -- errors and the printed start ----------------------------------------------------------------
def test_bad_present_folders_are_clear_errors(folder, work, capsys):
    base = ["simulate", "--synthetic", "--members", "2", "--months", "2", "--out", "o"]
    assert main([*base, "--present", str(work / "absent")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--present" in err and "absent" in err and "is not a folder" in err
    empty = work / "empty"
    empty.mkdir()
    assert main([*base, "--present", str(empty)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--present" in err and str(empty) in err
    assert all(f"{FILES[k]}: missing" in err for k in ("state", "parameters", "summary"))
    broken = work / "broken"
    shutil.copytree(folder, broken)
    (broken / FILES["parameters"]).unlink()
    assert main([*base, "--present", str(broken)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{broken}: not a filtered ensemble folder: parameters.parquet: missing" in err
    assert "state.npz" not in err
    assert not (work / "o").exists()


def test_grid_mismatch_names_both_grids(shared_data, folder, work, capsys):
    code = main(["simulate", "--present", str(folder), "--data-dir", str(shared_data),
                 "--members", "2", "--months", "2", "--out", "o"])  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "--present" in err
    assert f"{folder} was filtered on a grid of {Space.synthetic().n_cells} cells" in err


def test_start_with_present_is_rejected_and_alone_means_none(folder, work, capsys):
    bad = ["simulate", "--synthetic", "--start", "2013-01", "--present", str(folder),
           "--members", "2", "--months", "2", "--out", "o"]  # fmt: skip
    assert main(bad) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--start" in err and "--present none" in err and not (work / "o").exists()
    assert main(["simulate", "--synthetic", "--start", "2013-01", "--members", "2", "--months",
                 "2", "--out", "o"]) == 0  # fmt: skip
    printed = " ".join(capsys.readouterr().out.split())
    assert "projections start from a free run from 2013-01" in printed
    assert "--start given (--present none)" in printed
    with xr.open_dataset(work / "o" / "acceleration.nc") as ds:
        assert ds.attrs["start_kind"] == "free" and month_label(int(ds.month[0])) == "2013-01"
    assert main(["simulate", "--synthetic", "--members", "2", "--months", "2", "--out", "p"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "a free run from 2012-01: the synthetic grid has no observations" in printed


# -- --present auto: reuse out/assimilate or filter again ---------------------------------------
def test_auto_reuses_a_matching_folder_and_refilters_when_the_data_change(twin, work,
                                                                          monkeypatch, capsys):  # fmt: skip
    _, obs = twin
    data = {"obs": obs}
    runs: list[int] = []
    real = assim.assimilate

    def counting(*a, **kw):
        runs.append(kw["until"])
        return real(*a, **kw)

    # the store's observations are the twin's; the (empty) data folder gives the synthetic grid
    monkeypatch.setattr(assim, "observations_from_store", lambda st: data["obs"])
    monkeypatch.setattr(assim, "assimilate", counting)
    (work / "data").mkdir()
    argv = ["simulate", "--data-dir", str(work / "data"), "--members", "5", "--months", "2",
            "--filter-members", "4", "--seed", "1", "--out", "o"]  # fmt: skip
    assert main(argv) == 0
    printed = " ".join(capsys.readouterr().out.split())
    summary = work / "out" / "assimilate" / FILES["summary"]
    assert runs == [LAST] and summary.is_file()
    assert "filtered 4 members on the data to 2013-06" in printed
    assert "projections start from the filtered ensemble of 2013-06 (out/assimilate, 4 members)" \
        in printed  # fmt: skip
    stamp = summary.stat().st_mtime_ns
    with xr.open_dataset(work / "o" / "acceleration.nc") as ds:
        first = ds.load()
    assert main(argv) == 0  # the same data, seed and members: reused, not filtered again
    printed = " ".join(capsys.readouterr().out.split())
    assert runs == [LAST] and summary.stat().st_mtime_ns == stamp
    assert "reusing out/assimilate" in printed
    with xr.open_dataset(work / "o" / "acceleration.nc") as ds:
        _assert_same_numbers(ds.load(), first)
    got = Filtered.from_folder(work / "out" / "assimilate")
    assert got.members == 4 and got.until == LAST and got.meta["grid_hash"]
    # another seed, or changed data up to the cut-off: filtered again
    assert main([*argv[:-2], "--seed", "2", "--out", "o"]) == 0
    assert len(runs) == 2
    changed = obs.copy()
    changed.loc[changed.month_id == LAST, "value"] += 25
    data["obs"] = changed
    assert main([*argv[:-2], "--seed", "2", "--out", "o"]) == 0
    assert len(runs) == 3
    meta = json.loads(summary.read_text())
    assert meta["seed"] == 2 and meta["members"] == 4


def test_auto_without_observations_runs_freely_and_says_why(work, capsys):
    assert main(["simulate", "--members", "2", "--months", "2", "--out", "o"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "a free run from 2012-01: no observations to filter on (no data directory" in printed
    assert not (work / "out").exists()  # no store was opened


# -- the forecast table names countries ----------------------------------------------------------
def test_forecast_years_table_names_countries(work, capsys):
    assert main(["forecast", "--years", "2025", "--draws", "4", "--synthetic", "--out", "o"]) == 0
    printed = capsys.readouterr().out
    assert "Mali" in printed and "Burkina Faso" in printed and "Niger" in printed
    assert "country_id" not in printed and "state-based (sb)" in printed
