"""The explorer's fan charts carry the observed points of the staged data (real data: UCDP
country-year, UNHCR/IDMC), cached once per data directory."""

from __future__ import annotations

import numpy as np
import pytest

from sahelsim.app import core
from sahelsim.app import observed as obs


@pytest.fixture()
def real(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("SAHELSIM_APP_CACHE", str(tmp_path))
    monkeypatch.delenv(core.ENV_GRID, raising=False)
    obs._MEM.clear()
    core.set_provider(None)
    yield str(shared_data)
    obs._MEM.clear()
    core.set_provider(None)


def test_observed_points_on_the_explorer_fans(real, tmp_path):
    panel = obs.observed_panel(real)
    assert panel is not None and {"MLI", "BFA", "NER"} <= set(panel["iso3"])
    cached = list((tmp_path / "observed").glob("*.csv"))
    assert len(cached) == 1
    obs._MEM.clear()
    again = obs.observed_panel(real)  # read back from disk
    assert again is not None and len(again) == len(panel)
    assert obs.observed_panel(None) is None and obs.fan_observed(None) == {}
    req = core.make_request("acceleration", members=4, months=6, seed=1, data_dir=real)
    res, _ = core.run_cached(req, compute=core._simulate)
    figs = {k: v[0] for k, v in core.fan_charts([(req.label, res)], "MLI").items()}
    deaths = [t for t in figs["deaths"]["series"] if t["name"] == "observed: UCDP deaths"]
    assert len(deaths) == 1, [t["name"] for t in figs["deaths"]["series"]]
    want = panel[(panel["iso3"] == "MLI") & (panel["year"] == 2024)]["deaths_total"].iloc[0]
    last = deaths[0]["data"][-1]
    assert last[1] == pytest.approx(float(want), rel=1e-3)
    assert np.datetime64(int(last[0]), "ms").astype(str)[:10] == "2024-07-01"  # mid-year
    civ = {t["name"] for t in figs["civilians"]["series"] if t["name"].startswith("observed")}
    assert civ == {"observed: UCDP one-sided, government", "observed: UCDP one-sided, non-state"}
    assert any(t["name"].startswith("observed") for t in figs["idps"]["series"])
    assert not any(t["name"].startswith("observed") for t in figs["territory"]["series"])
    # the y axis reaches the observed points
    assert figs["deaths"]["yAxis"]["max"] >= max(p[1] for p in deaths[0]["data"])
