"""The explorer's fan charts as ECharts options: each band is its lower quantile with the
band's width stacked on it (so it spans exactly the 5-95 % and 25-75 % quantiles) and stays out
of the tooltip, which lists each median and 90 % interval in a number format; observed points
keep their perpetrator's colour; dates are UTC; panels of two scenarios share their y axis; the
option is plain JSON (no NaN, no NumPy types) and a missing value is a gap, not a zero."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from sahelsim.viz import palette, runs
from sahelsim.viz.echarts import fan_options, nice_top
from sahelsim.viz.fans import FAN_SERIES, axis_top
from sahelsim.viz.observed import observed_series
from sahelsim.viz.text import to_ms
from test_viz import _fan_runs as fan_runs  # tests/


def _fan_runs() -> runs.ScenarioRuns:
    return fan_runs(to_ms([f"{y}-07-01" for y in range(2020, 2026)]))


def _ms(day: str) -> float:
    """A date as exact milliseconds since the epoch (the charts' dates, to the hour)."""
    return float(np.datetime64(day, "ms").astype(np.int64))


def _observed():
    cy = pd.DataFrame(
        {
            "iso3": ["MLI", "BFA", "NER"] * 2,
            "year": [2015] * 3 + [2016] * 3,
            "deaths_total": [10.0, 20, 30, 40, 50, 60],
            "civilians_killed_by_government": [1.0, 2, 3, np.nan, 5, 6],
            "civilians_killed_by_nonstate": [6.0, 5, 4, 3, 2, 1],
            "idps": [100.0, 200, 300, 400, 500, 600],
        }
    )
    return observed_series(cy)


@given(hs.floats(min_value=1e-6, max_value=1e12, allow_nan=False))
def test_nice_top_is_a_round_number_just_above(top):
    got = nice_top(top)
    assert top <= got * (1 + 1e-9) and got <= 1.34 * top
    mant = got / 10 ** math.floor(math.log10(got) + 1e-12)
    assert any(math.isclose(mant, m, rel_tol=1e-9) for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8))


def test_nice_top_of_nothing_is_one():
    assert nice_top(0.0) == nice_top(-3.0) == nice_top(float("nan")) == 1.0


def test_bands_span_the_quantiles_and_the_tooltip_lists_median_and_interval():
    r = _fan_runs()
    _, civ, _ = _observed()
    (opt,) = fan_options(r, ["a"], list(FAN_SERIES["civilians"]), "MLI", title="T",
                         ytitle="Y", observed=civ)  # fmt: skip
    assert json.loads(json.dumps(opt, allow_nan=False)) == opt  # plain JSON
    series = opt["series"]
    for k, (var, lab, colour) in enumerate(FAN_SERIES["civilians"]):
        _, q = r.fans[("a", var, "MLI")]
        for lo, hi, band in ((0, 4, "90 %"), (1, 3, "50 %")):
            lower = next(s for s in series if s["name"] == f"_s{k}b{band}")
            width = next(s for s in series if s.get("stack") == lower["stack"] and s is not lower)
            assert width["name"] == f"{band} interval" and "areaStyle" in width
            assert lower["lineStyle"]["width"] == 0 and "areaStyle" not in lower
            for helper in (lower, width):  # never in the tooltip, never hovered
                assert helper["tooltip"] == {"show": False} and helper["silent"] is True
            top = np.array([a[1] for a in lower["data"]]) + [a[1] for a in width["data"]]
            np.testing.assert_allclose(top, q[hi], rtol=2e-3)
            np.testing.assert_allclose([a[1] for a in lower["data"]], q[lo], rtol=1e-3)
        median = next(s for s in series if s["name"] == f"{lab}: median")
        assert median["lineStyle"]["color"] == colour
        assert median["data"][0] == [_ms("2020-07-01"), pytest.approx(q[2][0], 1e-3)]
        # the tooltip lists the median and the 90 % interval's ends, as whole numbers
        for i, end in ((0, "low"), (4, "high")):
            line = next(s for s in series if s["name"] == f"{lab}: 90 % interval, {end}")
            assert line["lineStyle"]["opacity"] == 0 and line["tooltip"] == median["tooltip"]
            np.testing.assert_allclose([a[1] for a in line["data"]], q[i], rtol=1e-3)
        assert median["tooltip"] == {"valueFormatter": "%,d"}
    assert opt["tooltip"]["trigger"] == "axis" and opt["useUTC"] is True
    # one legend entry per band for all three perpetrators; the helper lines have none
    legend = opt["legend"]["data"]
    assert legend.count("90 % interval") == 1
    assert not [n for n in legend if n.startswith("_") or "interval," in n], legend
    obs = {s["name"]: s for s in series if s["type"] == "scatter"}
    gov = obs["observed: UCDP one-sided, government"]
    assert gov["itemStyle"]["color"] == palette.PERPETRATOR_COLOURS["state_side"]
    ns = obs["observed: UCDP one-sided, non-state"]
    assert ns["itemStyle"]["color"] == palette.PERPETRATOR_COLOURS["non_state"]
    assert gov["symbol"] != ns["symbol"]
    # Mali's 2016 government value is missing: the point is left out, not drawn at zero
    assert gov["data"] == [[_ms("2015-07-01"), 1.0]]
    # the projection start is marked; the y axis is a round number above the central bands
    assert series[0]["markLine"]["data"] == [{"xAxis": _ms("2025-01-01")}]
    qs = [r.fans[("a", v, "MLI")][1] for v, _, _ in FAN_SERIES["civilians"]]
    assert opt["yAxis"]["max"] == nice_top(axis_top(qs, [1.0, 6.0, 3.0]))
    assert opt["title"] == {
        "text": "T",
        "subtext": "Mali",
        "left": 0,
        "textStyle": {"fontSize": 15},
    }


