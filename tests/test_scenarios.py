"""Scenario files: loading, validation, lever series, ramps, safety, diff and overrides."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sahelsim.core.canon import CORE_ISO3, month_id
from sahelsim.core.errors import SahelsimError
from sahelsim.scenarios.scenario import (
    ARTICLE_SECTIONS,
    DEFAULT_LEVERS,
    LEVER_SPECS,
    LeverChange,
    Scenario,
    ScenarioError,
    default_at,
    list_scenarios,
    load_scenario,
)

SHIPPED = ("acceleration", "accommodation", "consolidation", "coup", "ct_success", "decapitation",
           "intervention")  # fmt: skip
SECTION_OF = {
    "acceleration": "Three Futures (first path",
    "accommodation": "Three Futures (second path",
    "ct_success": "Three Futures (third path",
    "consolidation": "What Comes After (first possibility",
    "coup": "What Comes After (second possibility",
    "intervention": "What Comes After (third possibility",
    "decapitation": "The Jihadist Adaptation",
}
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_26e342f7357a83bf.txt"
NUMERIC = [n for n, s in LEVER_SPECS.items() if s.kind in ("float", "impulse")]

HEADER = """
name = "probe"
title = "Probe"
description = "A test scenario."
article_section = "Three Futures"
"""


def _write(tmp_path: Path, body: str, name: str = "probe.toml") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def _scenario(changes=(), baseline=None) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "probe",
            "title": "Probe",
            "description": "A test scenario.",
            "article_section": "What Comes After",
            "baseline": baseline or {},
            "changes": list(changes),
        }
    )


def _at(series: np.ndarray, start: int, year: int, month: int) -> np.ndarray:
    return series[int(month_id(year, month)) - start]


# -- shipped scenarios ----------------------------------------------------------------------------


def test_list_scenarios_returns_the_shipped_ones():
    assert list_scenarios() == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_loads_and_is_a_projection(name):
    s = load_scenario(name)
    assert s.name == name
    assert s.title and s.description.strip()
    heading = s.article_section.replace("\u2019", "'")
    # the futures of the article, and one test of its claim that the franchise survives the
    # loss of leaders
    assert heading.startswith(SECTION_OF[name]), heading
    for c in s.changes:
        assert c.month_id >= month_id(2025, 1), f"{name}: {c.date} is before 2025-01"
        assert c.note.strip()
    series = s.lever_series(int(month_id(2012, 1)), 20 * 12)
    assert set(series) == set(NUMERIC)
    for lever, arr in series.items():
        lo, hi = LEVER_SPECS[lever].bounds
        assert arr.shape == (240, 3)
        assert arr.dtype == np.float64
        assert np.all((arr >= lo) & (arr <= hi)), lever


def test_shipped_scenarios_load_by_path_too():
    s = load_scenario("coup")
    path = Path(__file__).resolve().parents[1] / "src/sahelsim/resources/scenarios/coup.toml"
    assert load_scenario(path) == s
    assert load_scenario(str(path)) == s


@pytest.mark.skipif(not SEED.is_file(), reason="seed article absent")
@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_text_paraphrases_the_article(name):
    """No run of 8 words from the article appears verbatim in a scenario's prose."""

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "'"))

    art = words(SEED.read_text(encoding="utf-8"))
    shingles = {tuple(art[i : i + 8]) for i in range(len(art) - 7)}
    s = load_scenario(name)
    texts = [s.title, s.description, s.horizon_note or "", *(c.note for c in s.changes)]
    for text in texts:
        w = words(text)
        copied = [
            " ".join(w[i : i + 8]) for i in range(len(w) - 7) if tuple(w[i : i + 8]) in shingles
        ]
        assert not copied, copied


# -- lever specifications and defaults ------------------------------------------------------------


def test_lever_specs_are_complete_and_consistent():
    assert set(DEFAULT_LEVERS) == set(LEVER_SPECS)
    for name, spec in LEVER_SPECS.items():
        assert spec.name == name
        assert spec.unit and spec.description and spec.source
        assert spec.article_section in ARTICLE_SECTIONS
        if spec.bounds:
            defaults = spec.default.values() if isinstance(spec.default, dict) else [spec.default]
            assert all(spec.bounds[0] <= d <= spec.bounds[1] for d in defaults)
        json.dumps(spec.as_dict())
    assert "legitimacy_shock" in LEVER_SPECS
    assert LEVER_SPECS["coup_rule"].choices == ("stay_in_aes", "transition")


