"""Event readers on the DuckDB path: GED CSV/zip/gz, UCDP API JSON pages, ACLED CSV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sahelsim.core.errors import InputFormatError
from sahelsim.data.fixtures import (
    ACLED_COLUMNS,
    GED_COLUMNS,
    acled_frame,
    ged_frame,
    write_csv,
    write_ged_api_pages,
)


def _with_bad_ged_rows() -> tuple[pd.DataFrame, dict[int, tuple[str, str]]]:
    f = ged_frame(30, seed=3)
    f.loc[2, "best"] = "-5"
    f.loc[3, "low"] = str(int(f.loc[3, "best"]) + 10)
    f.loc[4, "high"] = "-1"
    f.loc[5, "date_start"] = "2099-01-01 00:00:00.000"
    f.loc[6, "date_start"] = "31/12/2020"
    f.loc[7, "latitude"] = "95.0"
    f.loc[8, "latitude"] = "48.8"  # Paris, far outside
    f.loc[9, "type_of_violence"] = "4"
    f.loc[10, "best"] = "many"
    f.loc[11, "country_id"] = ""
    f.loc[12, "deaths_civilians"] = "-3"
    f.loc[13, "id"] = ""
    expected = {
        2: ("best", "negative fatalities"),
        3: ("low", "low > best"),
        4: ("high", "negative fatalities"),
        5: ("date_start", "date in the future"),
        6: ("date_start", "unparseable date"),
        7: ("latitude", "coordinates outside the world"),
        8: ("latitude", "coordinates far outside"),
        9: ("type_of_violence", "not 1, 2 or 3"),
        10: ("best", "not a number"),
        11: ("country_id", "missing country"),
        12: ("deaths_civilians", "negative or not a number"),
        13: ("id", "missing event id"),
    }
    return f, expected


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".zip"])
def test_ged_csv_quarantine_reasons_and_lines(store, tmp_path, suffix):
    f, expected = _with_bad_ged_rows()
    path = write_csv(f, tmp_path / f"GEDEvent_v25_1{suffix}")
    rep = store.ingest_events(path, fmt="ged_csv", version="25.1")
    assert rep.reconciles()
    assert rep.rows_read == 30
    assert rep.rows_quarantined == len(expected)
    assert rep.rows_accepted == 30 - len(expected)
    assert store.count("events") == 30 - len(expected)
    q = store.quarantine().set_index("line")
    for idx, (field, reason) in expected.items():
        line = idx + 2  # header is line 1
        assert q.loc[line, "field"] == field, idx
        assert reason in q.loc[line, "reason"], (idx, q.loc[line, "reason"])
        raw = json.loads(q.loc[line, "raw"])
        assert set(raw) == set(GED_COLUMNS)  # the whole raw row is kept
        assert (raw["id"] or "") == f.loc[idx, "id"]  # empty fields read as null


def test_ged_structural_rejects_keep_line_numbers(store, tmp_path):
    f = ged_frame(10, seed=4)
    f.loc[6, "best"] = "-1"
    path = write_csv(f, tmp_path / "g.csv")
    lines = path.read_text().splitlines()
    lines.insert(3, "1,2,3")  # becomes line 4: too few fields
    lines.insert(6, lines[6] + ",extra")  # line 7: too many fields
    path.write_text("\n".join(lines) + "\n")
    rep = store.ingest_events(path, fmt="ged_csv")
    assert rep.reconciles() and rep.rows_read == 12
    q = store.quarantine().set_index("line")
    assert "too few fields" in q.loc[4, "reason"]
    assert "too many fields" in q.loc[7, "reason"]
    # row 6 of the frame was line 8; two lines were inserted before it
    assert q.loc[10, "reason"] == "negative fatalities"


def test_reingest_is_noop_and_duplicates_merge(store, tmp_path):
    f = ged_frame(50, seed=5)
    path = write_csv(f, tmp_path / "a.csv")
    r1 = store.ingest_events(path, fmt="ged_csv")
    r2 = store.ingest_events(path, fmt="ged_csv")
    assert not r1.skipped and r2.skipped
    assert store.count("events") == 50
    assert len(store.ledger()) == 1
    # a new release with 10 revised events and 5 new ones: revised rows replace the old
    g = pd.concat([f.iloc[:10].assign(best="7", high="9", low="7"), ged_frame(5, seed=99)])
    g = pd.concat([g, g.iloc[:2]])  # duplicates inside the file too
    r3 = store.ingest_events(write_csv(g, tmp_path / "b.csv"), fmt="ged_csv")
    assert r3.reconciles()
    assert r3.rows_merged == 2 + 10
    assert store.count("events") == 55
    ev = store.sql("SELECT source_event_id, best FROM events")
    revised = ev[ev.source_event_id.isin(f.id.iloc[:10])]
    assert (revised.best == 7).all() and len(revised) == 10


def test_rows_outside_region_are_filtered_not_lost(store, tmp_path):
    f = ged_frame(20, seed=6)
    f.loc[:4, "country_id"] = "100"  # Colombia
    rep = store.ingest_events(write_csv(f, tmp_path / "g.csv"), fmt="ged_csv")
    assert rep.rows_filtered == 5 and rep.rows_accepted == 15 and rep.reconciles()
    led = store.ledger().iloc[0]
    assert led.rows_read == led.rows_accepted + led.rows_quarantined + led.rows_filtered


def test_json_pages_match_csv(store, tmp_path):
    f, expected = _with_bad_ged_rows()
    write_ged_api_pages(f, tmp_path / "pages", pagesize=7)
    rep = store.ingest_events(tmp_path / "pages", fmt="ged_json", source="ucdp_ged_api")
    assert rep.reconciles() and rep.rows_read == 30
    assert rep.rows_quarantined == len(expected) - 1  # '31/12/2020' stays text in JSON too
    q = store.quarantine()
    assert set(q.source_file.map(lambda s: s.rsplit("/", 1)[-1])) <= {
        f"page_{i:04d}.json" for i in range(5)
    }
    # the row with index 2 is on page 0, record 3
    r = q[q.reason == "negative fatalities"].iloc[0]
    assert r.source_file.endswith("page_0000.json") and r.line == 3


def test_json_and_csv_give_same_events(tmp_path):
    from sahelsim.data.store.store import Store

    f = ged_frame(200, seed=8)
    write_ged_api_pages(f, tmp_path / "pages", pagesize=64)
    with Store(tmp_path / "a.duckdb") as a, Store(tmp_path / "b.duckdb") as b:
        a.ingest_events(write_csv(f, tmp_path / "g.csv"), fmt="ged_csv")
        b.ingest_events(tmp_path / "pages", fmt="ged_json", source="ucdp_ged")
        cols = "source_event_id, date_start, iso3, priogrid_gid, type_of_violence, best, low, high"
        qa = a.sql(f"SELECT {cols} FROM events ORDER BY source_event_id")
        qb = b.sql(f"SELECT {cols} FROM events ORDER BY source_event_id")
    pd.testing.assert_frame_equal(qa, qb)


def test_acled_mapping_and_checks(store, tmp_path):
    f = acled_frame(40, seed=2)
    f.loc[0, "fatalities"] = "-2"
    f.loc[1, "event_date"] = "2031-05-01"
    f.loc[2, "latitude"] = "not-a-lat"
    f.loc[3, "iso"] = "250"  # France: filtered
    f.loc[3, "country"] = "France"
    f.loc[4, "event_date"] = "12 January 2020"  # older HDX format is accepted
    rep = store.ingest_events(write_csv(f, tmp_path / "acled.csv"), fmt="acled_csv")
    assert rep.reconciles()
    assert (rep.rows_quarantined, rep.rows_filtered, rep.rows_accepted) == (3, 1, 36)
    ev = store.sql("SELECT * FROM events")
    assert not ev.fatalities_reliable.any()  # ACLED fatalities are flagged
    vac = ev[ev.event_type == "Violence against civilians"]
    assert (vac.type_of_violence == 3).all()
    assert (vac.deaths_civilians == vac.best).all()
    bat = ev[(ev.event_type == "Battles") & ev.side_a.str.startswith("Military Forces")]
    assert (bat[~bat.side_b.str.startswith("Civilians")].type_of_violence == 1).all()
    assert pd.Timestamp("2020-01-12") in set(ev.date_start)
    assert set(ev.iso3) <= {"MLI", "BFA", "NER"}


def test_acled_numeric_inter_codes_and_hxl_free(store, tmp_path):
    f = acled_frame(10, seed=3)
    f["inter1"] = "1"
    f["inter2"] = "2"
    f["event_type"] = "Battles"
    rep = store.ingest_events(write_csv(f, tmp_path / "a.csv"), fmt="acled_csv")
    assert rep.rows_accepted == 10
    assert set(store.sql("SELECT type_of_violence FROM events").type_of_violence) == {1}


def test_missing_columns_named(store, tmp_path):
    f = ged_frame(5).drop(columns=["best", "date_start"])
    with pytest.raises(InputFormatError, match="best") as ei:
        store.ingest_events(write_csv(f, tmp_path / "g.csv"), fmt="ged_csv")
    assert "date_start" in str(ei.value) and "g.csv" in str(ei.value)
    assert store.count("events") == 0 and len(store.ledger()) == 0


def test_wrong_delimiter_named(store, tmp_path):
    f = ged_frame(5)
    p = tmp_path / "g.csv"
    f.to_csv(p, index=False, sep=";")
    with pytest.raises(InputFormatError, match="delimiter"):
        store.ingest_events(p, fmt="ged_csv")


def test_wrong_encoding_named(store, tmp_path):
    f = acled_frame(5)
    f.loc[3, "location"] = "Ségou"
    p = tmp_path / "a.csv"
    p.write_bytes(f.to_csv(index=False).encode("latin-1"))
    with pytest.raises(InputFormatError, match="utf-8") as ei:
        store.ingest_events(p, fmt="acled_csv")
    assert ei.value.line == 5
    # and with the right encoding it reads
    rep = store.ingest_events(p, fmt="acled_csv", encoding="latin-1")
    assert rep.rows_accepted == 5
    assert "Ségou" in set(store.sql("SELECT location FROM events").location)


def test_empty_and_bad_zip(store, tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("")
    with pytest.raises(InputFormatError, match="empty"):
        store.ingest_events(p, fmt="ged_csv")
    z = tmp_path / "x.zip"
    z.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputFormatError, match="zip"):
        store.ingest_events(z, fmt="ged_csv")


_garbage = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "-1", "1e9", "NaN", "2099-01-01", "abc", '"', ",", "\n", "  "]),
)


def _fuzzed_events(d, frame, edits, fmt: str) -> pd.DataFrame | None:
    """Ingest ``frame`` with ``edits`` applied; the events table, or None after checking that a
    whole-file problem (e.g. a header destroyed by an edit) wrote nothing."""
    from sahelsim.data.store.store import Store

    for i, col, val in edits:
        if i < len(frame):
            frame.loc[i, col] = val
    path = write_csv(frame, d / "in.csv")
    with Store(d / "s.duckdb") as s:
        try:
            rep = s.ingest_events(path, fmt=fmt)
        except InputFormatError:
            assert s.count("events") == 0 and len(s.ledger()) == 0
            return None
        assert rep.reconciles()
        assert s.count("events") + rep.rows_merged == rep.rows_accepted
        assert len(s.quarantine()) == rep.rows_quarantined
        return s.sql("SELECT * FROM events")


def _fuzz(max_examples: int, n_max: int, columns: list[str]):
    """Hypothesis settings and strategies of the fuzz tests: ``n`` rows, garbage ``edits``."""
    edits = st.tuples(st.integers(0, n_max - 1), st.sampled_from(columns), _garbage)
    generate = given(
        n=st.integers(1, n_max), seed=st.integers(0, 10_000), edits=st.lists(edits, max_size=30)
    )
    run = settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    return lambda test: run(generate(test))


@_fuzz(40, 25, GED_COLUMNS)
def test_fuzz_ged_never_crashes_and_reconciles(tmp_path_factory, n, seed, edits):
    ev = _fuzzed_events(tmp_path_factory.mktemp("fz"), ged_frame(n, seed=seed), edits, "ged_csv")
    if ev is None:
        return
    assert (ev.best >= 0).all()
    assert ((ev.low <= ev.best) | ev.low.isna()).all()
    assert ((ev.best <= ev.high) | ev.high.isna()).all()
    assert ev.type_of_violence.isin([1, 2, 3]).all()
    assert (ev.date_start <= pd.Timestamp.now()).all()


@_fuzz(30, 20, ACLED_COLUMNS)
def test_fuzz_acled_never_crashes_and_reconciles(tmp_path_factory, n, seed, edits):
    ev = _fuzzed_events(
        tmp_path_factory.mktemp("fa"), acled_frame(n, seed=seed), edits, "acled_csv"
    )
    if ev is None:
        return
    assert (ev.best >= 0).all() and (np.floor(ev.best) == ev.best).all()


def test_roundtrip_values(store, tmp_path):
    """What goes into the store comes back out."""
    f = ged_frame(300, seed=11)
    store.ingest_events(write_csv(f, tmp_path / "g.csv"), fmt="ged_csv")
    ev = store.sql("SELECT * FROM events ORDER BY CAST(source_event_id AS BIGINT)")
    assert list(ev.source_event_id) == list(f.id)
    np.testing.assert_array_equal(ev.best.to_numpy(), f.best.astype(float).to_numpy())
    np.testing.assert_array_equal(ev.priogrid_gid.to_numpy(), f.priogrid_gid.astype(int))
    np.testing.assert_allclose(ev.latitude, f.latitude.astype(float))
    assert list(ev.side_a) == list(f.side_a)
    assert list(ev.date_start.dt.strftime("%Y-%m-%d")) == list(f.date_start.str[:10])


def test_acled_api_json_pages(store, tmp_path):
    f = acled_frame(25, seed=9)
    f.loc[4, "fatalities"] = "-1"
    d = tmp_path / "acled"
    d.mkdir()
    recs = f.to_dict(orient="records")
    for p in range(3):
        doc = {"status": 200, "success": True, "count": 10, "data": recs[p * 10 : (p + 1) * 10]}
        (d / f"page_{p:04d}.json").write_text(json.dumps(doc))
    rep = store.ingest_events(d, fmt="acled_json")
    assert rep.reconciles() and rep.rows_read == 25 and rep.rows_quarantined == 1
    q = store.quarantine().iloc[0]
    assert q.source_file.endswith("page_0000.json") and q.line == 5 and q.field == "fatalities"
    with pytest.raises(InputFormatError, match="'data'"):
        (d / "page_0009.json").write_text(json.dumps({"Result": []}))
        store.ingest_events(d, fmt="acled_json", source="acled2")


# -- nothing from the input reaches SQL as code -------------------------------------------------
HOSTILE = [
    "o'brien",
    "x' || (SELECT string_agg(sha256, ',') FROM sources) || '",
    'q" || (SELECT count(*) FROM events) || "',
]


def _store_tables(st) -> list[str]:
    return sorted(st.sql("SELECT table_name FROM information_schema.tables")["table_name"])


@pytest.mark.parametrize("fmt", ["ged_csv", "ged_json", "acled_csv"])
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_source_path_and_columns_are_stored_as_text(tmp_path, fmt, text):
    """Quotes and subqueries in the source name, version, file path and the file's column
    names are stored literally; nothing of them runs."""
    from sahelsim.data.store.store import Store

    folder = tmp_path / text.replace("/", "_")
    folder.mkdir()
    frame = ged_frame(12, seed=11) if fmt.startswith("ged") else acled_frame(12, seed=11)
    col = "best" if fmt.startswith("ged") else "fatalities"
    frame.loc[3, col] = "-4"  # one quarantined row keeps the raw record
    frame[text] = "v'" + text  # an extra column named by the hostile text
    if fmt == "ged_json":
        write_ged_api_pages(frame, folder / "pages", pagesize=5)
        path, label = folder / "pages", str(folder / "pages")
    else:
        path = write_csv(frame, folder / "ev.csv")
        label = str(path)
    with Store(tmp_path / "s.duckdb") as st:
        st.ingest_events(write_csv(ged_frame(3, seed=1), tmp_path / "first.csv"), fmt="ged_csv")
        before = _store_tables(st)
        rep = st.ingest_events(path, fmt=fmt, source=text, version=text)
        assert rep.reconciles() and rep.rows_quarantined == 1 and rep.rows_read == 12
        led = st.ledger().iloc[-1]
        assert (led.source, led.file, led.version) == (text, label, text)
        ev = st.sql("SELECT DISTINCT source, version FROM events WHERE file_id = ?", [2])
        assert ev.values.tolist() == [[text, text]]
        q = st.quarantine(text)
        assert len(q) == 1 and q.source.iloc[0] == text
        assert q.source_file.iloc[0].startswith(str(folder))
        raw = json.loads(q.raw.iloc[0])
        assert raw[text] == "v'" + text and list(raw)[-1] == text
        assert st.count("events") == 3 + 11
        assert _store_tables(st) == before


def test_hostile_encoding_is_refused_before_any_query(store, tmp_path):
    path = write_csv(ged_frame(5, seed=2), tmp_path / "g.csv")
    for enc in ["utf-8', header = false, encoding = 'latin-1", "utf-8'); DROP TABLE sources; --"]:
        with pytest.raises(ValueError, match="unsupported encoding"):
            store.ingest_events(path, fmt="ged_csv", encoding=enc)
    assert store.count("sources") == 0 and len(store.ledger()) == 0
    assert store.ingest_events(path, fmt="ged_csv", encoding="UTF8").rows_accepted == 5


def test_empty_api_pages_read_as_no_rows(store, tmp_path):
    d = tmp_path / "pages"
    d.mkdir()
    (d / "page_0000.json").write_text('{"TotalCount": 0, "TotalPages": 1, "Result": []}')
    rep = store.ingest_events(d, fmt="ged_json", source="ucdp_ged_api")
    assert rep.reconciles() and (rep.rows_read, rep.rows_stored) == (0, 0)
    assert len(store.ledger()) == 1 and store.count("events") == 0
