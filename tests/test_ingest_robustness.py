"""Issue 14: bad input never loses data and never reaches the numbers (the ingest cases).

Each test here failed on the code before the fix: several files of one tabular source, non-finite
and absurd counts and dates, wrong diagnostics, temp-file leftovers and unbounded zips, and a
Hypothesis battery over the event readers.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sahelsim.core.errors import InputFormatError
from sahelsim.core.schema import EARLIEST_EVENT_DATE, MAX_DEATHS_PER_EVENT
from sahelsim.data.fixtures import acled_frame, ged_frame, write_csv, write_ged_api_pages
from sahelsim.data.ingest import ingest_sources
from sahelsim.data.readers import base
from sahelsim.data.readers import events as ev
from sahelsim.data.readers.worldpop import read_worldpop_priogrid
from sahelsim.data.store import events_sql
from sahelsim.data.store.store import Store, release_key

UNHCR_FOLDER = "unhcr-refugee-statistics-2025.12.1"
UNHCR_POP = "unhcr_population_westafrica_upto2024.csv.gz"


# -- case 1: several files of one tabular source ---------------------------------------------------
@pytest.fixture()
def unhcr_two_files(shared_data, tmp_path) -> Path:
    """A data dir with the full staged UNHCR population file and a 10-row file of the same
    source (the 10-row file sorts after the full one, so it used to replace it)."""
    full = shared_data / UNHCR_FOLDER / UNHCR_POP
    if not full.exists():
        pytest.skip(f"{full} absent")
    folder = tmp_path / "data" / UNHCR_FOLDER
    folder.mkdir(parents=True)
    shutil.copy(full, folder / UNHCR_POP)
    with gzip.open(full, "rt", encoding="utf-8") as fh:
        head = [next(fh) for _ in range(11)]
    (folder / "unhcr_population_z_sample.csv").write_text("".join(head), encoding="utf-8")
    return tmp_path / "data"


def _source_totals(st: Store, source: str) -> tuple[int, int]:
    """(rows accepted, rows read) summed over the live ledger rows, as `data status` shows."""
    led = st.ledger()
    live = led[(led.source == source) & ~led.superseded]
    return int(live.rows_accepted.sum()), int(live.rows_read.sum())


def test_two_files_of_one_tabular_source_add_up_and_reingest_is_noop(unhcr_two_files, tmp_path):
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        first = ingest_sources(unhcr_two_files, st)
        assert len(first) == 2 and not any(r.skipped for r in first)
        assert all(r.reconciles() for r in first)
        expected_long = st.count("displacement")
        by_file = st.sql("SELECT file_id, count(*) AS n FROM displacement GROUP BY file_id")
        assert len(by_file) == 2  # both files are in the store
        accepted, read = _source_totals(st, "unhcr_population")
        assert accepted == sum(r.rows_accepted for r in first)
        assert read == sum(r.rows_read for r in first)
        assert min(r.rows_read for r in first) == 10
    for _ in range(2):  # runs 2 and 3: no-ops
        with Store(db) as st:
            again = ingest_sources(unhcr_two_files, st)
            assert all(r.skipped for r in again)
            assert st.count("displacement") == expected_long
            assert len(st.ledger()) == 2
            assert _source_totals(st, "unhcr_population") == (accepted, read)


def test_same_content_under_another_source_is_reported_not_loaded_twice(store, tmp_path):
    f = ged_frame(20, seed=1)
    a = write_csv(f, tmp_path / "a.csv")
    b = tmp_path / "b.csv"
    shutil.copy(a, b)
    r1 = store.ingest_events(a, fmt="ged_csv", source="ucdp_ged")
    r2 = store.ingest_events(b, fmt="ged_csv", source="ucdp_candidate")
    assert not r1.skipped and r2.skipped and r2.duplicate_of == "ucdp_ged"
    assert store.count("events") == 20 and len(store.ledger()) == 1


def test_release_key_rule():
    assert release_key("/x/ucdp_cy_v25_1.csv") == release_key("/y/ucdp_cy_v26_1.csv.gz")
    assert release_key("unhcr_population_a.csv") != release_key("unhcr_population_b.csv")


# -- case 2: non-finite and absurd counts, dates ---------------------------------------------------
BAD_COUNTS = [
    ("1.5", "not an integer"),
    ("1e20", "above the ceiling"),
    ("1e308", "above the ceiling"),
    ("NaN", "not a finite number"),
    ("inf", "not a finite number"),
    ("-Infinity", "not a finite number"),
    (str(MAX_DEATHS_PER_EVENT + 1), "above the ceiling"),
]


def _ged_with_best(value: str):
    f = ged_frame(5, seed=4)
    f.loc[2, "best"] = value
    f.loc[2, "low"] = "0"
    f.loc[2, "high"] = value
    return f


def _assert_one_quarantined(store: Store, rep, field: str, reason: str) -> None:
    assert rep.reconciles() and rep.rows_quarantined == 1, rep
    q = store.quarantine().iloc[0]
    assert q.field == field and reason in q.reason, (q.field, q.reason)
    (total,) = store.con.execute("SELECT sum(best) FROM events").fetchone()
    assert total is not None and total == total and total < 5 * MAX_DEATHS_PER_EVENT


@pytest.mark.parametrize(("value", "reason"), BAD_COUNTS)
def test_ged_csv_counts_must_be_finite_integers_below_ceiling(store, tmp_path, value, reason):
    rep = store.ingest_events(write_csv(_ged_with_best(value), tmp_path / "g.csv"), fmt="ged_csv")
    _assert_one_quarantined(store, rep, "best", reason)


@pytest.mark.parametrize(("value", "reason"), BAD_COUNTS)
def test_ged_json_counts_must_be_finite_integers_below_ceiling(store, tmp_path, value, reason):
    pages = write_ged_api_pages(ged_frame(5, seed=4), tmp_path / "pages")
    doc = json.loads(pages[0].read_text())
    numeric = value.replace(".", "").replace("e", "").isdigit()
    number = json.loads(value) if numeric else value  # JSON has no NaN/inf: a string then
    doc["Result"][2].update(best=number, low=0, high=number)
    pages[0].write_text(json.dumps(doc))
    rep = store.ingest_events(tmp_path / "pages", fmt="ged_json")
    _assert_one_quarantined(store, rep, "best", reason if numeric else "not a number")


@pytest.mark.parametrize(("value", "reason"), BAD_COUNTS)
def test_acled_csv_counts_must_be_finite_integers_below_ceiling(store, tmp_path, value, reason):
    f = acled_frame(5, seed=4)
    f.loc[2, "fatalities"] = value
    rep = store.ingest_events(write_csv(f, tmp_path / "a.csv"), fmt="acled_csv")
    _assert_one_quarantined(store, rep, "fatalities", reason)


@pytest.mark.parametrize("fmt", ["ged_csv", "acled_csv"])
def test_dates_before_ucdp_start_are_quarantined(store, tmp_path, fmt):
    if fmt == "ged_csv":
        f, col = ged_frame(5, seed=4), "date_start"
        f.loc[2, "date_start"] = "1899-01-01 00:00:00.000"
    else:
        f, col = acled_frame(5, seed=4), "event_date"
        f.loc[2, "event_date"] = "1899-01-01"
    rep = store.ingest_events(write_csv(f, tmp_path / "e.csv"), fmt=fmt)
    assert rep.rows_quarantined == 1
    q = store.quarantine().iloc[0]
    assert q.field == col and EARLIEST_EVENT_DATE.isoformat() in q.reason
    (low,) = store.con.execute("SELECT min(month_id) FROM events").fetchone()
    assert low > 0


# -- case 4: leftovers and limits ------------------------------------------------------------------
@pytest.fixture()
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A private temp root, so that the temp-folder checks see only this test's folders."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_interrupted_zip_ingest_leaves_no_temp_files(store, tmp_path, private_tmp, monkeypatch):
    path = write_csv(ged_frame(50, seed=2), tmp_path / "GEDEvent_v25_1.zip")

    def killed(*_a, **_k):
        assert list(private_tmp.glob("sahelsim-ingest-*/*.csv"))  # extracted at this point
        raise KeyboardInterrupt

    monkeypatch.setattr(events_sql, "_create_stage", killed)
    with pytest.raises(KeyboardInterrupt):
        store.ingest_events(path, fmt="ged_csv")
    assert list(private_tmp.iterdir()) == []
    assert store.count("events") == 0 and len(store.ledger()) == 0


def test_stale_temp_folders_of_a_killed_ingest_are_removed(store, tmp_path, private_tmp):
    stale, fresh = private_tmp / "sahelsim-ingest-old", private_tmp / "sahelsim-ingest-new"
    other = private_tmp / "someone-else-old"
    for d in (stale, fresh, other):
        d.mkdir()
        (d / "GEDEvent.csv").write_bytes(b"x" * 1000)
    hours_ago = time.time() - 2 * 3600
    for d in (stale, other):
        os.utime(d, (hours_ago, hours_ago))
    store.ingest_events(write_csv(ged_frame(5, seed=2), tmp_path / "g.zip"), fmt="ged_csv")
    assert not stale.exists() and fresh.exists() and other.exists()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_bomb_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "MAX_UNZIPPED_BYTES", 1_000_000)
    header = ",".join(ged_frame(1).columns).encode() + b"\n"
    bomb = _zip(tmp_path / "bomb.zip", {"GEDEvent.csv": header + b"0" * 5_000_000})
    with pytest.raises(InputFormatError, match="above the limit"):
        store.ingest_events(bomb, fmt="ged_csv")
    assert len(store.ledger()) == 0


@pytest.mark.parametrize("name", ["../../evil.csv", "/etc/evil.csv", "a/../../evil.csv"])
def test_zip_member_path_traversal_is_refused(store, tmp_path, name):
    data = write_csv(ged_frame(3), tmp_path / "g.csv").read_bytes()
    bad = _zip(tmp_path / "bad.zip", {name: data})
    with pytest.raises(InputFormatError, match="unsafe zip member"):
        store.ingest_events(bad, fmt="ged_csv")
    with pytest.raises(InputFormatError, match="unsafe zip member"):
        base.open_bytes(bad)


# -- case 3: diagnostics ---------------------------------------------------------------------------
def test_overlong_field_names_its_line(store, tmp_path):
    f = ged_frame(6, seed=5)
    f.loc[2, "side_a"] = "x" * (ev.MAX_LINE_BYTES + 10)  # record 3 = line 4
    path = write_csv(f, tmp_path / "g.csv")
    with pytest.raises(InputFormatError) as err:
        store.ingest_events(path, fmt="ged_csv")
    assert err.value.line == 4 and "longer than" in str(err.value)
    assert len(store.ledger()) == 0


def test_quarantine_lines_are_physical_after_quoted_newlines(store, tmp_path):
    f = ged_frame(12, seed=6)
    for i in (1, 3, 4):
        f.loc[i, "side_a"] = "Government\nof Mali"  # each adds one physical line
    f.loc[10, "best"] = "-1"
    path = write_csv(f, tmp_path / "g.csv")
    with open(path, "a", encoding="utf-8") as fh:  # a structural reject after them
        fh.write(",".join(f.iloc[0]) + ",extra\n")
    rep = store.ingest_events(path, fmt="ged_csv")
    assert rep.reconciles() and rep.rows_quarantined == 2
    lines = sorted(store.quarantine().line)
    # row 10 starts on line 2 + 10 + 3 (three earlier records span two lines)
    assert lines == [15, 2 + 12 + 3]
    (text_line,) = [
        n for n, ln in enumerate(path.read_text().splitlines(), 1) if ln.endswith(",extra")
    ]
    assert lines[1] == text_line


def test_blank_lines_keep_physical_line_numbers(store, tmp_path):
    f = ged_frame(6, seed=7)
    f.loc[4, "best"] = "-1"
    path = write_csv(f, tmp_path / "g.csv")
    rows = path.read_text().splitlines(True)
    path.write_text("".join([*rows[:3], "\n", *rows[3:]]))
    rep = store.ingest_events(path, fmt="ged_csv")
    assert rep.reconciles() and rep.rows_quarantined == 1
    assert int(store.quarantine().line.iloc[0]) == 2 + 4 + 1


@pytest.mark.parametrize(("col", "value"), [("longitude", "Infinity"), ("latitude", "-inf")])
def test_non_finite_coordinate_names_its_field(store, tmp_path, col, value):
    f = ged_frame(5, seed=4)
    f.loc[1, col] = value
    rep = store.ingest_events(write_csv(f, tmp_path / "g.csv"), fmt="ged_csv")
    assert rep.rows_quarantined == 1
    q = store.quarantine().iloc[0]
    assert q.field == col and "finite" in q.reason


def test_utf16_is_transcoded_and_unknown_encodings_refused(tmp_path):
    f = ged_frame(8, seed=8)
    f.loc[0, "side_a"] = "Jama'at Nusrat al-Islam wal-Muslimin (JNIM) – Sénou"
    utf8 = write_csv(f, tmp_path / "u8.csv")
    utf16 = tmp_path / "u16.csv"
    utf16.write_text(utf8.read_text(encoding="utf-8"), encoding="utf-16")
    with Store(tmp_path / "a.duckdb") as a, Store(tmp_path / "b.duckdb") as b:
        a.ingest_events(utf8, fmt="ged_csv")
        rep = b.ingest_events(utf16, fmt="ged_csv", encoding="utf-16")
        assert rep.rows_accepted == 8
        cols = "source_event_id, side_a, best, latitude"
        q = f"SELECT {cols} FROM events ORDER BY source_event_id"
        assert a.sql(q).equals(b.sql(q))
        with pytest.raises(ValueError, match="utf-8"):
            b.ingest_events(utf16, fmt="ged_csv", encoding="utf-32")


def test_nul_byte_is_an_error_naming_the_line(store, tmp_path):
    path = write_csv(ged_frame(5, seed=4), tmp_path / "g.csv")
    rows = path.read_bytes().split(b"\n")
    rows[3] = rows[3].replace(b",", b"\x00,", 1)
    path.write_bytes(b"\n".join(rows))
    with pytest.raises(InputFormatError, match="NUL") as err:
        store.ingest_events(path, fmt="ged_csv")
    assert err.value.line == 4 and len(store.ledger()) == 0


def test_conflicting_duplicate_ids_warn_with_counts(store, tmp_path, caplog):
    f = ged_frame(6, seed=4)
    f.loc[4] = f.loc[1]
    f.loc[5] = f.loc[2]
    f.loc[5, "best"] = str(int(f.loc[2, "best"]) + 1)  # same id, other value
    f.loc[5, "high"] = str(int(f.loc[5, "best"]) + 5)
    with caplog.at_level(logging.WARNING, logger="sahelsim.data.store.events_sql"):
        rep = store.ingest_events(write_csv(f, tmp_path / "g.csv"), fmt="ged_csv")
    assert rep.rows_merged == 2 and rep.rows_stored == 4
    msgs = [r.getMessage() for r in caplog.records if "different values" in r.getMessage()]
    assert len(msgs) == 1 and "1 event id(s)" in msgs[0] and "2 row(s) merged" in msgs[0]
    best = store.sql("SELECT best FROM events WHERE source_event_id = ?", [f.loc[2, "id"]])
    assert list(best.best) == [float(f.loc[5, "best"])]  # the last occurrence wins


def test_hdx_hxl_row_is_metadata_not_filtered(store, tmp_path):
    f = acled_frame(6, seed=4)
    hxl = {c: "#" + c.replace("_", "+") for c in f.columns}
    f = pd.concat([pd.DataFrame([hxl]), f], ignore_index=True)
    f.loc[3, "fatalities"] = "-1"  # line 5 of the file
    rep = store.ingest_events(write_csv(f, tmp_path / "acled.csv"), fmt="acled_csv")
    assert (rep.rows_read, rep.rows_accepted, rep.rows_quarantined, rep.rows_filtered) == (
        6, 5, 1, 0,
    )  # fmt: skip
    assert rep.rows_metadata == 1 and rep.reconciles()
    assert int(store.ledger().rows_metadata.iloc[0]) == 1
    assert int(store.quarantine().line.iloc[0]) == 5


# -- case 5: a fuzz battery over the event readers -------------------------------------------------
_NASTY = st.sampled_from(
    [
        "", "NaN", "nan", "inf", "-inf", "Infinity", "1e308", "1e20", "-0", "1.5", "-1",
        str(MAX_DEATHS_PER_EVENT + 1), "1899-01-01", "2099-12-31", "1988-12-31 00:00:00.000",
        "0000-00-00", "31/12/2020", "abc", '"', ",", "line\nbreak", 'quo"te', "  ", "é ü ß",
        "#hxl", "\t", "\r\n",
    ]
)  # fmt: skip
_EDIT = st.tuples(st.integers(0, 19), st.integers(0, 60), _NASTY)
_SHAPE = st.tuples(st.integers(0, 19), st.sampled_from(["extra", "short", "blank"]))


def _fuzz_csv(path: Path, frame: pd.DataFrame, edits, shapes, encoding: str) -> Path:
    rows = [list(frame.columns)] + [list(r) for r in frame.itertuples(index=False)]
    for i, j, val in edits:
        if 1 + i < len(rows):
            rows[1 + i][j % len(rows[0])] = val
    for i, how in shapes:
        if 1 + i < len(rows):
            r = rows[1 + i]
            rows[1 + i] = [*r, "x"] if how == "extra" else r[:-2] if how == "short" else []
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding, errors="replace"))
    return path


def _check_accepted(st_: Store) -> None:
    ev_ = st_.sql("SELECT * FROM events")
    counts = ev_[["best", "low", "high", "deaths_a", "deaths_b", "deaths_civilians"]]
    vals = counts.to_numpy(dtype=float)
    ok = np.isnan(vals) | (np.isfinite(vals) & (vals >= 0) & (vals <= MAX_DEATHS_PER_EVENT))
    assert ok.all() and (np.floor(vals[~np.isnan(vals)]) == vals[~np.isnan(vals)]).all()
    assert ev_.best.notna().all()
    assert np.isfinite(ev_[["latitude", "longitude"]].to_numpy(dtype=float)).all()
    assert (ev_.latitude.abs() <= 90).all() and (ev_.longitude.abs() <= 180).all()
    first, today = pd.Timestamp(EARLIEST_EVENT_DATE), pd.Timestamp.now()
    assert ev_.date_start.between(first, today).all() and ev_.date_end.between(first, today).all()
    assert (ev_.month_id >= 109).all()  # January 1989


@pytest.mark.parametrize("fmt", ["ged_csv", "acled_csv"])
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 20),
    seed=st.integers(0, 1000),
    edits=st.lists(_EDIT, max_size=25),
    shapes=st.lists(_SHAPE, max_size=4),
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]),
)
def test_fuzz_event_readers_reconcile_and_accept_only_sane_values(
    tmp_path_factory, fmt, n, seed, edits, shapes, encoding
):
    d = tmp_path_factory.mktemp("fuzz")
    frame = ged_frame(n, seed=seed) if fmt == "ged_csv" else acled_frame(n, seed=seed)
    path = _fuzz_csv(d / "in.csv", frame, edits, shapes, encoding)
    n_lines = len(path.read_bytes().decode(encoding, errors="replace").split("\n"))
    with Store(d / "s.duckdb") as s:
        try:
            rep = s.ingest_events(path, fmt=fmt, encoding=encoding)
        except InputFormatError:
            assert s.count("events") == 0 and len(s.ledger()) == 0
            return
        assert rep.reconciles(), rep
        assert s.count("events") + rep.rows_merged == rep.rows_accepted
        q = s.quarantine()
        assert len(q) == rep.rows_quarantined
        assert q.line.between(2, n_lines).all() and q.line.is_unique
        _check_accepted(s)


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e400"])
def test_tabular_counts_must_be_finite(tmp_path, value):
    path = tmp_path / "worldpop_by_priogrid.csv"
    path.write_text(f"priogrid_gid,year,est_pop\n150000,2000,10.5\n150001,2000,{value}\n")
    res = read_worldpop_priogrid(path)
    assert len(res.data) == 1 and len(res.quarantine) == 1
    q = res.quarantine.iloc[0]
    assert q.field == "est_pop" and "finite" in q.reason and q.line == 3


def test_temp_folder_of_a_dead_ingest_is_removed_at_once(tmp_path, monkeypatch):
    """A killed ingest (SIGKILL runs no cleanup) leaves ``sahelsim-ingest-<pid>-*``; the next
    ingest removes it as soon as that process is gone, whatever its age."""
    import subprocess
    import sys
    import tempfile

    from sahelsim.data.readers import events as ev

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = tmp_path / f"{ev.TEMP_PREFIX}{proc.pid}-abc"
    alive = tmp_path / f"{ev.TEMP_PREFIX}{os.getpid()}-def"
    for d in (dead, alive):
        d.mkdir()
        (d / "part.csv").write_text("x")
    removed = ev.clean_stale_temp()
    assert removed == [dead] and not dead.exists() and alive.exists()