@pytest.mark.parametrize("lever", ["russia_personnel", "joint_force", "border_openness"])
def test_default_schedule_ends_at_the_present_defaults(lever):
    for c in CORE_ISO3:
        want = DEFAULT_LEVERS[lever]
        want = want[c] if isinstance(want, dict) else want
        assert default_at(lever, int(month_id(2025, 1)), c) == want


def test_history_is_part_of_the_defaults():
    start = int(month_id(2012, 1))
    s = load_scenario("acceleration")
    ser = s.lever_series(start, 15 * 12)
    jf, bo, ru = ser["joint_force"], ser["border_openness"], ser["russia_personnel"]
    assert np.all(_at(jf, start, 2024, 11) == 0)
    assert np.all(_at(jf, start, 2024, 12) == 5000)
    assert np.all(_at(jf, start, 2025, 1) == 5000)
    assert np.all(_at(bo, start, 2024, 12) == 1.0)
    assert np.all(_at(bo, start, 2025, 1) == 0.4)
    mli, bfa, ner = 0, 1, 2
    assert _at(ru, start, 2021, 11)[mli] == 0 and _at(ru, start, 2021, 12)[mli] == 1000
    assert _at(ru, start, 2022, 12)[mli] == 1000 and _at(ru, start, 2023, 1)[mli] == 2000
    assert _at(ru, start, 2023, 12)[bfa] == 0 and _at(ru, start, 2024, 1)[bfa] == 300
    assert _at(ru, start, 2024, 3)[ner] == 0 and _at(ru, start, 2024, 4)[ner] == 200
    assert np.all(_at(ru, start, 2012, 1) == 0)
    assert np.all(ser["restraint"] == 0) and np.all(ser["governance_investment"] == 0.1)
    assert np.all(ser["negotiation_propensity"] == 0.02) and np.all(ser["legitimacy_shock"] == 0)


def test_acceleration_joint_force_from_a_2024_window():
    start = int(month_id(2024, 11))
    jf = load_scenario("acceleration").lever_series(start, 3)["joint_force"]
    np.testing.assert_array_equal(jf[:, 0], [0, 5000, 5000])


# -- ramps, countries, windows --------------------------------------------------------------------


def test_ramp_is_linear_and_reaches_the_target():
    start = int(month_id(2025, 1))
    neg = load_scenario("accommodation").lever_series(start, 36)["negotiation_propensity"]
    assert np.allclose(_at(neg, start, 2025, 5), 0.02)
    assert np.allclose(_at(neg, start, 2025, 6), 0.02)  # the ramp starts from the value in force
    assert np.allclose(_at(neg, start, 2025, 12), 0.02 + (0.3 - 0.02) / 2)  # halfway
    assert np.all(_at(neg, start, 2026, 6) == 0.3)  # reached exactly R months after
    assert np.all(neg[-1] == 0.3)
    scale = load_scenario("ct_success").lever_series(start, 36)["state_force_scale"]
    assert np.allclose(_at(scale, start, 2026, 1), 1.25)
    assert np.all(_at(scale, start, 2027, 1) == 1.5)


def test_per_country_change_only_affects_its_column():
    start = int(month_id(2025, 1))
    base = _scenario().lever_series(start, 24)
    s = _scenario(
        [{"date": "2025-06", "lever": "restraint", "value": 0.9, "country": "NER", "note": "n"}]
    )
    ser = s.lever_series(start, 24)
    np.testing.assert_array_equal(ser["restraint"][:, :2], base["restraint"][:, :2])
    assert _at(ser["restraint"], start, 2025, 5)[2] == 0.0
    assert _at(ser["restraint"], start, 2025, 6)[2] == 0.9
    sub = s.lever_series(start, 24, countries=("NER", "MLI"))["restraint"]
    np.testing.assert_array_equal(sub, ser["restraint"][:, [2, 0]])
    with pytest.raises(ValueError, match="unknown country"):
        s.lever_series(start, 24, countries=("BEN",))


