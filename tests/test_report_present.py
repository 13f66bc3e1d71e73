"""The report's projections start from the filtered present (and say so), else from a free run
from 2012-01 (and say that plainly): issue 12.

The filtered folder is made here on the real observations, with few members on the synthetic
grid (so the filter stays a few seconds of simulation)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sahelsim.core.canon import month_id
from sahelsim.inference.assimilate import FILES, Filtered
from sahelsim.model.engine import Record
from sahelsim.model.space import Space
from sahelsim.report.build import SUMMARY_FILE, build_report
from sahelsim.report.projection import SIM_END, headline_rows, window_words
from sahelsim.scenarios.run import project_scenario

pytest.importorskip("plotly", reason="plotly is needed for the report")

SCENARIOS = ["acceleration", "accommodation"]
MEMBERS = 4
CLAIMS = pd.DataFrame([{"id": "c1", "claim": "x", "section": "s", "verdict": "supported",
                        "evidence": "data"}])  # fmt: skip


def _section(text: str, key: str) -> str:
    m = re.search(rf'<section id="{key}">(.*?)</section>', text, re.S)
    assert m, f"no section {key}"
    return m.group(1)


def _xs(trace: dict) -> np.ndarray:
    """A trace's x values as Plotly date numbers (ms), plain or binary-encoded."""
    x = trace.get("x")
    if isinstance(x, dict):
        return np.frombuffer(
            base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]).newbyteorder("<")
        )
    return np.array([pd.Timestamp(v).value // 1_000_000 if isinstance(v, str) else v
                     for v in x or [] if v is not None], dtype=float)  # fmt: skip


def _figures(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="sahelsim-figures">(.*?)</script>',
                  text, re.S)  # fmt: skip
    assert m
    return json.loads(m.group(1))["figures"]


@pytest.fixture(scope="module")
def filtered(shared_data, tmp_path_factory):
    """A report built with ``present="filter"`` (filters 4 members to the data's last month
    into out/assimilate), then a second one with the default ``auto`` that reuses the folder."""
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all

    tmp = tmp_path_factory.mktemp("rpresent")
    out = tmp / "out"
    with Store(tmp / "s.duckdb") as st:
        ingest_all(shared_data, st)
        first = build_report(st, data_dir=None, out=out, members=MEMBERS, seed=3,
                             scenarios=SCENARIOS, claims=CLAIMS, present="filter")  # fmt: skip
        rec1 = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
        stamp = (out / "assimilate" / FILES["state"]).stat().st_mtime_ns
        second = build_report(st, data_dir=None, out=out, members=MEMBERS, seed=3,
                              scenarios=SCENARIOS, claims=CLAIMS)  # fmt: skip
        assert (out / "assimilate" / FILES["state"]).stat().st_mtime_ns == stamp, "re-filtered"
    return first, rec1, second, out, tmp / "s.duckdb"


def test_projections_start_from_the_filtered_ensemble_and_say_so(filtered):
    first, rec1, second, out, _ = filtered
    got = Filtered.from_folder(out / "assimilate")
    until = got.meta["until"]
    assert until == "2024-12"  # the data's last month (UCDP GED, UNHCR end-year)
    folder = out / "assimilate"
    label = f"filtered ensemble of {until} ({folder}, {MEMBERS} members)"
    for path in (first, second):
        text = path.read_text(encoding="utf-8")
        summ = _section(text, "summary")
        assert "projections start in 2025-01</strong>" in summ
        assert f"from <strong>the {label}</strong>" in summ
        assert "free run" not in summ and "not conditioned" not in summ
        assert "conditioned on the observations up to 2024-12" in summ
        scen = _section(text, "scenarios")
        assert f"projected monthly from 2025-01 to 2030-12 from the {label}" in scen
        assert "paired" in scen
        assert f"projections from the {label}" in text  # the page's meta line
    rec = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
    for r in (rec1, rec):
        assert r["projection_start"] == label and r["projection_start_kind"] == "filtered"
        assert r["first_projected_month"] == "2025-01"
    # the same members and seed both times: the same numbers, nothing "changed"
    assert rec["headline"] == rec1["headline"]
    assert "No change in the headline numbers" in _section(second.read_text(), "summary")


def test_fan_charts_start_at_the_first_projected_month(filtered):
    first, _, _, _, _ = filtered
    figs = _figures(first.read_text(encoding="utf-8"))
    start_ms = pd.Timestamp("2025-01-01").value // 1_000_000
    for fid in ("fan_deaths", "fan_idps", "country_mli_deaths"):
        sim = [_xs(t) for t in figs[fid]["data"] if t.get("mode") == "lines"]
        obs = [_xs(t) for t in figs[fid]["data"] if t.get("mode") == "markers"]
        assert sim and obs and all(len(x) for x in sim + obs), fid
        assert min(x.min() for x in sim) >= start_ms, f"{fid}: a simulated point before 2025-01"
        # the observed history (UCDP, UNHCR) stays on the chart, before the projection
        assert min(x.min() for x in obs) < start_ms, fid


