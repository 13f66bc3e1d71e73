"""The filtered model as a forecaster: one pass serves every origin, later data never enter,
the output has the forecaster layout (twin data on the synthetic grid)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahelsim.core.canon import month_id
from sahelsim.forecast.filtered import FilteredForecaster
from sahelsim.forecast.forecasters import TARGETS
from sahelsim.inference.filter import Context
from sahelsim.inference.likelihood import ObsModel, draw_observations
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.run import HISTORY_START

T = 18
PARAMS = ("engage_rate", "harm_jnim")


@pytest.fixture(scope="module")
def space() -> Space:
    return Space.synthetic()


@pytest.fixture(scope="module")
def obs(space) -> pd.DataFrame:
    ds = simulate(space, Params.default(), Context(space).drivers(HISTORY_START, T),
                  members=np.array([0]), seed=99, record=Record(cells=()))  # fmt: skip
    return draw_observations(ds, 0, ObsModel(), seed=99)


def _fc(space, obs, **kw):
    return FilteredForecaster(obs, space=space, members=24, params=PARAMS, start="prior", **kw)


def test_one_pass_serves_every_origin_and_equals_a_pass_to_that_origin(space, obs):
    o1, o2 = HISTORY_START + 8, HISTORY_START + 12
    both = _fc(space, obs, origins=(o1, o2))
    a = both(pd.DataFrame(), o1, 3, 30, 0)
    b = both(pd.DataFrame(), o2, 3, 30, 0)
    assert both.passes == 1  # the second origin came from the same pass
    alone = _fc(space, obs)
    pd.testing.assert_frame_equal(alone(pd.DataFrame(), o1, 3, 30, 0), a)
    assert set(TARGETS) <= set(a["target"]) <= {*TARGETS, "idps"}
    months = sorted(set(b.loc[b["target"].isin(TARGETS), "month_id"]))
    assert months == [o2 + 1, o2 + 2, o2 + 3]
    assert (b.loc[b["target"].isin(TARGETS), "outcome"] >= 0).all()
    assert b.groupby(["month_id", "iso3", "target"]).size().eq(30).all()


def test_later_data_do_not_enter(space, obs):
    origin = HISTORY_START + 10
    later = obs.copy()
    after = later["month_id"] > origin
    assert after.any()
    later.loc[after, "value"] = later.loc[after, "value"] * 7 + 100
    a = _fc(space, obs, origins=(origin,))(pd.DataFrame(), origin, 4, 20, 1)
    b = _fc(space, later, origins=(origin,))(pd.DataFrame(), origin, 4, 20, 1)
    pd.testing.assert_frame_equal(a, b)
    # ... while data at the origin do
    at = obs.copy()
    at.loc[at["month_id"] == origin, "value"] = at.loc[at["month_id"] == origin, "value"] * 9 + 50
    c = _fc(space, at, origins=(origin,))(pd.DataFrame(), origin, 4, 20, 1)
    assert not a["outcome"].equals(c["outcome"])


def test_dated_events_after_the_origin_do_not_enter(space, obs):
    """A timeline event after the origin (here: a French deployment in Mali) changes nothing
    unless the forecaster is told the events after the origin are known (the present)."""
    from sahelsim.evidence.timeline import load_timeline

    origin = HISTORY_START + 10
    tl = load_timeline()
    late = tl[tl["id"] == "fra_serval_start"].copy()
    late["month_id"] = origin + 1
    late["id"] = "late_deployment"
    with_late = pd.concat([tl, late], ignore_index=True)
    out = {}
    for known in (True, False):
        for name, timeline in (("packaged", tl), ("late", with_late)):
            fc = _fc(space, obs, origins=(origin,), history_until_origin=known)
            fc._tl = timeline
            out[(known, name)] = fc(pd.DataFrame(), origin, 4, 20, 1)
    pd.testing.assert_frame_equal(out[(True, "packaged")], out[(True, "late")])
    assert not out[(False, "packaged")]["outcome"].equals(out[(False, "late")]["outcome"])


def test_held_levers_keep_the_origin_month_and_drop_pulses():
    from sahelsim.forecast.filtered import held_levers
    from sahelsim.scenarios.scenario import load_scenario

    sc = load_scenario("decapitation")
    at = sc.lever_series(int(month_id(2022, 6)), 1)
    held = held_levers(at, 5)
    for k, v in held.items():
        assert v.shape == (5, at[k].shape[1])
    np.testing.assert_array_equal(
        held["intervention_force"], np.repeat(at["intervention_force"], 5, axis=0)
    )
    assert not held["decapitation"].any() and not held["legitimacy_shock"].any()