def test_legitimacy_shock_is_a_one_month_pulse_in_its_country():
    start = int(month_id(2025, 1))
    shock = load_scenario("coup").lever_series(start, 36)["legitimacy_shock"]
    i = int(month_id(2026, 1)) - start
    assert shock[i, 1] == -0.35
    assert np.count_nonzero(shock) == 1
    spread = _scenario(
        [
            {
                "date": "2026-01",
                "lever": "legitimacy_shock",
                "value": -0.4,
                "ramp_months": 4,
                "note": "n",
            }
        ]
    ).lever_series(start, 36)["legitimacy_shock"]
    assert np.allclose(spread[i : i + 4], -0.1) and np.count_nonzero(spread) == 12
    assert np.isclose(spread.sum(axis=0), -0.4).all()


def test_later_change_supersedes_an_ongoing_ramp():
    start = int(month_id(2025, 1))
    s = _scenario(
        [
            {"date": "2025-01", "lever": "inclusion", "value": 1.0, "ramp_months": 10, "note": "a"},
            {"date": "2025-06", "lever": "inclusion", "value": 0.0, "ramp_months": 5, "note": "b"},
        ]
    )
    inc = s.lever_series(start, 24)["inclusion"][:, 0]
    assert np.isclose(inc[5], 0.5)  # 2025-06: the second ramp starts from the value in force
    assert np.isclose(inc[7], 0.5 * (1 - 2 / 5))
    assert np.all(inc[10:] == 0.0)


def test_series_do_not_depend_on_the_window_start():
    for name in SHIPPED:
        s = load_scenario(name)
        long = s.lever_series(int(month_id(2012, 1)), 25 * 12)
        late_start = int(month_id(2025, 9))
        short = s.lever_series(late_start, 60)
        off = late_start - int(month_id(2012, 1))
        for lever in NUMERIC:
            np.testing.assert_array_equal(short[lever], long[lever][off : off + 60], err_msg=lever)


def test_baseline_value_is_constant_and_replaces_the_default_schedule():
    start = int(month_id(2012, 1))
    s = _scenario(baseline={"russia_personnel": {"BFA": 1000}, "restraint": 0.3})
    ser = s.lever_series(start, 180)
    assert np.all(ser["russia_personnel"][:, 1] == 1000)
    assert _at(ser["russia_personnel"], start, 2021, 11)[0] == 0  # MLI keeps its schedule
    assert _at(ser["russia_personnel"], start, 2023, 1)[0] == 2000
    assert np.all(ser["restraint"] == 0.3)


def test_flags_switches_and_flag_series():
    start = int(month_id(2026, 1))
    s = _scenario(
        [
            {"date": "2027-01", "lever": "alliance_expansion", "value": True, "note": "n"},
            {"date": "2027-06", "lever": "coup_rule", "value": "transition", "note": "n"},
        ]
    )
    assert s.flags == {"coup_rule": "transition", "alliance_expansion": True}
    assert s.switches(int(month_id(2026, 12))) == {
        "coup_rule": "stay_in_aes",
        "alliance_expansion": False,
    }
    assert s.switches(int(month_id(2027, 6)))["coup_rule"] == "transition"
    fl = s.flag_series(start, 24)
    assert set(fl) == {"alliance_expansion"}
    assert fl["alliance_expansion"].shape == (24, 3)
    assert np.all(fl["alliance_expansion"][:12] == 0) and np.all(fl["alliance_expansion"][12:] == 1)
    assert load_scenario("acceleration").flags == {
        "coup_rule": "stay_in_aes",
        "alliance_expansion": False,
    }


def test_change_date_formats():
    c = LeverChange(date="2025-06-30", lever="restraint", value=1, note="n")
    assert c.month_id == month_id(2025, 6) and c.value == 1.0 and isinstance(c.value, float)


# -- malformed files ------------------------------------------------------------------------------

CHANGE = '[[changes]]\ndate = "2025-06"\nlever = "restraint"\nvalue = 0.5\nnote = "n"\n'

