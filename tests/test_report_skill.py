"""The report's forecast-skill and filtered-present sections: rendered from backtest and
assimilate folders (a copy of a real 2026-12-01 country-month backtest and a real December-2024
assimilation in tests/fixtures/report_skill), goals that are missed said as plainly as those
met, every data value escaped, the shipped measured copy used (and labelled) when the run has
no backtest, "not measured" when there is neither, and the tool that ships the copy."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import ship_skill  # tools/, on sys.path via conftest

from sahelsim.report.inputs import (
    COMMANDS,
    PROVENANCE_FILE,
    SKILL_COLUMNS,
    load_present,
    load_skill,
    shipped_skill,
)
from sahelsim.report.sections.present import (
    present_counts,
    present_summary_html,
    section_present,
)
from sahelsim.report.sections.skill import section_skill
from sahelsim.report.sections.skill_text import (
    FORECASTER_COLOURS,
    goal_rows,
    skill_counts,
    skill_headline,
    skill_summary_html,
)
from sahelsim.viz.figures import FigureSet

pytest.importorskip("plotly", reason="plotly is needed for the report")

FIX = Path(__file__).parent / "fixtures" / "report_skill"
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def cm(tmp_path: Path) -> Path:
    """A writable copy of the country-month backtest tables."""
    return Path(shutil.copytree(FIX / "cm", tmp_path / "backtest_cm"))


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """A shipped-copy folder with nothing in it."""
    (tmp_path / "shipped_empty").mkdir()
    return tmp_path / "shipped_empty"


def _render(skills, folders=None) -> tuple[str, FigureSet]:
    figs = FigureSet()
    folders = folders or dict.fromkeys(skills)
    return section_skill(skills, folders, COMMANDS, figs), figs


def _text(h: str) -> str:
    """The page text a reader sees (tags dropped, entities decoded, spaces collapsed)."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", h)).split())
    return re.sub(r" ([,.;:)])", r"\1", text).replace("( ", "(")


def test_skill_section_renders_from_a_backtest_folder(cm, empty):
    t = load_skill("cm", cm, shipped=empty)
    assert t is not None and t.origin == "run" and not t.problems
    assert set(t.tables) == set(SKILL_COLUMNS)
    h, figs = _render({"cm": t}, {"cm": cm})
    text = _text(h)
    # the fixture's run started from the shipped posterior: said plainly, with the blocks
    assert "The model's parameters were fitted to data of the scored period" in text
    assert "origins 2015-01 to 2016-10 from data of 2012-2014" in text
    # where it came from, and how much was scored
    assert f"From {cm}, written " in text and "by sahelsim backtest --level cm" in text
    assert "24 origins (2015-01 to 2020-10)" in text and "14 horizons (1-14 months ahead)" in text
    assert "3 seeds (0, 1, 2)" in text and "8,829 scored forecasts per forecaster" in text
    assert "9 origin-horizon pairs after the data's last month were dropped" in text
    c = skill_counts(t)
    assert c["origins"] == 24 and c["seeds"] == [0, 1, 2] and c["horizons"] == list(range(1, 15))
    # plain names: forecasters, countries, violence types (never the ids in a cell)
    for name in ("filtered model", "negative binomial", "linear pool", "median ensemble",
                 "last value", "Burkina Faso", "state-based", "non-state", "one-sided"):  # fmt: skip
        assert name in text, name
    for code in ("negbin", "linear_pool", "last_value", "BFA", ">sb<", ">os<"):
        assert f"<td>{code}</td>" not in h and code not in re.sub(r"<[^>]+>", "", h), code
    # the overall table: sorted by CRPS, best bolded
    assert re.search(r"<td>linear pool</td><td>8,829</td><td><strong>11\.43</strong></td>", h)
    assert "<td>filtered model</td><td>8,829</td><td>14.70</td>" in h
    # CRPS by country x type: the best of each row bold (Mali state-based: linear pool 17.0)
    row = re.search(r"<tr><td>Mali</td><td>state-based</td>(.*?)</tr>", h).group(1)
    assert row.count("<strong>") == 1 and "<td><strong>17.0</strong></td>" in row
    # the goals: one met, two missed, said in words
    assert "Goals: 1 of 3 met" in text
    assert h.count('<span class="miss">NOT met</span>') == 2
    assert h.count('<span class="met">met</span>') == 1
    # seed noise: the model's CRPS range over seeds
    assert "11.86 to 19.84" in text and "Seed noise" in text
    # CRPS by horizon: one line per forecaster in its colour, units, source and CSV
    fig = figs.items["skill_cm_horizon"]
    lines = {tr["name"]: tr for tr in fig["data"]}
    assert (
        len(lines) == 8 and lines["filtered model"]["line"]["color"] == FORECASTER_COLOURS["model"]
    )
    assert lines["negative binomial"]["line"]["color"] == FORECASTER_COLOURS["negbin"]
    assert len(set(tr["line"]["color"] for tr in fig["data"])) == 8
    assert list(lines["linear pool"]["x"]) == list(range(1, 15))
    assert "Units: mean CRPS, deaths per country-month" in h and "Source: sahelsim backtest" in h
    csv = figs.csv["skill_cm_horizon"]
    assert csv.startswith("# units: ") and "forecaster_name" in csv and "negative binomial" in csv
    assert len(csv.splitlines()) == 2 + 1 + 8 * 14


