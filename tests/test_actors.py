"""Tests for the actor map (sahelsim.actors and resources/actors.toml)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sahelsim.core.errors import InputFormatError
from sahelsim.evidence.actors import (
    ACTOR_CLASSES,
    CLASSIFY_COLUMNS,
    SIDES,
    UNMATCHED,
    load_actor_map,
    normalise_name,
)
from sahelsim.evidence.dyads import (
    classify_ucdp_dyads,
    perpetrator_class,
    split_dyad,
    split_side,
    ucdp_dyad_actor_names,
)

DATA_DIR = Path(os.environ.get("SAHELSIM_DATA", Path(__file__).parents[2] / "shared" / "data"))
UCDP_ACTORS = DATA_DIR / "ucdp-actor-v22.1" / "ucdp_actor_v22_1_westafrica.csv.gz"
UCDP_CY = DATA_DIR / "ucdp-organized-violence-cy-v25.1" / "ucdp_orgvio_cy_v25_1_westafrica.csv.gz"


def _needs(path: Path, what: str):
    """Mark a test as needing a staged data file; skip it with the reason when absent."""

    def deco(fn):
        skip = pytest.mark.skipif(
            not path.exists(), reason=f"{what} not found at {path} (set SAHELSIM_DATA)"
        )
        return pytest.mark.realdata(skip(fn))

    return deco


needs_actor_file = _needs(UCDP_ACTORS, "UCDP actor list v22.1")
needs_cy_file = _needs(UCDP_CY, "UCDP country-year v25.1")

BRIEF_IDS = {
    "jnim",
    "jnim_ansar_dine",
    "jnim_katiba_macina",
    "jnim_al_mourabitoun",
    "jnim_aqim_sahara",
    "is_sahel",
    "jihadist_other",
    "state_mli",
    "state_bfa",
    "state_ner",
    "state_other",
    "militia_state",
    "armed_group_other",
    "russia",
    "france",
    "minusma",
    "g5_sahel_joint_force",
    "other_foreign",
    "civilians",
    "unknown",
}


@pytest.fixture(scope="module")
def amap():
    return load_actor_map()


# -- the packaged map ----------------------------------------------------------------------------


def test_default_map_loads_with_the_expected_actors(amap):
    assert set(amap.actors) >= BRIEF_IDS
    for a in amap.actors.values():
        assert a.actor_class in ACTOR_CLASSES
        assert a.side in SIDES
    components = {a.id for a in amap.actors.values() if a.parent == "jnim"}
    assert components == {
        "jnim_ansar_dine",
        "jnim_katiba_macina",
        "jnim_al_mourabitoun",
        "jnim_aqim_sahara",
    }
    assert amap.actors["russia"].actor_class == "russia"
    assert amap.actors["militia_state"].actor_class == "state_aligned_militia"
    assert amap.actors["civilians"].side == "civilian"
    assert amap.actors["jihadist_other"].actor_class == "jihadist"
    assert amap.actors["jihadist_other"].parent is None  # Ansarul Islam is not a JNIM component


def test_every_rule_has_sources_and_is_anchored(amap):
    frame = amap.to_frame()
    assert list(frame.columns) == [
        "rule",
        "pattern",
        "actor",
        "class",
        "side",
        "parent",
        "source",
        "note",
    ]
    assert (frame["source"].str.len() > 10).all()
    assert frame["rule"].tolist() == list(range(len(frame)))
    assert all(p.startswith("^") for p in frame["pattern"])
    assert load_actor_map() is amap  # the default map is cached


# -- real UCDP names -------------------------------------------------------------------------------

#: UCDP actor names by their expected (actor, class, side, parent).
UCDP_EXPECTED_BY_ACTOR = {
    ("jnim", "jihadist", "insurgent", None): ["JNIM"],
    ("is_sahel", "jihadist", "insurgent", None): ["IS"],
    ("state_mli", "state", "government_side", None): ["Government of Mali"],
    ("state_bfa", "state", "government_side", None): ["Government of Burkina Faso"],
    ("state_ner", "state", "government_side", None): ["Government of Niger"],
    ("state_other", "state", "government_side", None): [
        "Government of Nigeria",
        "Government of Benin",
    ],
    ("france", "external", "government_side", None): ["Government of France"],
    ("jnim_ansar_dine", "jihadist", "insurgent", "jnim"): ["Ansar Dine"],
    ("jnim_al_mourabitoun", "jihadist", "insurgent", "jnim"): [
        "MUJAO",
        "al-Murabitun",
        "Signed-in-Blood Battalion",
    ],
    ("jnim_aqim_sahara", "jihadist", "insurgent", "jnim"): ["AQIM"],
    ("jnim_katiba_macina", "jihadist", "insurgent", "jnim"): ["FLM"],
    ("jihadist_other", "jihadist", "insurgent", None): ["Ansaroul Islam"],
    ("militia_state", "state_aligned_militia", "government_side", None): [
        "Dan na Ambassagou",
        "Koglweogo",
        "Dozos (Mali)",
    ],
    ("armed_group_other", "armed_group", "other", None): ["CMA", "GATIA", "MSA", "MPGK "],
    ("other_foreign", "external", "government_side", None): [
        "Government of United States of America"
    ],
}
UCDP_EXPECTED = {n: v for v, names in UCDP_EXPECTED_BY_ACTOR.items() for n in names}


@needs_actor_file
def test_real_ucdp_actor_names(amap):
    actors = pd.read_csv(UCDP_ACTORS)
    out = amap.classify(actors["NameData"])
    assert len(out) == len(actors)
    got = out.drop_duplicates("raw_name").set_index("raw_name")
    for name, (actor, klass, side, parent) in UCDP_EXPECTED.items():
        row = got.loc[name]
        assert (row["actor"], row["actor_class"], row["side"]) == (actor, klass, side), name
        assert (row["parent"] if isinstance(row["parent"], str) else None) == parent, name


@needs_actor_file
def test_ucdp_actors_located_only_in_the_core_are_all_matched(amap):
    """Every UCDP actor whose GWNOLoc lies only in Mali, Burkina Faso or Niger is mapped."""
    actors = pd.read_csv(UCDP_ACTORS)
    core = {"432", "439", "436"}
    only_core = actors["GWNOLoc"].map(lambda s: set(str(s).replace(" ", "").split(",")) <= core)
    assert amap.unmatched(actors.loc[only_core, "NameData"]) == []


@needs_cy_file
def test_ucdp_country_year_dyads_for_the_core_are_all_matched(amap):
    cy = pd.read_csv(UCDP_CY)
    core = cy[cy["iso3"].isin(["MLI", "BFA", "NER"])]
    cells = pd.concat(
        [core[c] for c in ("sb_dyad_names_cy", "ns_dyad_names_cy", "os_dyad_names_cy")]
    )
    names = ucdp_dyad_actor_names(cells)
    assert "Government of Russia (Soviet Union)" in names
    assert "Civilians" in names
    assert amap.unmatched(names) == []
    out = classify_ucdp_dyads(cells, actor_map=amap).drop_duplicates("raw_name")
    by_name = out.set_index("raw_name")["actor"]
    assert by_name["Government of Russia (Soviet Union)"] == "russia"
    assert by_name["Civilians"] == "civilians"
    assert by_name["FLA"] == "armed_group_other"


@needs_cy_file
def test_unmatched_names_outside_the_core_are_reported_not_dropped(amap):
    cy = pd.read_csv(UCDP_CY)
    nga = cy[cy["iso3"] == "NGA"]
    names = ucdp_dyad_actor_names(nga["ns_dyad_names_cy"])
    out = amap.classify(names)
    assert len(out) == len(names)
    unmatched = amap.unmatched(names)
    assert "Tiv" in unmatched and "Jukun" in unmatched  # Nigerian communal actors: out of scope
    assert set(out.loc[out["actor"] == UNMATCHED, "raw_name"]) == set(unmatched)
    assert (out.loc[out["actor"] == UNMATCHED, "actor_class"] == UNMATCHED).all()


# -- ACLED-style strings ---------------------------------------------------------------------------

ACLED_EXPECTED = [
    ("JNIM: Group for Support of Islam and Muslims", "jnim"),
    ("Islamic State (Greater Sahara)", "is_sahel"),
    ("Islamic State Sahel Province", "is_sahel"),
    ("Islamic State (West Africa)", "jihadist_other"),
    ("Military Forces of Mali (2021-)", "state_mli"),
    ("Police Forces of Mali (2013-)", "state_mli"),
    ("Military Forces of Burkina Faso (2022-)", "state_bfa"),
    ("Police Forces of Burkina Faso", "state_bfa"),
    ("Military Forces of Niger (2023-)", "state_ner"),
    ("VDP: Volunteers for the Defense of the Homeland", "militia_state"),
    ("Koglweogo Militia", "militia_state"),
    ("Dan Na Ambassagou", "militia_state"),
    (
        "MINUSMA: United Nations Multidimensional Integrated Stabilization Mission in Mali (2013-)",
        "minusma",
    ),
    ("Operation Barkhane", "france"),
    ("Wagner Group", "russia"),
    ("Africa Corps", "russia"),
    ("G5 Sahel Joint Force (2017-)", "g5_sahel_joint_force"),
    ("Civilians (Mali)", "civilians"),
    ("Fulani Ethnic Militia (Mali)", "communal_militia"),
    ("Unidentified Armed Group (Burkina Faso)", "unknown"),
    ("Mutiny of Military Forces of Mali (2020)", "armed_group_other"),
    ("Katiba Macina", "jnim_katiba_macina"),
]


@pytest.mark.parametrize(("name", "actor"), ACLED_EXPECTED)
def test_acled_style_strings(amap, name, actor):
    assert amap.match(name) == actor


@pytest.mark.realdata
def test_acled_notes_strings_are_covered(amap):
    """Every quoted actor string in ACLED_COLUMNS.md's Sahel list maps to a model actor."""
    notes = DATA_DIR / "acled-notes" / "ACLED_COLUMNS.md"
    if not notes.exists():
        pytest.skip(f"ACLED notes not found at {notes} (set SAHELSIM_DATA)")
    text = notes.read_text(encoding="utf-8")
    section = text.split("## Sahel actor strings", 1)[1].split("##", 1)[0]
    names = [n.replace("(...)", "(2021-)") for n in re.findall(r'"([^"]+)"', section)]
    assert len(names) >= 10
    assert amap.unmatched(names) == []


