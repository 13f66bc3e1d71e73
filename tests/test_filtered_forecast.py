"""The filtered model as a forecaster: one pass serves every origin, later data never enter,
the output has the forecaster layout (twin data on the synthetic grid)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