def test_headline_and_summary_state_skill_and_goals(cm, empty):
    t = load_skill("cm", cm, shipped=empty)
    h = skill_headline(t)
    assert h["best_baseline"] == "negbin"
    assert h["model_crps"] == pytest.approx(14.698264, rel=1e-6)
    assert h["best_baseline_crps"] == pytest.approx(12.060152, rel=1e-6)
    assert [g["met"] for g in h["goals"]] == [False, True, False]
    s = _text(skill_summary_html({"cm": t, "cy": None}))
    assert "the filtered model's CRPS is 14.70 against 12.06 for the best baseline" in s
    assert "(negative binomial): 22 % worse" in s
    assert s.count("NOT met") == 2 and "Country-year: not measured" in s


def test_a_missed_goal_is_shown_as_plainly_as_a_pass(cm, empty):
    goals = pd.read_csv(cm / "goals.csv")
    goals["met"] = [True, True, False]
    goals.to_csv(cm / "goals.csv", index=False)
    t = load_skill("cm", cm, shipped=empty)
    rows = goal_rows(t)
    assert [r["met"] for r in rows] == [True, True, False]
    assert "15 %" in rows[2]["goal"] and rows[2]["aim"] == "at most 10.25"
    h, _ = _render({"cm": t})
    assert "Goals: 2 of 3 met" in _text(h)
    miss = re.search(r"<tr><td>the best ensemble[^<]*</td>(.*?)</tr>", h).group(1)
    assert '<span class="miss">NOT met</span>' in miss and "11.43" in miss
    summ = skill_summary_html({"cm": t})
    assert summ.count('<span class="miss">NOT met</span>') == 1
    assert summ.count('<span class="met">met</span>') == 2


def test_data_strings_are_escaped(cm, empty):
    for name in ("overall", "scores", "by_horizon", "seed_spread", "goals"):
        df = pd.read_csv(cm / f"{name}.csv")
        df["forecaster"] = df["forecaster"].replace("bootstrap", EVIL)
        if name == "scores":
            df["iso3"] = df["iso3"].replace("NER", EVIL)
            df["target"] = df["target"].replace("ns", EVIL)
        if name == "goals":
            df.loc[0, "goal"] = EVIL
            df.loc[0, "aim"] = EVIL
        df.to_csv(cm / f"{name}.csv", index=False)
    t = load_skill("cm", cm, shipped=empty)
    h, figs = _render({"cm": t})
    summ = skill_summary_html({"cm": t})
    for part in (h, summ):
        assert EVIL not in part and "<script" not in part.lower()
    assert h.count(html.escape(EVIL)) >= 5  # forecaster, country, type, goal, aim
    assert html.escape(EVIL) in summ
    names = {tr["name"] for tr in figs.items["skill_cm_horizon"]["data"]}
    assert html.escape(EVIL, quote=False) in names  # Plotly text escaped too
    assert "<" not in figs.payload()


def test_falls_back_to_the_shipped_copy_with_its_provenance(tmp_path):
    missing = tmp_path / "out" / "backtest_cm"
    t = load_skill("cm", missing)
    assert t is not None and t.origin == "shipped" and not t.problems
    prov = t.provenance
    assert {"command", "commit", "date", "machine", "files"} <= set(prov)
    assert prov["command"].startswith("sahelsim") and "backtest --level cm" in prov["command"]
    # every shipped table is the one measured (its sha256 in the provenance)
    for name, digest in prov["files"].items():
        data = shipped_skill("cm").joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert "forecasts.csv" not in prov["files"] and "scores_by_horizon.csv" not in prov["files"]
    h, figs = _render({"cm": t}, {"cm": missing})
    text = _text(h)
    assert f"Measured on {prov['date']} with {prov['command']}, not re-run for this report" in text
    assert "not re-run" in figs.csv["skill_cm_horizon"].splitlines()[1]
    assert "measured on " in _text(skill_summary_html({"cm": t})).lower()


