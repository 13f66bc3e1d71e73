"""The armed groups as units: decapitation, the northern accord, founding places and months."""

from __future__ import annotations

import numpy as np
import pytest

from sahelsim.core.canon import month_id
from sahelsim.model import layout as L
from sahelsim.model.engine import Record, simulate
from sahelsim.model.fields_table import GROUP_INDEX, GROUPS
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.model.state import initial_state, unit_slots
from sahelsim.scenarios.setup import build_drivers

START = int(month_id(2020, 1))


@pytest.fixture(scope="module")
def space():
    return Space.synthetic(rows=10, cols=15, seed=5)


def _active(space, members=3):
    """A state whose units are all active at home with their founding strength."""
    s = initial_state(space, Params.default(), members, START)
    u = s.units
    pending = u[:, L.Unit.START] >= 0
    u[:, L.Unit.CELL] = np.where(pending, u[:, L.Unit.HOME], u[:, L.Unit.CELL])
    u[:, L.Unit.START] = np.where(pending, -1.0, u[:, L.Unit.START])
    return s


def _only(*names):
    p = Params.default().all_off().with_values(split_rate=0.0)
    return p.with_switches(**{n: True for n in names})


def _levers(months, **values):
    out = {}
    for name, (country, value) in values.items():
        arr = np.zeros((months, 3))
        arr[0, L.COUNTRY_INDEX[country]] = value
        out[name] = arr
    return out


def test_founding_units_sit_at_their_anchors_and_wait_for_their_month(space):
    units = unit_slots(space, START)
    for g_i, g in enumerate(GROUPS):
        mine = units[L.Unit.GROUP] == g_i
        mine &= units[L.Unit.START] >= 0
        assert mine.sum() == g.units, g.name
        y, m = (int(x) for x in g.start.split("-"))
        assert (units[L.Unit.START, mine] == max(int(month_id(y, m)), START)).all()
        assert np.isclose(units[L.Unit.STRENGTH, mine].sum(), g.strength)
    assert (units[L.Unit.CELL] == -1).all()  # nobody active before the first step


def _jnim_country(space, s0) -> str:
    """The core country with most JNIM units at home (on the synthetic grid the real anchors
    fall mostly in its eastern stripe)."""
    u = s0.units[0]
    cells = u[L.Unit.CELL].astype(int)
    jn = np.array([L.GROUP_SIDE[int(g)] == L.JNIM_SIDE for g in u[L.Unit.GROUP]]) & (cells >= 0)
    k = np.bincount(space.country[cells[jn]], minlength=3)[:3].argmax()
    return L.CORE[int(k)]


def test_decapitation_hits_only_the_leading_jnim_group_of_that_country(space):
    s0 = _active(space)
    iso = _jnim_country(space, s0)
    drv = build_drivers(space, START, 1, levers=_levers(1, decapitation=(iso, 0.5)))
    _, s1 = simulate(space, _only("franchise"), drv, members=3, seed=1, state0=s0,
                     record=Record(cells=()), return_state=True)  # fmt: skip
    u0, u1 = s0.units, s1.units
    mli = L.COUNTRY_INDEX[iso]
    for m in range(3):
        cell = u0[m, L.Unit.CELL].astype(int)
        in_mli = (cell >= 0) & (space.country[np.maximum(cell, 0)] == mli)
        grp = u0[m, L.Unit.GROUP].astype(int)
        jnim = np.array([L.GROUP_SIDE[g] == L.JNIM_SIDE for g in grp])
        by_group = {g: u0[m, L.Unit.STRENGTH][in_mli & jnim & (grp == g)].sum()
                    for g in set(grp[in_mli & jnim])}  # fmt: skip
        lead = max(by_group, key=by_group.get)
        hit = in_mli & (grp == lead)
        assert hit.any() and (~hit & (u0[m, L.Unit.CELL] >= 0)).any()
        np.testing.assert_allclose(u1[m, L.Unit.STRENGTH][hit], 0.5 * u0[m, L.Unit.STRENGTH][hit])
        np.testing.assert_array_equal(u1[m, L.Unit.STRENGTH][~hit], u0[m, L.Unit.STRENGTH][~hit])


def test_no_decapitation_no_change(space):
    s0 = _active(space)
    drv = build_drivers(space, START, 1, levers=_levers(1, decapitation=("MLI", 0.0)))
    _, s1 = simulate(space, _only("franchise"), drv, members=3, seed=1, state0=s0,
                     record=Record(cells=()), return_state=True)  # fmt: skip
    np.testing.assert_array_equal(s1.units[:, L.Unit.STRENGTH], s0.units[:, L.Unit.STRENGTH])


@pytest.mark.parametrize("accord", [0.0, 1.0])
def test_the_northern_movements_fight_the_state_only_without_an_accord(space, accord):
    s0 = _active(space, members=8)
    cma = GROUP_INDEX["cma"]
    # keep only the CMA units, so any state-based death comes from them
    others = s0.units[:, L.Unit.GROUP] != cma
    s0.units[:, L.Unit.CELL] = np.where(others, -1.0, s0.units[:, L.Unit.CELL])
    s0.units[:, L.Unit.STRENGTH] = np.where(others, 0.0, s0.units[:, L.Unit.STRENGTH])
    months = 6
    lv = {"northern_accord": np.full((months, 3), accord)}
    drv = build_drivers(space, START, months, levers=lv)
    p = Params.default().with_values(split_rate=0.0)
    ds = simulate(space, p, drv, members=8, seed=2, state0=s0, record=Record(cells=()))
    sb = float(ds["deaths_state_based"].sel(country=list(L.CORE)).sum())
    if accord == 1.0:
        assert sb == 0.0
    else:
        assert sb > 0.0
