"""The shared figures: the control map reads its categories from the model's control codes
(including codes added later, such as ungoverned), ungoverned is never drawn like state-held,
one palette for violence types and perpetrators, log ticks 1, 10, 100, 1 k."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sahelsim.model.space import Space
from sahelsim.scenarios.run import PROJECTION_START
from sahelsim.viz import maps, palette, runs
from sahelsim.viz.figures import FigureSet
from sahelsim.viz.places import cell_frame
from sahelsim.viz.text import log_ticks


def _runs(hold: np.ndarray) -> runs.ScenarioRuns:
    space = Space.synthetic()
    M, T, C = hold.shape
    months = np.arange(PROJECTION_START, PROJECTION_START + T)
    cells = xr.Dataset(
        {
            "cell_deaths": (("member", "month", "cell"), np.ones((M, T, C), np.float32)),
            "cell_hold": (("member", "month", "cell"), hold.astype(np.int8)),
            "cell_idp": (("member", "month", "cell"), np.zeros((M, T, C), np.float32)),
        },
        coords={"member": np.arange(M), "month": months, "cell": space.gid[:C]},
    )
    out = runs.ScenarioRuns(space=space, projection_start=PROJECTION_START)
    out.titles["x"] = "X"
    runs._add_maps(out, "x", cells)
    return out


@pytest.fixture()
def codes(monkeypatch):
    """The model's codes as the lead's rewrite will have them (4 other, 5 ungoverned)."""
    table = {0: "contested", 1: "state", 2: "jnim", 3: "issp", 4: "other armed group",
             5: "ungoverned"}  # fmt: skip
    monkeypatch.setattr(runs, "HOLD_CODES", table)
    return table


def test_control_map_categories_come_from_the_model(codes):
    space = Space.synthetic()
    C = space.n_cells
    hold = np.ones((4, 2, C), dtype=np.int8)  # the state everywhere ...
    hold[:, -1, 0] = 5  # ... but cell 0 ungoverned in every member
    hold[:3, -1, 1] = 2  # cell 1: JNIM in 3 of 4 members
    r = _runs(hold)
    assert r.cell_state_share[0] == 0 and r.cell_state_share[1] == 0.25
    assert r.cell_hold_shares[5][0] == 1.0
    figs = FigureSet()
    maps.map_figures(r, None, figs)
    d = figs.standalone("map_control")
    tr = d["data"][0]
    ticks = tr["colorbar"]["ticktext"]
    assert ticks == ["contested", "the state", "JNIM", "IS Sahel", "other armed groups",
                     "ungoverned"]  # fmt: skip
    n = len(ticks)
    scale = tr["colorscale"]
    colour_of = {}
    for k, name in enumerate(ticks):  # category k fills [k/n, (k+1)/n] in one colour
        (lo, c1), (hi, c2) = scale[2 * k], scale[2 * k + 1]
        assert (lo, hi) == pytest.approx((k / n, (k + 1) / n)) and c1 == c2
        colour_of[name] = c1
    assert colour_of["ungoverned"] != colour_of["the state"]
    assert len(set(colour_of.values())) == n, colour_of  # one colour per holder
    assert colour_of["the state"] == palette.PERPETRATOR_COLOURS["state_side"]
    assert colour_of["JNIM"] == palette.PERPETRATOR_COLOURS["jnim"]
    z = np.asarray(maps._control(r, "cells", cell_frame(r)).data[0].z)
    assert ticks[int(z[0])] == "ungoverned" and ticks[int(z[1])] == "JNIM"
    assert ticks[int(z[2])] == "the state"
    # the CSV of the figure: a share column per holder, plain names
    data = maps._cell_data(r, cell_frame(r))
    assert "share_of_members_ungoverned_last_month" in data.columns
    assert data["share_of_members_ungoverned_last_month"].iloc[0] == 1.0


def test_unknown_code_is_named_not_dropped(monkeypatch):
    monkeypatch.setattr(runs, "HOLD_CODES", {0: "contested", 1: "state"})
    C = Space.synthetic().n_cells
    hold = np.ones((2, 1, C), dtype=np.int8)
    hold[:, 0, 0] = 7
    r = _runs(hold)
    assert r.hold_labels[7] == "code 7" and r.cell_hold_shares[7][0] == 1.0


def test_palette_one_colour_per_type_and_perpetrator():
    v = palette.VIOLENCE_COLOURS
    p = palette.PERPETRATOR_COLOURS
    assert len(set(v.values())) == 3 and len(set(p.values())) == 4
    okabe = set(palette.OKABE_ITO.values())
    assert set(v.values()) <= okabe and set(p.values()) <= okabe
    assert palette.hold_colour("ungoverned") != palette.hold_colour("state")
    assert palette.hold_name("other armed group") == "other armed groups"


def test_log_ticks_read_1_10_100_1k():
    vals, text = log_ticks(2500)
    assert text == ["0", "1", "10", "100", "1 k", "10 k"] or text[:5] == [
        "0",
        "1",
        "10",
        "100",
        "1 k",
    ]
    assert vals[1] == pytest.approx(np.log10(2))