# -- classify() behaviour --------------------------------------------------------------------------


def test_classify_keeps_order_index_and_unmatched_rows(amap):
    s = pd.Series(
        ["JNIM", "Protesters (Mali)", None, "JNIM", "  Civilians   (Mali) "],
        index=[10, 11, 12, 13, 14],
    )
    out = amap.classify(s)
    assert list(out.columns) == list(CLASSIFY_COLUMNS)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out["actor"].tolist()[:2] == ["jnim", UNMATCHED]
    assert pd.isna(out.loc[12, "actor"]) and pd.isna(out.loc[12, "raw_name"])
    assert out.loc[14, "actor"] == "civilians"
    assert out.loc[14, "raw_name"] == "  Civilians   (Mali) "  # raw name kept as given
    assert amap.unmatched(s) == ["Protesters (Mali)"]


def test_classify_accepts_lists_and_arrays(amap):
    names = ["Government of Mali", "Wagner Group", "Nobody"]
    a = amap.classify(names)
    b = amap.classify(np.array(names, dtype=object))
    pd.testing.assert_frame_equal(a, b)
    assert a["actor"].tolist() == ["state_mli", "russia", UNMATCHED]
    with pytest.raises(TypeError):
        amap.classify("JNIM")


def test_niger_and_nigeria_guinea_and_guinea_bissau_are_told_apart(amap):
    assert amap.match("Government of Niger") == "state_ner"
    assert amap.match("Government of Nigeria") == "state_other"
    assert amap.match("Government of Guinea") == "state_other"
    assert amap.match("Government of Guinea-Bissau") == "other_foreign"
    assert amap.match("Ansar Dine") == "jnim_ansar_dine"
    assert amap.match("Ansarul Islam") == "jihadist_other"


