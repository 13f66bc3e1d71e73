"""Engine properties: split-ensemble identity, invariants, all-off stasis, outputs."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from sahelsim.core.canon import month_id
from sahelsim.model.engine import COUNTRY_VARS, Record, simulate
from sahelsim.model.fields_table import HOLD_CODES
from sahelsim.model.params import SPECS, Params
from sahelsim.model.space import Space
from sahelsim.model.state import initial_state
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.scenarios.setup import build_drivers

START = int(month_id(2018, 1))


@pytest.fixture(scope="module")
def space():
    return Space.synthetic(rows=8, cols=12, seed=1)


def _drivers(space, months=24, scenario="acceleration", start=START):
    sc = load_scenario(scenario)
    return build_drivers(
        space, start, months, levers=sc.lever_series(start, months), flags=sc.flags,
        projection_start=int(month_id(2019, 1)),
    )  # fmt: skip


def test_split_ensemble_identity(space):
    p = Params.default()
    d = _drivers(space, 18)
    rec = Record(cells=("deaths", "hold", "jnim"))
    whole = simulate(space, p, d, members=np.arange(40), seed=7, record=rec)
    a = simulate(space, p, d, members=np.arange(20), seed=7, record=rec)
    b = simulate(space, p, d, members=np.arange(20, 40), seed=7, record=rec)
    joined = xr.concat([a, b], dim="member")
    for v in whole.data_vars:
        np.testing.assert_array_equal(whole[v].values, joined[v].values, err_msg=v)
    # and a different seed gives different numbers
    other = simulate(space, p, d, members=np.arange(20), seed=8, record=rec)
    assert not np.array_equal(other.deaths_total.values, a.deaths_total.values)


def test_same_seed_same_numbers(space):
    p = Params.default()
    d = _drivers(space, 6)
    x = simulate(space, p, d, members=5, seed=3)
    y = simulate(space, p, d, members=5, seed=3)
    xr.testing.assert_identical(x, y)


def test_all_mechanisms_off_stays_at_initial_state(space):
    p = Params.default().all_off()
    d = _drivers(space, 12)
    ds = simulate(space, p, d, members=4, seed=1, record=Record(cells=("jnim", "hold", "idp")))
    s0 = initial_state(space, p, 4)
    np.testing.assert_array_equal(
        ds.cell_jnim.values,
        np.broadcast_to(s0.jnim[:, None, :], ds.cell_jnim.shape).astype(np.float32),
    )
    assert (ds.deaths_total == 0).all() and (ds.idps == 0).all()
    for v in ("fighters_jnim", "territory_state", "legitimacy", "state_forces"):
        assert (ds[v] == ds[v].isel(month=0)).all(), v
    np.testing.assert_allclose(ds.people_accounted, ds.people_initial_plus_growth)


def _random_params(rng: np.random.Generator) -> Params:
    vals = {}
    for spec in SPECS:
        if spec.mechanism in ("operations",) and spec.name.startswith(("force_", "militia_")):
            continue
        vals[spec.name] = float(rng.uniform(spec.lo, spec.hi))
    return Params.default().with_values(**vals)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    scenario=st.sampled_from(
        ["acceleration", "accommodation", "ct_success", "consolidation", "coup", "intervention"]
    ),
)
def test_invariants_hold_under_random_parameters(space, seed, scenario):
    rng = np.random.default_rng(seed)
    p = _random_params(rng)
    d = _drivers(space, 30, scenario=scenario, start=int(month_id(2024, 1)))
    ds = simulate(
        space,
        p,
        d,
        members=6,
        seed=seed,
        record=Record(cells=("jnim", "issp", "other", "idp", "deaths", "hold")),
    )
    # no negative stocks
    for v in ("fighters_jnim", "fighters_issp", "fighters_other", "fighters_lake", "idps",
              "refugees", "state_forces", "militia", "deaths_total",
              "civilians_killed_by_state_side", "civilians_killed_by_other_groups",
              "coups"):  # fmt: skip
        assert (ds[v] >= 0).all(), v
    for v in ("cell_jnim", "cell_issp", "cell_other", "cell_idp", "cell_deaths"):
        assert (ds[v] >= 0).all(), v
    # shares in [0, 1] and the territory shares of all six hold codes add up to 1 per country
    territory = [f"territory_{HOLD_CODES[k]}" for k in sorted(HOLD_CODES)]
    for v in (*territory, "legitimacy", "dependency", "external_constraint"):
        assert ((ds[v] >= 0) & (ds[v] <= 1 + 1e-12)).all(), v
    tot = sum(ds[v] for v in territory)
    np.testing.assert_allclose(tot.values, 1.0, rtol=1e-9)
    # the hold codes recorded per cell are the six declared ones
    assert set(np.unique(ds.cell_hold.values)) <= set(HOLD_CODES)
    # people are conserved: residents + displaced + refugees + dead = initial + growth
    np.testing.assert_allclose(ds.people_accounted, ds.people_initial_plus_growth, rtol=1e-9)


def test_outputs_have_declared_dims_and_variables(space):
    ds = simulate(space, Params.default(), _drivers(space, 5), members=3, seed=0)
    assert set(COUNTRY_VARS) <= set(ds.data_vars)
    assert ds.deaths_total.dims == ("member", "month", "country")
    assert ds.cell_deaths.dims == ("member", "month", "cell")
    assert list(ds.month.values) == list(range(START, START + 5))
    assert ds.attrs["seed"] == 0


def test_heavy_tail_single_massacre_of_hundreds_possible(space):
    """Over-dispersed counts: the largest monthly cell toll dwarfs the median."""
    p = Params.default().with_values(massacre_rate=0.02)
    ds = simulate(space, p, _drivers(space, 36), members=30, seed=11)
    cell = ds.cell_deaths.values
    assert cell.max() >= 100
    nonzero = cell[cell > 0]
    assert cell.max() > 20 * np.median(nonzero)


def test_run_scenario_writes_outputs(tmp_path):
    from sahelsim.scenarios.run import compare, run_scenario, summary_frame, write_outputs

    ds = run_scenario("acceleration", synthetic=True, members=8, months=12, start="2024-07", seed=2)
    assert int(ds.month.min()) == int(month_id(2024, 7)) and ds.sizes["month"] == 12
    assert ds.attrs["spinup_from"] == int(month_id(2012, 1))
    paths = write_outputs(ds, tmp_path)
    assert all(p.exists() for p in paths)
    back = xr.open_dataset(paths[0])
    np.testing.assert_allclose(back.deaths_total.values, ds.deaths_total.values)
    back.close()
    sm = summary_frame(ds)
    assert {"q05", "q25", "median", "q75", "q95"} <= set(sm.columns)
    assert (sm.q05 <= sm["median"]).all() and (sm["median"] <= sm.q95).all()
    b = run_scenario("ct_success", synthetic=True, members=8, months=12, start="2024-07", seed=2)
    cmp = compare(ds, b, int(month_id(2025, 1)))
    assert {"diff_median", "diff_q05", "diff_q95"} <= set(cmp.columns)


def test_docs_tables_are_generated_from_the_table():
    """docs/model.md carries the tables rendered from fields_table and the registry, up to date."""
    from pathlib import Path

    from sahelsim.model.doctables import TABLES, render_doc

    text = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text()
    assert render_doc(text) == text, "run: python -m sahelsim.model.doctables docs/model.md"
    assert all(f"<!-- table:{name} -->" in text for name in TABLES)
    for s in SPECS:
        assert f"| `{s.name}` | {s.default:g} |" in text, s.name