def test_headline_numbers_come_from_the_filtered_projection(filtered):
    """Recompute the reference scenario's first 12 months from the folder, independently:
    projected from the filtered members, deaths anchored on the 12 observed months."""
    from sahelsim.data.store.store import Store
    from sahelsim.forecast.filtered import anchor_dataset, anchor_ratios
    from sahelsim.inference.assimilate import load_recent
    from sahelsim.inference.likelihood import observations_from_store

    first, rec, _, out, db = filtered
    assert "its deaths by type anchored on the 12 observed months to 2024-12" in _section(
        first.read_text(encoding="utf-8"), "summary"
    )
    got = Filtered.from_folder(out / "assimilate")
    space = Space.synthetic()
    ds = project_scenario("acceleration", state0=got.state, param_matrix=got.param_matrix,
                          start=got.first_month, months=SIM_END - got.first_month + 1,
                          space=space, members=MEMBERS, seed=3,
                          record=Record(cells=()))  # fmt: skip
    with Store(db, read_only=True) as st:
        obs = observations_from_store(st)
    months, counts = load_recent(out / "assimilate")
    ratio = anchor_ratios(obs, got.until, months, counts, space.countries)
    assert not np.allclose(ratio, 1.0)  # the anchoring did something
    ds = anchor_dataset(ds, ratio[np.arange(MEMBERS) % len(ratio)])
    year = ds.sel(month=(ds.month >= got.first_month) & (ds.month < got.first_month + 12))
    mali = year["deaths_total"].sel(country="MLI").sum("month").values
    idp = ds["idps"].sel(country="MLI", month=got.first_month + 11).values
    row = next(r for r in rec["headline"] if r["region"] == "MLI")
    assert row["deaths_median"] == pytest.approx(round(float(np.median(mali)), 1), abs=0.051)
    assert row["idps_median"] == pytest.approx(round(float(np.median(idp)), 1), abs=0.051)
    assert rec["scenario"] == "acceleration"


def test_without_a_folder_the_report_says_free_run(tmp_path, store):
    out = tmp_path / "o"
    path = build_report(store, data_dir=None, out=out, members=3, scenarios=["acceleration"],
                        claims=CLAIMS)  # fmt: skip
    summ = _section(path.read_text(encoding="utf-8"), "summary")
    assert "from <strong>a free run from 2012-01</strong>" in summ
    assert "<strong>not conditioned on the latest data</strong>" in summ
    assert f"no filtered ensemble in {out / 'assimilate'}" in summ
    rec = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert rec["projection_start"] == "free run from 2012-01"
    assert rec["projection_start_kind"] == "free" and rec["first_projected_month"] == "2025-01"
    # "filter" with no observations in the store falls back too, and says why
    path = build_report(store, data_dir=None, out=out, members=3, scenarios=["acceleration"],
                        claims=CLAIMS, present="filter")  # fmt: skip
    summ = _section(path.read_text(encoding="utf-8"), "summary")
    assert "free run from 2012-01" in summ and "no observations to filter on" in summ
    with pytest.raises(ValueError, match="present must be one of auto, filter, none"):
        build_report(store, data_dir=None, out=out, members=3, claims=CLAIMS, present="x")


def test_a_folder_on_another_grid_is_not_used(filtered, tmp_path, store):
    """A filtered folder whose cell count differs from the report's grid: free run, said."""
    folder = _copy_with(filtered[3] / "assimilate", tmp_path / "assimilate", cells=1)
    path = build_report(store, data_dir=None, out=tmp_path / "o", members=3, claims=CLAIMS,
                        scenarios=["acceleration"], present_dir=folder)  # fmt: skip
    summ = _section(path.read_text(encoding="utf-8"), "summary")
    assert "free run from 2012-01" in summ and "was filtered on a grid of" in summ


def _copy_with(src: Path, folder: Path, *, cells: int = 0, data_hash: str = "") -> Path:
    folder.mkdir()
    for f in FILES.values():
        (folder / f).write_bytes((src / f).read_bytes())
    meta = json.loads((folder / FILES["summary"]).read_text())
    meta["cells"] = int(meta["cells"]) + cells
    meta["data_hash"] = data_hash or meta["data_hash"]
    (folder / FILES["summary"]).write_text(json.dumps(meta))
    return folder


def test_a_folder_filtered_on_other_data_is_used_and_said(filtered, tmp_path):
    from sahelsim.data.store.store import Store

    _, _, _, out, store_path = filtered
    rec = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert rec["projection_caveat"] is None  # the folder matches the store's data
    folder = _copy_with(out / "assimilate", tmp_path / "assimilate", data_hash="0" * 64)
    with Store(store_path) as st:
        path = build_report(st, data_dir=None, out=tmp_path / "o", members=3, claims=CLAIMS,
                            scenarios=["acceleration"], present_dir=folder)  # fmt: skip
    summ = _section(path.read_text(encoding="utf-8"), "summary")
    assert "from <strong>the filtered ensemble of 2024-12" in summ
    assert "filtered on other observations up to 2024-12 than the store" in summ
    got = json.loads((tmp_path / "o" / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert "other observations" in got["projection_caveat"]


def test_window_words():
    assert window_words(int(month_id(2025, 1))) == ("in 2025", "the end of 2025")
    assert window_words(int(month_id(2025, 4))) == ("2025-04 to 2026-03", "2026-03")


def test_headline_rows_window_not_calendar_year():
    """A start in April sums April to March, not the calendar year."""
    months = np.arange(int(month_id(2025, 4)), int(month_id(2026, 12)) + 1)
    vals = np.ones((2, len(months), 3))
    vals[:, 12:] = 100.0  # months after the window must not count
    ds = xr.Dataset(
        {"deaths_total": (("member", "month", "country"), vals),
         "idps": (("member", "month", "country"), np.cumsum(vals, axis=1))},
        coords={"member": [0, 1], "month": months, "country": ["MLI", "BFA", "NER"]},
    )  # fmt: skip
    rows = {r["region"]: r for r in headline_rows(ds, int(months[0]))}
    assert rows["MLI"]["deaths_median"] == 12.0 and rows["AES"]["deaths_median"] == 36.0
    assert rows["NER"]["idps_median"] == 12.0
    assert headline_rows(ds.isel(month=slice(0, 6)), int(months[0])) == []
