"""The table-driven recorder, checked on hand-made numbers (not on names from the same table).

A four-cell space: two Mali cells (1,000 and 3,000 km2, the second an urban core), one Burkina
Faso cell (2,000 km2) and one cell without a country; Niger has no cells.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sahelsim.core.canon import month_id
from sahelsim.model import engine
from sahelsim.model import layout as L
from sahelsim.model.codegen import TARGET, recorder_source
from sahelsim.model.engine import Record, simulate
from sahelsim.model.fields_table import GROUP_INDEX
from sahelsim.model.layout import Cell, Ctry, Flow, FlowK, Unit
from sahelsim.model.params import Params
from sahelsim.model.recorder_generated import record_country
from sahelsim.model.space import Space
from sahelsim.model.state import State
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.scenarios.setup import build_drivers

START = int(month_id(2012, 1))


@pytest.fixture(scope="module")
def tiny():
    n = 4
    adj = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], float))
    return Space(
        gid=np.array([1, 2, 3, 4]), lat=np.zeros(n), lon=np.arange(n, dtype=float),
        country=np.array([L.MLI, L.MLI, L.BFA, -1]), countries=L.CORE,
        core=np.array([True, True, True, False]),
        area_km2=np.array([1000.0, 3000.0, 2000.0, 500.0]),
        pop0=np.array([10000.0, 50000.0, 20000.0, 1000.0]), growth=np.zeros(n),
        urban=np.array([False, True, False, False]), capital=np.array([1, 2, -1]), adj=adj,
    )  # fmt: skip


def _state(space: Space, members: int = 2) -> State:
    cells = np.zeros((members, L.N_CELL_FIELDS, space.n_cells))
    cells[:, Cell.POP] = space.pop0
    cells[:, Cell.JNIM] = [1000.0, 0.0, 100.0, 0.0]
    cells[:, Cell.ISSP] = [0.0, 0.0, 100.0, 0.0]
    cells[:, Cell.SERVICES] = [0.0, 1.0, 0.0, 0.0]
    cells[:, Cell.HOLD] = 1.0
    cells[:, Cell.SHARE_STATE] = 1.0
    ctry = np.zeros((members, L.N_CTRY_FIELDS, space.n_countries))
    ctry[:, Ctry.LEGITIMACY] = 0.5
    ctry[:, Ctry.POOL] = [100.0, 200.0, 300.0]
    # the fighters are units (the cell fields are their sums): JNIM 1000 in cell 0, JNIM 100
    # and IS Sahel 100 in cell 2; the other slots are free
    units = np.zeros((members, L.N_UNIT_FIELDS, L.MAX_UNITS))
    units[:, Unit.CELL] = -1.0
    units[:, Unit.START] = -1.0
    for u, (group, cell, strength) in enumerate(
        ((GROUP_INDEX["ansar_dine"], 0, 1000.0), (GROUP_INDEX["ansarul"], 2, 100.0),
         (GROUP_INDEX["is_sahel"], 2, 100.0))
    ):  # fmt: skip
        units[:, Unit.GROUP, u] = group
        units[:, Unit.CELL, u] = cell
        units[:, Unit.HOME, u] = cell
        units[:, Unit.STRENGTH, u] = strength
    return State(cells, ctry, np.zeros(members), units)


def test_country_recorder_values_from_hand_made_flows(tiny):
    s = _state(tiny, 1)
    cs, ks = s.cells[0], s.ctry[0]
    cs[Cell.HOLD] = [2.0, 1.0, 0.0, 3.0]
    cs[Cell.GOV] = [0.4, 0.0, 0.5, 1.0]
    cs[Cell.IDP] = [0.0, 250.0, 10.0, 99.0]
    cs[Cell.ACCORD] = [1.0, 0.0, 1.0, 1.0]
    fl = np.zeros((L.N_FLOW_FIELDS, 4))
    fl[Flow.DEATHS_SB] = [5.0, 1.0, 2.0, 100.0]  # the stateless cell counts for no country
    fl[Flow.DEATHS_NS] = [3.0, 0.0, 0.0, 100.0]
    fl[Flow.CIV_STATE] = [2.0, 0.0, 7.0, 100.0]
    fl[Flow.CIV_JNIM] = [1.0, 4.0, 0.0, 0.0]
    fl[Flow.CIV_ISSP] = [0.0, 0.0, 6.0, 0.0]
    fl[Flow.CIV_OTHER] = [0.0, 0.0, 5.0, 100.0]
    cs[Cell.OTHER] = [300.0, 0.0, 0.0, 50.0]
    cs[Cell.LAKE] = [0.0, 0.0, 40.0, 50.0]
    fl[Flow.DISPLACED_NEW] = [40.0, 0.0, 3.0, 0.0]
    fk = np.zeros((L.N_FLOWK_FIELDS, 3))
    fk[FlowK.STATE_LOSS] = [9.0, 8.0, 0.0]
    ks[Ctry.REFUGEES] = [6.0, 0.0, 1.0]
    out = np.zeros((engine.N_OUT, 3))
    record_country(out, cs, ks, fl, fk, tiny.country.astype(np.int64), engine._area_weights(tiny))
    got = {name: out[i] for i, name in enumerate(engine.COUNTRY_VARS)}
    mli, bfa, ner = L.MLI, L.BFA, L.NER
    assert got["deaths_state_based"][[mli, bfa, ner]].tolist() == [6.0, 2.0, 0.0]
    assert got["deaths_non_state"][mli] == 3.0
    assert got["deaths_one_sided"][[mli, bfa]].tolist() == [7.0, 18.0]
    assert got["civilians_killed_by_state_side"][[mli, bfa]].tolist() == [2.0, 7.0]
    assert got["civilians_killed_by_jnim"][mli] == 5.0
    assert got["civilians_killed_by_issp"][bfa] == 6.0
    assert got["civilians_killed_by_other_groups"][[mli, bfa]].tolist() == [0.0, 5.0]
    assert got["deaths_total"][[mli, bfa, ner]].tolist() == [16.0, 20.0, 0.0]
    assert got["state_losses"].tolist() == [9.0, 8.0, 0.0]
    assert got["territory_jnim"][mli] == 0.25 and got["territory_state"][mli] == 0.75
    assert got["territory_contested"][bfa] == 1.0 and got["territory_issp"].sum() == 0.0
    assert got["territory_other"].sum() == 0.0 and got["territory_ungoverned"].sum() == 0.0
    assert got["idps"][[mli, bfa]].tolist() == [250.0, 10.0]
    assert got["refugees"].tolist() == [6.0, 0.0, 1.0]
    assert got["displaced_new"][[mli, bfa]].tolist() == [40.0, 3.0]
    assert got["fighters_jnim"][[mli, bfa]].tolist() == [1000.0, 100.0]
    assert got["fighters_issp"][bfa] == 100.0
    assert got["fighters_other"][[mli, bfa]].tolist() == [300.0, 0.0]
    assert got["fighters_lake"][[mli, bfa]].tolist() == [0.0, 40.0]
    assert got["state_forces"].tolist() == [100.0, 200.0, 300.0]
    assert got["legitimacy"].tolist() == [0.5, 0.5, 0.5]
    assert got["accords"][[mli, bfa, ner]].tolist() == [1.0, 1.0, 0.0]
    assert got["governance_jnim"][mli] == pytest.approx(0.1)  # 0.4 over a quarter of Mali
    assert got["governance_jnim"][bfa] == 0.5
    assert got["services"][mli] == 0.75
    # the other armed groups' and the ungoverned codes (4, 5) by area share
    cs[Cell.HOLD] = [4.0, 5.0, 5.0, 4.0]
    out[:] = 0.0
    record_country(out, cs, ks, fl, fk, tiny.country.astype(np.int64), engine._area_weights(tiny))
    got = {name: out[i] for i, name in enumerate(engine.COUNTRY_VARS)}
    assert got["territory_other"][[mli, bfa, ner]].tolist() == [0.25, 0.0, 0.0]
    assert got["territory_ungoverned"][[mli, bfa, ner]].tolist() == [0.75, 1.0, 0.0]
    assert got["territory_state"].sum() == 0.0 and got["territory_jnim"].sum() == 0.0


def test_one_month_of_control_and_displacement_recorded(tiny):
    """Contest, flight and hosting by hand: Mali's 1,000 km2 cell is JNIM's (its 10,000
    residents flee at flee_control = 0.004 a month), its urban core the state's (its services
    count as 50 fighter-equivalents); Burkina Faso's cell is contested between 100 JNIM and 100
    ISSP fighters; nobody is present in the cell without a country (ungoverned). ``reach`` is 0
    so the fighters count in their own cells only."""
    p = (Params.default().all_off().with_switches(control=True, displacement=True)
         .with_values(reach=0.0))  # fmt: skip
    sc = load_scenario("acceleration")
    d = build_drivers(tiny, START, 1, levers=sc.lever_series(START, 1), flags=sc.flags)
    rec = Record(cells=("hold", "idp", "jnim"))
    ds = simulate(tiny, p, d, members=2, seed=0, state0=_state(tiny), record=rec)
    x = ds.isel(month=0)
    mli, bfa = L.MLI, L.BFA
    assert x.cell_hold.values[0].tolist() == [2, 1, 0, 5]  # stateless cell: nobody there
    assert float(x.territory_jnim[0, mli]) == 0.25 and float(x.territory_state[0, mli]) == 0.75
    assert float(x.territory_contested[0, bfa]) == 1.0
    assert float(x.displaced_new[0, mli]) == 40.0  # floor(10,000 * 0.004)
    assert float(x.refugees[0, mli]) == 6.0  # floor(40 * abroad_share 0.15 * border 1.0)
    # the other 34 reach Mali's state-held urban core; 0.5 % of them return at once
    assert float(x.idps[0, mli]) == pytest.approx(34 * (1 - 0.005))
    assert x.cell_idp.values[0, 1] == pytest.approx(34 * (1 - 0.005))
    # Burkina Faso's contested cell: flee_control x (share_jnim + share_issp) = 0.004
    assert float(x.displaced_new[0, bfa]) == 80.0
    assert float(x.deaths_total.sum()) == 0.0
    np.testing.assert_allclose(ds.people_accounted, ds.people_initial_plus_growth)


def test_generated_recorder_is_current():
    """recorder_generated.py is what codegen makes of the table (regenerate after an edit)."""
    assert recorder_source() == TARGET.read_text(encoding="utf-8"), (
        "python -m sahelsim.model.codegen"
    )


def test_codegen_rejects_a_term_that_does_not_fit_its_rule(monkeypatch):
    import sahelsim.model.codegen as cg
    from sahelsim.model.fields_table import Output

    bad = (*cg.COUNTRY_OUTPUTS, Output("x", "x", "cells", ("ctry.pool",)))
    monkeypatch.setattr(cg, "COUNTRY_OUTPUTS", bad)
    with pytest.raises(ValueError, match=r"country term 'ctry\.pool'"):
        cg.recorder_source()
    monkeypatch.setattr(cg, "COUNTRY_OUTPUTS", (Output("y", "y", "cells", ("cell.nope",)),))
    with pytest.raises(ValueError, match="unknown term"):
        cg.recorder_source()
