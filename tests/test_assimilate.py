"""``sahelsim assimilate``: only data up to --until enter (leakage), the filtered ensemble
round-trips through its folder and a projection starts from it, and option errors name the
option and its allowed range."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sahelsim.cli.main import main
from sahelsim.core.errors import SahelsimError
from sahelsim.inference.assimilate import FILES, assimilate, check_until, load_filtered
from sahelsim.inference.filter import Context
from sahelsim.inference.likelihood import ObsModel, draw_observations
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.run import HISTORY_START

T = 24
UNTIL = HISTORY_START + 14  # 2013-03


@pytest.fixture(scope="module")
def setup():
    space = Space.synthetic()
    ds = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, T),
                  members=np.array([0]), seed=11, record=Record(cells=()))  # fmt: skip
    return space, draw_observations(ds, 0, ObsModel(), seed=11)


def _run(space, obs, out):
    return assimilate(obs, space, until=UNTIL, out=out, members=30, seed=2,
                      params=("engage_rate", "harm_jnim"), grid="synthetic")  # fmt: skip


def test_later_data_do_not_change_the_filtered_ensemble(setup, tmp_path):
    space, obs = setup
    _run(space, obs, tmp_path / "a")
    later = obs.copy()
    later.loc[later.month_id > UNTIL, "value"] = later.loc[later.month_id > UNTIL, "value"] * 5 + 7
    assert not later.equals(obs)
    _run(space, later, tmp_path / "b")
    sa, pa, ma = load_filtered(tmp_path / "a")
    sb, pb, mb = load_filtered(tmp_path / "b")
    for k, v in sa.arrays().items():
        np.testing.assert_array_equal(sb.arrays()[k], v)
    np.testing.assert_array_equal(pa, pb)
    for name in ("diagnostics", "checks"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / FILES[name]),
                                      pd.read_csv(tmp_path / "b" / FILES[name]))  # fmt: skip
    assert ma["data_hash"] == mb["data_hash"] and ma["obs_model"] == mb["obs_model"]
    # ...while a change at or before --until does change it
    earlier = obs.copy()
    earlier.loc[earlier.month_id == UNTIL, "value"] += 40
    _run(space, earlier, tmp_path / "c")
    assert (
        json.loads((tmp_path / "c" / FILES["summary"]).read_text())["data_hash"] != ma["data_hash"]
    )


def test_filtered_folder_round_trips_and_a_projection_starts_from_it(setup, tmp_path):
    space, obs = setup
    res, paths = _run(space, obs, tmp_path)
    assert set(paths) == set(FILES) and all(p.is_file() for p in paths.values())
    assert not list(tmp_path.glob(".*.tmp"))
    state, pm, meta = load_filtered(tmp_path)
    for k, v in res.state.arrays().items():
        np.testing.assert_array_equal(state.arrays()[k], v)
    np.testing.assert_array_equal(pm, res.param_matrix)
    assert (
        meta["until"] == "2013-03" and meta["members"] == 30 and meta["next_month_id"] == UNTIL + 1
    )
    diag = pd.read_csv(paths["diagnostics"])
    assert list(diag.columns[:5]) == ["month_id", "n_obs", "ess", "loglik_increment", "unique"]
    assert diag.month_id.max() <= UNTIL
    ds = simulate(space, Params.default(), Context(space).drivers(UNTIL + 1, 3), members=30,
                  seed=5, record=Record(cells=()), state0=state, param_matrix=pm)  # fmt: skip
    assert int(ds.month.values[0]) == UNTIL + 1 and np.isfinite(ds["deaths_total"].values).all()


def test_until_range_and_bad_folders_are_clear_errors(setup, tmp_path):
    _, obs = setup
    last = int(obs.month_id.max())
    with pytest.raises(
        SahelsimError, match=r"--until 2012-01 is outside the allowed range 2012-02\.\.2013-12"
    ):
        check_until(HISTORY_START, obs)
    with pytest.raises(SahelsimError, match="--until 2014-01 is outside"):
        check_until(last + 1, obs)
    assert check_until(last, obs) == last
    with pytest.raises(SahelsimError, match=r"state\.npz: missing"):
        load_filtered(tmp_path)


def test_cli_rejects_until_before_2012_02_before_reading_data(tmp_path, capsys):
    assert main(["assimilate", "--until", "2011-12", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--until" in err and "2012-02" in err
    assert main(["assimilate", "--until", "2024-13", "--out", str(tmp_path / "o")]) == 2
    assert "01..12" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_names_the_data_range_on_real_data(shared_data, tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    argv = ["assimilate", "--out", str(tmp_path / "o"), "--data-dir", str(shared_data),
            "--store", str(store), "--synthetic", "--members", "8"]  # fmt: skip
    assert main([*argv, "--until", "2031-01"]) == 2
    err = capsys.readouterr().err
    assert "--until" in err and "2012-02..2024-12" in err
    assert main([*argv, "--until", "2012-03"]) == 0
    out = capsys.readouterr().out
    assert "filtered 8 members" in out
    _, pm, meta = load_filtered(tmp_path / "o")
    assert pm.shape[0] == 8 and meta["grid"] == "synthetic" and meta["until"] == "2012-03"


def test_filtered_folder_keeps_the_recent_counts_that_anchor_forecasts(setup, tmp_path):
    from sahelsim.forecast.filtered import FilteredForecaster
    from sahelsim.inference.assimilate import load_recent

    space, obs = setup
    res, _ = _run(space, obs, tmp_path)
    months, counts = load_recent(tmp_path)
    assert months[-1] == UNTIL and months.size == min(UNTIL - HISTORY_START + 1, 24)
    assert counts.shape == (30, months.size, 3, space.n_countries)
    np.testing.assert_array_equal(counts, res.recent[1])
    # aligned with the saved members: the last month's counts are each member's final deaths
    for j, var in enumerate(("deaths_state_based", "deaths_non_state", "deaths_one_sided")):
        np.testing.assert_allclose(counts[:, -1, j, :], res.final[var].values)
    state, pm, _ = load_filtered(tmp_path)
    out = {}
    for name, rec in (("anchored", (months, counts)), ("plain", None)):
        fc = FilteredForecaster(obs, space=space, members=30, params=("engage_rate",),
                                start="prior", origins=(UNTIL,))  # fmt: skip
        fc.seed_with(UNTIL, 0, state, pm, recent=rec)
        out[name] = fc(pd.DataFrame(), UNTIL, 3, 30, 0)
    assert not out["anchored"]["outcome"].equals(out["plain"]["outcome"])
    assert load_recent(tmp_path / "nowhere") is None