def test_a_chart_of_one_series_lists_both_intervals_in_its_tooltip():
    r = _fan_runs()
    (opt,) = fan_options(r, ["a"], list(FAN_SERIES["deaths"]), "BFA", title="T", ytitle="Y")
    _, q = r.fans[("a", "deaths_total", "BFA")]
    names = [s["name"] for s in opt["series"] if s.get("tooltip", {}).get("show", True)]
    assert names == [
        "fatalities: median",
        "fatalities: 50 % interval, low",
        "fatalities: 50 % interval, high",
        "fatalities: 90 % interval, low",
        "fatalities: 90 % interval, high",
    ]
    for row, name in ((1, "50 % interval, low"), (3, "50 % interval, high")):
        line = next(s for s in opt["series"] if s["name"] == f"fatalities: {name}")
        np.testing.assert_allclose([a[1] for a in line["data"]], q[row], rtol=1e-3)
    # three perpetrators: the 90 % ends only (a shorter list)
    (civ,) = fan_options(r, ["a"], list(FAN_SERIES["civilians"]), "BFA", title="T", ytitle="Y")
    assert not [s for s in civ["series"] if "50 % interval," in s["name"]]


def test_a_missing_quantile_is_a_gap_not_a_zero():
    r = _fan_runs()
    x, q = r.fans[("a", "deaths_total", "NER")]
    q = q.copy()
    q[:, 2] = np.nan
    r.fans[("a", "deaths_total", "NER")] = (x, q)
    (opt,) = fan_options(r, ["a"], list(FAN_SERIES["deaths"]), "NER", title="T", ytitle="Y")
    json.dumps(opt, allow_nan=False)  # strict JSON
    for s in opt["series"]:
        assert s["data"][2][1] is None, s["name"]
        assert s["data"][1][1] is not None


def test_two_scenarios_share_their_axis_and_a_share_axis_ends_at_one():
    r = _fan_runs()
    a, b = fan_options(r, ["a", "b"], list(FAN_SERIES["deaths"]), "AES", title="T", ytitle="Y",
                       subtitles=["A · AES", "B · AES"])  # fmt: skip
    assert a["yAxis"]["max"] == b["yAxis"]["max"]
    assert (a["title"]["subtext"], b["title"]["subtext"]) == ("A · AES", "B · AES")
    assert a["series"] != b["series"]
    (terr,) = fan_options(r, ["a"], list(FAN_SERIES["territory"]), "NER", title="T", ytitle="Y",
                          yformat=".2f")  # fmt: skip
    assert terr["yAxis"]["max"] == 1.0
    median = next(s for s in terr["series"] if s["name"].endswith("median"))
    assert median["tooltip"] == {"valueFormatter": "%.2f"}