def test_normalisation():
    assert (
        normalise_name("  Front de Libération\u00a0du  Macina ") == "Front de Liberation du Macina"
    )
    assert normalise_name("Jama\u2019at") == "Jama'at"


names_strategy = st.lists(
    st.one_of(st.none(), st.text(max_size=30), st.sampled_from([n for n, _ in ACLED_EXPECTED])),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(names_strategy)
def test_classify_never_drops_and_is_consistent(names):
    amap = load_actor_map()
    out = amap.classify(names)
    assert len(out) == len(names)
    blank = [n is None or not n.strip() for n in names]
    assert out["actor"].isna().tolist() == blank
    assert set(out["actor"].dropna()) <= set(amap.actors) | {UNMATCHED}
    for name, actor in zip(names, out["actor"], strict=True):
        if name is not None and name.strip():
            assert amap.match(name) == actor
            if normalise_name(name):  # a name of marks only normalises to "" (= missing)
                assert amap.match(normalise_name(name)) == actor


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_normalise_is_idempotent(text):
    once = normalise_name(text)
    assert normalise_name(once) == once


# -- bad files -------------------------------------------------------------------------------------

GOOD = """
schema_version = 1
[defs]
gov = 'government of '
[[actor]]
id = "jnim"
class = "jihadist"
side = "insurgent"
label = "JNIM"
[[actor]]
id = "jnim_ansar_dine"
class = "jihadist"
side = "insurgent"
parent = "jnim"
label = "Ansar Dine"
[[actor]]
id = "state_mli"
class = "state"
side = "government_side"
label = "Mali"
[[rule]]
actor = "jnim_ansar_dine"
pattern = '^ansar dine\\b'
sources = ["UCDP 1157"]
examples = ["Ansar Dine"]
[[rule]]
actor = "jnim"
pattern = '^jnim\\b'
sources = ["UCDP 6716"]
examples = ["JNIM"]
[[rule]]
actor = "state_mli"
pattern = '^${gov}mali\\b'
sources = ["UCDP 72"]
examples = ["Government of Mali"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "actors.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_small_valid_file_loads(tmp_path):
    m = load_actor_map(_write(tmp_path, GOOD))
    assert m.match("Government of Mali (2021-)") == "state_mli"
    assert m.match("Ansar Dine") == "jnim_ansar_dine"
    assert m.actors["jnim_ansar_dine"].parent == "jnim"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('class = "state"', 'class = "government"', r"id='state_mli'.*Input should be"),
        ('side = "insurgent"\nlabel = "JNIM"', 'side = "rebel"\nlabel = "JNIM"', r"id='jnim'"),
        ('id = "state_mli"', 'id = "jnim"', r"duplicate actor id 'jnim'"),
        ('parent = "jnim"', 'parent = "aqim"', r"parent 'aqim' is not another actor id"),
        ("pattern = '^jnim\\b'", "pattern = '^jnim(\\b'", r"actor='jnim'.*bad regular expression"),
        ('actor = "jnim"\n', 'actor = "isis"\n', r"unknown actor 'isis'"),
        ("${gov}", "${govt}", r"undefined \[defs\] entry 'govt'"),
        (
            "pattern = '^ansar dine\\b'",
            "pattern = '^ansar din\\b'",
            r"example 'Ansar Dine' matches no rule",
        ),
        ('id = "jnim"\n', 'id = "unmatched"\n', r"reserved"),
        ("schema_version = 1", "schema_version = 2", r"top level"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, old, new, message):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    with pytest.raises(InputFormatError, match=message) as info:
        load_actor_map(_write(tmp_path, text))
    assert str(tmp_path / "actors.toml") in str(info.value)


def test_ordering_conflict_names_both_rules(tmp_path):
    # a general JNIM-ish rule placed before the specific Ansar Dine rule swallows its example
    text = GOOD.replace(
        '[[rule]]\nactor = "jnim_ansar_dine"',
        "[[rule]]\nactor = \"jnim\"\npattern = '^ansar'\nsources = ['x']\n\n[[rule]]\n"
        'actor = "jnim_ansar_dine"',
        1,
    )
    with pytest.raises(InputFormatError, match=r"classified by \[\[rule\]\] #1 as 'jnim'"):
        load_actor_map(_write(tmp_path, text))


def test_toml_syntax_error(tmp_path):
    with pytest.raises(InputFormatError, match="invalid TOML"):
        load_actor_map(_write(tmp_path, GOOD + "\n[[rule]\n"))


def test_missing_file(tmp_path):
    with pytest.raises(InputFormatError, match="cannot read"):
        load_actor_map(tmp_path / "nope.toml")


# -- dyads -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dyad", "expected"),
    [
        ("Government of Mali - JNIM", ("Government of Mali", "JNIM")),
        ("IS - JNIM", ("IS", "JNIM")),
        ("JNIM - Civilians", ("JNIM", "Civilians")),
        ("GATIA, MSA - IS", ("GATIA, MSA", "IS")),
        ("Government of Mali - CM-FPR", ("Government of Mali", "CM-FPR")),
        ("Signed-in-Blood Battalion - Civilians", ("Signed-in-Blood Battalion", "Civilians")),
        ("Ikot-Offiong  - Oku Iboku", ("Ikot-Offiong", "Oku Iboku")),
        ("MPGK  - Civilians", ("MPGK", "Civilians")),
        ("NO_DYAD", ("", "")),
        ("", ("", "")),
    ],
)
def test_split_dyad(dyad, expected):
    assert split_dyad(dyad) == expected


#: Dyads in which a side's own name contains the " - " separator.
SEPARATOR_IN_A_NAME = {
    "MFDC - FN - Civilians": ("MFDC - FN", "Civilians"),
    "FRCI - FN - IC": ("FRCI", "FN - IC"),
    "ULIMO - K - Civilians": ("ULIMO - K", "Civilians"),
    "MFDC Front Nord - MD - MFDC - S": ("MFDC Front Nord - MD", "MFDC - S"),
    "GIA - El Ahd Battalion - GIA - El Khadra Battalion": (
        "GIA - El Ahd Battalion",
        "GIA - El Khadra Battalion",
    ),
    "Government of Mali, Government of Russia (Soviet Union) - Civilians": (
        "Government of Mali, Government of Russia (Soviet Union)",
        "Civilians",
    ),
}


@pytest.mark.parametrize(("dyad", "expected"), SEPARATOR_IN_A_NAME.items())
def test_split_dyad_when_a_side_name_contains_the_separator(dyad, expected):
    assert split_dyad(dyad) == expected


def test_split_dyad_rejects_non_dyads_and_uses_known_names():
    with pytest.raises(ValueError, match="no ' - ' separator"):
        split_dyad("Government of Mali")
    assert split_dyad("Katiba X - Y - Civilians", known=["Katiba X - Y"]) == (
        "Katiba X - Y",
        "Civilians",
    )
    assert split_dyad("A - B - C", known=["B - C"]) == ("A", "B - C")
    assert split_side("GATIA , MSA") == ["GATIA", "MSA"]


def test_classify_ucdp_dyads_explodes_lists(amap):
    cells = pd.Series(["GATIA, MSA - IS; IS - JNIM", "NO_DYAD", None], index=["a", "b", "c"])
    out = classify_ucdp_dyads(cells, actor_map=amap)
    assert out["cell"].tolist() == ["a"] * 5
    assert out["dyad_no"].tolist() == [0, 0, 0, 1, 1]
    assert out["dyad_side"].tolist() == ["a", "a", "b", "a", "b"]
    assert out["raw_name"].tolist() == ["GATIA", "MSA", "IS", "IS", "JNIM"]
    assert out["actor"].tolist() == [
        "armed_group_other",
        "armed_group_other",
        "is_sahel",
        "is_sahel",
        "jnim",
    ]
    assert ucdp_dyad_actor_names(cells) == ["GATIA", "IS", "JNIM", "MSA"]


def test_perpetrator_class(amap):
    side_a = pd.Series(
        ["JNIM", "Government of Mali", "Civilians (Mali)", "IS", None], index=[5, 6, 7, 8, 9]
    )
    side_b = ["Civilians", "JNIM", "Wagner Group", "Government of Niger", "Civilians"]
    tov = [3, 1, 3, 1, 3]
    out = perpetrator_class(side_a, side_b, tov, actor_map=amap)
    assert out.name == "perpetrator"
    assert list(out.index) == [5, 6, 7, 8, 9]
    assert out.tolist() == ["jihadist", "jihadist vs state", "russia", "jihadist vs state", "none"]
    with pytest.raises(ValueError, match="lengths differ"):
        perpetrator_class(["JNIM"], ["IS", "IS"], [1], actor_map=amap)