def test_a_missing_folder_gives_not_measured(tmp_path, empty):
    missing = tmp_path / "out" / "backtest"
    assert load_skill("cy", missing, shipped=empty) is None
    assert load_skill("cy", None, shipped=empty) is None
    h, figs = _render({"cy": None}, {"cy": missing})
    text = _text(h)
    assert "Country-year skill: not measured" in text and f"no {missing}" in text
    assert "run sahelsim backtest --level cy" in text and not figs.items
    assert "Country-year: not measured" in _text(skill_summary_html({"cy": None}))
    with pytest.raises(ValueError, match="level must be one of cm, cy"):
        load_skill("cq", None)


def test_a_bad_table_is_named_and_left_out(cm, empty):
    sc = pd.read_csv(cm / "scores.csv").drop(columns="crps")
    sc.to_csv(cm / "scores.csv", index=False)
    (cm / "by_horizon.csv").write_bytes(b"\xff\xfe\x00not,a\ncsv")
    t = load_skill("cm", cm, shipped=empty)
    assert t is not None and "scores" not in t.tables and "by_horizon" not in t.tables
    h, figs = _render({"cm": t})
    text = _text(h)
    assert f"{cm}/scores.csv: missing column(s) crps" in text
    assert f"{cm}/by_horizon.csv: unreadable" in text
    assert "Goals: 1 of 3 met" in text and "skill_cm_horizon" not in figs.items
    # a run folder whose overall.csv is bad falls back to the shipped copy, saying why
    pd.read_csv(cm / "overall.csv").drop(columns="crps").to_csv(cm / "overall.csv", index=False)
    t2 = load_skill("cm", cm)
    assert t2 is not None and t2.origin == "shipped"
    assert any("overall.csv: missing column(s) crps" in p for p in t2.problems)


def test_the_legacy_verdict_alone_still_gives_the_goals(cm, empty):
    (cm / "goals.csv").unlink()
    t = load_skill("cm", cm, shipped=empty)
    rows = goal_rows(t)
    assert [r["met"] for r in rows] == [False, True, False]
    assert rows[0]["aim"] == "at most 12.06" and rows[2]["aim"] == "at most 10.25"


# -- the filtered present ---------------------------------------------------------------------


def test_present_section_checks_december_against_both_intervals():
    p = load_present(FIX / "present")
    assert p is not None and not p.problems
    counts = present_counts(p)
    assert counts["deaths"] == {"n": 9, "predictive": 8, "filtered": 7}
    assert counts["idps"] == {"n": 3, "predictive": 1, "filtered": 0}
    figs = FigureSet()
    h = section_present(p, FIX / "present", figs)
    text = _text(h)
    assert "Check at 2024-12" in text and "data up to 2024-12" in text
    assert "8 of 9 inside the predictive and 7 of 9 inside the filtered 90 % interval" in text
    rows = re.findall(r"<tr><td>(Mali|Burkina Faso|Niger)</td><td>([^<]+)</td>", h)
    assert len(rows) == 13 and rows[0] == ("Mali", "state-based deaths, 2024")
    assert ("Niger", "internally displaced people, end of 2024") in rows
    niger_ns = re.search(r"<tr><td>Niger</td><td>non-state deaths, 2024</td>(.*?)</tr>", h)
    cells = re.findall(r"<td>(.*?)</td>", niger_ns.group(1))
    assert cells[0] == "40" and cells[1] == "44 to 778" and "no" in cells[2]
    assert "territory held by the state: 1 of 1" in text and "30\u00a0% to 55\u00a0%" in h
    fig = figs.items["present_ess"]
    assert [tr["name"] for tr in fig["data"]] == [
        "effective sample size",
        "unique particles after resampling",
    ]
    assert len(fig["data"][0]["x"]) == 118 and fig["data"][0]["x"][0] == "2012-01-01"
    assert "Units: particles" in h and "Source: sahelsim assimilate" in h
    assert figs.csv["present_ess"].count("\n") == 2 + 1 + 118
    summ = _text(present_summary_html(p))
    assert "check at 2024-12" in summ and "7 of 9 inside the filtered" in summ