BAD = {
    "unknown_lever": (
        '[[changes]]\ndate = "2025-06"\nlever = "drones"\nvalue = 1\nnote = "n"\n',
        ["changes[0].lever", "unknown lever 'drones'", "russia_personnel", "restraint"],
    ),
    "out_of_range": (
        CHANGE * 2 + '[[changes]]\ndate = "2025-06"\nlever = "russia_personnel"\ncountry = "MLI"\n'
        'value = 25000\nnote = "n"\n',
        ["changes[2].value", "russia_personnel", "0..20000", "persons per country"],
    ),
    "out_of_range_baseline": (
        "[baseline]\nrestraint = 1.5\n",
        ["baseline.restraint", "'restraint'", "0..1", "unit:"],
    ),
    "out_of_range_baseline_country": (
        "[baseline]\nstate_force_scale = { BFA = 9 }\n",
        ["baseline.state_force_scale.BFA", "0.2..5", "multiplier"],
    ),
    "bad_date": (
        CHANGE.replace("2025-06", "June 2025"),
        ["changes[0].date", "'June 2025'", "YYYY-MM"],
    ),
    "bad_month": (CHANGE.replace("2025-06", "2025-13"), ["changes[0].date", "month"]),
    "bad_day": (CHANGE.replace("2025-06", "2025-02-30"), ["changes[0].date"]),
    "extra_key": (CHANGE + 'colour = "red"\n', ["changes[0].colour", "unknown key"]),
    "extra_top_key": ("[extras]\nx = 1\n", ["extras", "unknown key"]),
    "unknown_country": (
        CHANGE + 'country = "BEN"\n',
        ["changes[0].country", "unknown country 'BEN'", "MLI, BFA, NER"],
    ),
    "country_on_alliance_lever": (
        '[[changes]]\ndate = "2025-06"\nlever = "joint_force"\ncountry = "MLI"\nvalue = 100\n'
        'note = "n"\n',
        ["changes[0].country", "alliance-wide"],
    ),
    "missing_note": (CHANGE.replace('note = "n"\n', ""), ["changes[0].note", "missing"]),
    "negative_ramp": (CHANGE + "ramp_months = -1\n", ["changes[0].ramp_months"]),
    "float_ramp": (CHANGE + "ramp_months = 1.5\n", ["changes[0].ramp_months"]),
    "ramped_switch": (
        '[[changes]]\ndate = "2025-06"\nlever = "coup_rule"\nvalue = "transition"\n'
        'ramp_months = 3\nnote = "n"\n',
        ["changes[0].ramp_months", "switch"],
    ),
    "bad_enum": (
        '[[changes]]\ndate = "2025-06"\nlever = "coup_rule"\nvalue = "democracy"\nnote = "n"\n',
        ["changes[0].value", "'stay_in_aes' | 'transition'"],
    ),
    "bool_for_number": (CHANGE.replace("value = 0.5", "value = true"), ["changes[0].value"]),
    "string_number": (CHANGE.replace("value = 0.5", 'value = "0.5"'), ["changes[0].value"]),
    "nan": (CHANGE.replace("value = 0.5", "value = nan"), ["changes[0].value", "0..1"]),
    "pulse_in_baseline": ("[baseline]\nlegitimacy_shock = -0.2\n", ["baseline.legitimacy_shock"]),
    "yaml_tag": (
        CHANGE.replace("value = 0.5", "value = \"!!python/object/apply:os.system ['x']\""),
        ["changes[0].value", "needs a number"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_file_raises_a_clean_scenario_error(tmp_path, case):
    body, expected = BAD[case]
    path = _write(tmp_path, body, name=f"{case}.toml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert isinstance(info.value, SahelsimError)
    assert f"{case}.toml" in msg
    for text in expected:
        assert text in msg, f"{text!r} not in:\n{msg}"
    assert "Traceback" not in msg and "errors.pydantic.dev" not in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_one_out_of_range_value_gives_exactly_one_problem(tmp_path):
    path = _write(tmp_path, CHANGE.replace("value = 0.5", "value = 7"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("changes[0].value: 7 is out of range")


def test_every_problem_is_reported(tmp_path):
    body = BAD["unknown_lever"][0] + BAD["bad_date"][0] + "[baseline]\nfoo = 1\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, body))
    assert len(info.value.problems) == 3
    assert str(info.value).count("\n  - ") == 3


def test_code_in_a_value_is_never_executed(tmp_path, monkeypatch):
    sentinel = tmp_path / "pwned"
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    payload = f"__import__('os').system('touch {sentinel}')"
    for lever in ("restraint", "coup_rule", "alliance_expansion"):
        body = (
            f'[[changes]]\ndate = "2025-06"\nlever = "{lever}"\nvalue = "{payload}"\nnote = "n"\n'
        )
        with pytest.raises(ScenarioError, match=r"changes\[0\]\.value"):
            load_scenario(_write(tmp_path, body))
    with pytest.raises(ScenarioError, match=r"baseline\.restraint"):
        load_scenario(_write(tmp_path, f'[baseline]\nrestraint = "{payload}"\n'))
    with pytest.raises(ScenarioError, match=r"lever"):
        load_scenario(
            _write(tmp_path, f'[[changes]]\ndate = "2025-06"\nlever = "{payload}"\nvalue = 1\n')
        )
    assert not calls and not sentinel.exists()


def test_toml_syntax_error_and_missing_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('name = "x\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken\.toml.*\n.*not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")
    with pytest.raises(ScenarioError, match="no shipped scenario 'utopia'"):
        load_scenario("utopia")


def test_article_section_must_be_a_heading(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(HEADER.replace("Three Futures", "Chapter 9") + CHANGE, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"article_section.*What Comes After"):
        load_scenario(path)
    ok = HEADER.replace("Three Futures", "Fragmentation\u2019s Feedback Loops")
    path.write_text(ok, encoding="utf-8")
    assert load_scenario(path).article_section.startswith("Fragmentation")


def test_toml_local_date_is_accepted(tmp_path):
    body = CHANGE.replace('date = "2025-06"', "date = 2025-06-15")
    s = load_scenario(_write(tmp_path, body))
    assert s.changes[0].date == "2025-06-15" and s.changes[0].month_id == month_id(2025, 6)


# -- diff and overrides ---------------------------------------------------------------------------


def test_diff():
    acc = load_scenario("acceleration")
    assert acc.diff(acc) == []
    lines = acc.diff(load_scenario("ct_success"))
    levers = {line.split()[0] for line in lines}
    assert levers == {
        "restraint",
        "governance_investment",
        "inclusion",
        "external_monitors",
        "state_force_scale",
    }
    assert any("2025-01 all -> 0.8 over 24 months" in line for line in lines)
    coup = load_scenario("coup").diff(acc)
    assert coup == [
        "legitimacy_shock changes: coup 2026-01 BFA -> -0.35 | acceleration none",
    ]
    # an explicit baseline equal to a constant default is no difference
    assert acc.diff(_scenario()) == []


def test_reference_scenario_keeps_every_dated_default_schedule():
    """acceleration is "every lever keeps its default": its baseline may restate constant
    defaults but must not flatten a dated schedule (Serval/Barkhane, the northern accords, the
    Russian arrivals), or its 2012 spin-up would run another history than the other scenarios."""
    start, n = int(month_id(2012, 1)), 14 * 12
    acc = load_scenario("acceleration").lever_series(start, n)
    default = _scenario().lever_series(start, n)
    for name in NUMERIC:
        np.testing.assert_array_equal(acc[name], default[name], err_msg=name)
    mli, ner = CORE_ISO3.index("MLI"), CORE_ISO3.index("NER")
    iv = acc["intervention_force"]
    assert _at(iv, start, 2012, 6)[mli] == 0 and _at(iv, start, 2013, 6)[mli] == 4000  # Serval
    assert _at(iv, start, 2016, 1)[ner] == 1000 and _at(iv, start, 2023, 1)[mli] == 0  # Barkhane
    na = acc["northern_accord"]
    assert _at(na, start, 2016, 1)[mli] == 1.0 and _at(na, start, 2024, 1)[mli] == 0.0


def test_with_overrides_baseline():
    acc = load_scenario("acceleration")
    new = acc.with_overrides(restraint=0.6, russia_personnel={"MLI": 500})
    assert new is not acc and acc.baseline["restraint"] == 0.0
    assert new.baseline["restraint"] == 0.6
    start = int(month_id(2025, 1))
    ser = new.lever_series(start, 12)
    assert np.all(ser["restraint"] == 0.6)
    assert np.all(ser["russia_personnel"][:, 0] == 500)
    assert np.all(ser["russia_personnel"][:, 1] == 300)
    lines = acc.diff(new)
    assert len(lines) == 2 and any(line.startswith("restraint baseline") for line in lines)


def test_with_overrides_effective_keeps_history():
    acc = load_scenario("acceleration")
    new = acc.with_overrides(effective="2026-01", joint_force=12000)
    start = int(month_id(2024, 1))
    jf = new.lever_series(start, 36)["joint_force"][:, 0]
    assert _at(jf, start, 2024, 11) == 0 and _at(jf, start, 2025, 12) == 5000
    assert _at(jf, start, 2026, 1) == 12000


@pytest.mark.parametrize(
    ("levers", "expected"),
    [
        ({"restraint": 2.0}, ["baseline.restraint", "0..1"]),
        ({"russia_personnel": {"MLI": -5}}, ["baseline.russia_personnel.MLI", "0..20000"]),
        ({"warp_drive": 1}, ["baseline.warp_drive", "unknown lever"]),
        ({"coup_rule": "anarchy"}, ["baseline.coup_rule", "transition"]),
    ],
)
def test_with_overrides_rejects_bad_values(levers, expected):
    with pytest.raises(ScenarioError) as info:
        load_scenario("acceleration").with_overrides(**levers)
    assert len(info.value.problems) == 1
    for text in expected:
        assert text in str(info.value)
    with pytest.raises(ScenarioError, match=r"changes\[0\]"):
        load_scenario("acceleration").with_overrides(effective="2026-01", **levers)


# -- property tests -------------------------------------------------------------------------------


@st.composite
def _changes(draw):
    out = []
    for _ in range(draw(st.integers(0, 8))):
        lever = draw(st.sampled_from(NUMERIC))
        spec = LEVER_SPECS[lever]
        lo, hi = spec.bounds
        change = {
            "date": f"{draw(st.integers(2008, 2032))}-{draw(st.integers(1, 12)):02d}",
            "lever": lever,
            "value": draw(st.floats(lo, hi, allow_nan=False)),
            "ramp_months": draw(st.integers(0, 36)),
            "note": "generated",
        }
        if spec.scope == "country":
            country = draw(st.sampled_from([None, *CORE_ISO3]))
            if country:
                change["country"] = country
        out.append(change)
    return out


@settings(max_examples=150, deadline=None)
@given(
    changes=_changes(),
    start=st.integers(int(month_id(2005, 1)), int(month_id(2035, 1))),
    months=st.integers(0, 120),
)
def test_random_valid_changes_stay_within_bounds(changes, start, months):
    s = _scenario(changes)
    ser = s.lever_series(start, months)
    for lever, arr in ser.items():
        lo, hi = LEVER_SPECS[lever].bounds
        assert arr.shape == (months, 3)
        assert np.all(np.isfinite(arr)) and np.all((arr >= lo) & (arr <= hi)), lever


@settings(max_examples=100, deadline=None)
@given(changes=_changes(), cut=st.integers(1, 200))
def test_random_changes_window_independent_and_reach_targets(changes, cut):
    s = _scenario(changes)
    start = int(month_id(2005, 1))
    months = 35 * 12
    full = s.lever_series(start, months)
    part = s.lever_series(start + cut, months - cut)
    for lever in NUMERIC:
        np.testing.assert_array_equal(part[lever], full[lever][cut:])
    # the last level change of each (lever, column) holds exactly once its ramp has finished
    ordered = sorted(enumerate(s.changes), key=lambda ic: (ic[1].month_id, ic[0]))
    last: dict[tuple[str, int], LeverChange] = {}
    for _, c in ordered:
        if LEVER_SPECS[c.lever].kind != "float":
            continue
        for j in [CORE_ISO3.index(c.country)] if c.country else range(3):
            last[(c.lever, j)] = c
    for (lever, j), c in last.items():
        i = c.month_id + c.ramp_months - start
        if i < months:
            assert np.all(full[lever][i:, j] == c.value)
