"""The shared figures: the control map reads its categories from the model's control codes
(including codes added later, such as ungoverned), ungoverned is never drawn like state-held,
one palette for violence types and perpetrators, log ticks 1, 10, 100, 1 k."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
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


def _fan_runs(x: np.ndarray | None = None) -> runs.ScenarioRuns:
    """Two scenarios' fan quantiles on the synthetic space (no model run), at six dates ``x``
    (Plotly date numbers; default: yearly from 2011)."""
    out = runs.ScenarioRuns(space=Space.synthetic(), projection_start=PROJECTION_START)
    x = np.arange(6, dtype=np.float32) * 3.15e10 + 1.3e12 if x is None else x
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        out.titles[name] = name.upper()
        for var in runs.FAN_VARS:
            for region in runs.REGIONS:
                q = np.sort(rng.gamma(2.0, 50.0, (5, 6)), axis=0).astype(np.float32)
                out.fans[(name, var, region)] = (x, q)
    return out


@pytest.mark.parametrize("names", [["a"], ["a", "b"]])
def test_fan_figure_is_valid_plotly_with_coloured_observed_markers(names):
    """The fan charts are built as Plotly JSON without validation: Plotly's full validation
    accepts them, and the observed civilians carry their perpetrator's colour (their symbols
    still tell them apart)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from sahelsim.viz.fans import FAN_SERIES, fan_figure
    from sahelsim.viz.observed import observed_series

    cy = pd.DataFrame(
        {
            "iso3": ["MLI", "BFA", "NER"] * 2,
            "year": [2015] * 3 + [2016] * 3,
            "deaths_total": [10.0, 20, 30, 40, 50, 60],
            "civilians_killed_by_government": [1.0, 2, 3, 4, 5, 6],
            "civilians_killed_by_nonstate": [6.0, 5, 4, 3, 2, 1],
            "idps": [100.0, 200, 300, 400, 500, 600],
        }
    )
    _, civ, _ = observed_series(cy)
    fig = fan_figure(_fan_runs(), names, list(FAN_SERIES["civilians"]), title="T", ytitle="Y",
                     observed=civ)  # fmt: skip
    d = json.loads(pio.to_json(fig, validate=False))
    go.Figure(d)  # raises on any invalid property
    obs = {t["name"]: t["marker"] for t in d["data"] if t["name"].startswith("observed")}
    gov, ns = (
        obs["observed: UCDP one-sided, government"],
        obs["observed: UCDP one-sided, non-state"],
    )
    assert gov["color"] == palette.PERPETRATOR_COLOURS["state_side"]
    assert ns["color"] == palette.PERPETRATOR_COLOURS["non_state"]
    assert gov["symbol"] != ns["symbol"] and gov["symbol"].endswith("-open")
    # every panel has its axes, the menu switches regions, the first column has the y title
    assert {t["xaxis"] for t in d["data"]} == ({"x"} if len(names) == 1 else {"x", "x2"})
    assert d["layout"]["yaxis"]["title"]["text"] == "Y"
    buttons = d["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["AES (three states)", "Mali", "Burkina Faso", "Niger"]
    assert len(d["layout"]["shapes"]) == len(names)  # the projection start in every panel


def test_town_labels_do_not_overlap():
    """Bamako (the capital) and Koulikoro sit 50 km apart: their labels are placed apart, and
    no two labels (nor a label and a marker) overlap on any one-country map."""
    from sahelsim.grid.build import load_urban_cores
    from sahelsim.viz import places

    towns = load_urban_cores()
    for iso in ("MLI", "BFA", "NER"):
        t = towns[(towns["iso3"] == iso) & towns["kind"].isin(("capital", "regional_capital"))]
        scale = 20.0  # px per degree, a small map
        text, where = places.place_labels(t, scale)
        boxes = []
        for (_, row), lab, pos in zip(t.iterrows(), text, where, strict=True):
            if not lab:
                continue
            font, marker, _ = places._TOWN_STYLE[row["kind"]]
            b = places._text_box(row["lon"], row["lat"], lab, font, marker, pos, scale)
            assert not places._overlaps(b, boxes), (iso, lab)
            boxes.append(b)
        assert sum(bool(x) for x in text) >= len(t) - 2, (iso, text)
        if iso == "MLI":
            pos = dict(zip(t["name"], where, strict=True))
            assert "Bamako" in text and "Koulikoro" in text
            assert pos["Bamako"] != pos["Koulikoro"] or pos["Bamako"] != "top center"


def test_long_panel_titles_wrap_and_stay_escaped():
    from sahelsim.viz.fans import panel_title

    t = panel_title("Decapitation: the leadership of JNIM's strongest katiba is killed <i>")
    lines = t.split("<br>")
    assert len(lines) >= 2 and all(len(x) <= 48 for x in lines)
    assert "<i>" not in t and "&lt;i&gt;" in t