def test_present_missing_or_broken(tmp_path):
    assert load_present(tmp_path / "nowhere") is None and load_present(None) is None
    h = section_present(None, tmp_path / "assimilate", FigureSet())
    assert "Filtered present: not run" in _text(h) and "sahelsim assimilate --until" in h
    assert "not run" in present_summary_html(None)
    d = Path(shutil.copytree(FIX / "present", tmp_path / "a"))
    c = pd.read_csv(d / "checks.csv")
    c.loc[c["iso3"] == "MLI", "iso3"] = EVIL
    c.to_csv(d / "checks.csv", index=False)
    (d / "diagnostics.csv").unlink()
    p = load_present(d)
    assert p is not None and any("diagnostics.csv: missing" in x for x in p.problems)
    figs = FigureSet()
    h = section_present(p, d, figs)
    assert EVIL not in h and html.escape(EVIL) in h and "present_ess" not in figs.items
    doc = json.loads((d / "summary.json").read_text())
    doc["until"] = EVIL
    (d / "summary.json").write_text(json.dumps(doc))
    h2 = present_summary_html(load_present(d)) + section_present(load_present(d), d, FigureSet())
    assert EVIL not in h2 and html.escape(EVIL) in h2


# -- the tool that ships a measured copy -------------------------------------------------------


def test_ship_skill_copies_the_summary_tables_with_provenance(tmp_path, cm):
    (cm / "forecasts").mkdir()
    (cm / "forecasts" / "x.parquet").write_bytes(b"x")
    (cm / "forecasts.csv").write_text("a\n1\n")
    dest = tmp_path / "skill"
    (dest / "cm").mkdir(parents=True)
    (dest / "cm" / "stale.csv").write_text("old\n")
    written = ship_skill.ship(cm, "cm", command="sahelsim backtest --level cm --draws 9",
                              commit="abc", machine="test box", dest=dest)  # fmt: skip
    names = sorted(p.name for p in (dest / "cm").iterdir())
    assert names == sorted([*(f"{n}.csv" for n in SKILL_COLUMNS), PROVENANCE_FILE])
    assert len(written) == len(names)
    prov = json.loads((dest / "cm" / PROVENANCE_FILE).read_text())
    assert prov["command"] == "sahelsim backtest --level cm --draws 9"
    assert prov["commit"] == "abc" and prov["machine"] == "test box" and prov["level"] == "cm"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", prov["date"])
    t = load_skill("cm", None, shipped=dest / "cm")
    assert t is not None and t.origin == "shipped" and t.date == prov["date"]
    assert "with sahelsim backtest --level cm --draws 9, not re-run" in _text(_render({"cm": t})[0])
    # a bad table: an error naming the file and the column, nothing written
    before = (dest / "cm" / PROVENANCE_FILE).read_bytes()
    pd.read_csv(cm / "goals.csv").drop(columns="met").to_csv(cm / "goals.csv", index=False)
    with pytest.raises(SystemExit, match=r"goals\.csv: missing column\(s\) met"):
        ship_skill.ship(cm, "cm", command="c", commit="d", machine="m", dest=dest)
    assert (dest / "cm" / PROVENANCE_FILE).read_bytes() == before
    with pytest.raises(SystemExit, match=r"overall\.csv: missing"):
        ship_skill.ship(tmp_path, "cy", command="c", commit="d", machine="m", dest=dest)
    with pytest.raises(SystemExit, match="not a folder"):
        ship_skill.main([str(tmp_path / "nope"), "--level", "cm", "--dest", str(dest)])


def test_an_out_of_sample_setup_carries_no_in_sample_warning(cm, empty, tmp_path):
    folder = tmp_path / "cm"
    shutil.copytree(cm, folder)
    setup = pd.read_csv(folder / "setup.csv")
    setup.loc[setup["item"] == "parameters out of sample", "value"] = "yes"
    setup.to_csv(folder / "setup.csv", index=False)
    text = _text(_render({"cm": load_skill("cm", folder, shipped=empty)})[0])
    assert "fitted to data of the scored period" not in text
    assert "parameters out of sample yes" in text
    (folder / "setup.csv").unlink()
    text = _text(_render({"cm": load_skill("cm", folder, shipped=empty)})[0])
    assert "treat its parameters as possibly in-sample" in text
