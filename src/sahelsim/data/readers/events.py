"""Event files (UCDP GED CSV/zip/gz, UCDP API JSON pages, Candidate, ACLED CSV/JSON): the
reader side of the DuckDB fast path.

This module knows the formats: which columns each one needs, how files are found, hashed,
unzipped and their headers checked, and how staged records map back to physical lines. It
never touches the store; the SQL that parses, checks and stores the rows lives in
:mod:`sahelsim.data.store.events_sql`.

Line numbers are physical lines when no quoted field spans lines (true of UCDP and ACLED
exports); for JSON pages ``line`` is the 1-based record index in the page's list.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from sahelsim.core.errors import InputFormatError
from sahelsim.data.readers.base import check_header, copy_zip_member, sha256_file

log = logging.getLogger(__name__)

#: prefix of the temporary folders of an ingest (zip extraction)
TEMP_PREFIX = "sahelsim-ingest-"
#: a temp folder of that prefix older than this (seconds) is a leftover of a killed ingest
STALE_TEMP_AGE_S = 3600.0

GED_REQUIRED = [
    "id", "date_start", "date_end", "type_of_violence", "side_a", "side_b", "latitude",
    "longitude", "country_id", "where_prec", "best", "low", "high", "deaths_a", "deaths_b",
    "deaths_civilians", "deaths_unknown",
]  # fmt: skip
GED_OPTIONAL = ["priogrid_gid", "dyad_name", "dyad_new_id", "adm_1", "adm_2", "where_coordinates"]
ACLED_REQUIRED = [
    "event_id_cnty", "event_date", "event_type", "actor1", "actor2", "latitude", "longitude",
    "fatalities",
]  # fmt: skip
ACLED_OPTIONAL = [
    "sub_event_type", "assoc_actor_1", "assoc_actor_2", "inter1", "inter2", "civilian_targeting",
    "iso", "iso3", "country", "admin1", "admin2", "admin3", "location", "geo_precision",
    "timestamp",
]  # fmt: skip
#: ACLED columns naming the country (at least one is required)
ACLED_COUNTRY = ("iso", "iso3", "country")

FORMATS = {"ged_csv", "ged_json", "acled_csv", "acled_json"}
JSON_LIST_KEY = {"ged_json": "Result", "acled_json": "data"}
DEFAULT_SOURCE = {
    "ged_csv": "ucdp_ged",
    "ged_json": "ucdp_ged",
    "acled_csv": "acled",
    "acled_json": "acled",
}
#: accepted ``encoding`` values -> the name DuckDB's CSV reader knows
ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    # UTF-16 files are transcoded to UTF-8 (in the ingest's temp folder) before DuckDB reads them
    "utf-16": "utf-16",
    "utf16": "utf-16",
    "utf-16-le": "utf-16-le",
    "utf-16le": "utf-16-le",
    "utf-16-be": "utf-16-be",
    "utf-16be": "utf-16-be",
}
#: encodings DuckDB's CSV reader cannot read itself: transcoded to UTF-8 first
TRANSCODED = {"utf-16", "utf-16-le", "utf-16-be"}


@dataclass(frozen=True)
class EventInput:
    """One event input located and identified (not yet opened)."""

    fmt: str
    source: str
    files: tuple[Path, ...]  # the CSV/zip file, or the JSON pages
    label: str  # how the input is named in the ledger and in messages
    sha256: str
    encoding: str  # DuckDB's name of the encoding

    @property
    def is_json(self) -> bool:
        return self.fmt in JSON_LIST_KEY

    @property
    def is_ged(self) -> bool:
        return self.fmt.startswith("ged")

    @property
    def list_key(self) -> str:
        return JSON_LIST_KEY[self.fmt]

    @property
    def known_columns(self) -> list[str]:
        """Every column the canonical mapping may read (a fixed whitelist)."""
        return GED_REQUIRED + GED_OPTIONAL if self.is_ged else ACLED_REQUIRED + ACLED_OPTIONAL


@dataclass(frozen=True)
class CsvTable:
    """An opened CSV input: the plain or gz file DuckDB reads, and its header."""

    path: Path
    header: list[str]
    n_lines: int = 0  # physical lines of the file (header included)
    encoding: str = "utf-8"  # the encoding of ``path`` (DuckDB's name)


def locate(
    path: str | Path | Sequence[Path],
    *,
    fmt: str,
    source: str | None = None,
    encoding: str = "utf-8",
) -> EventInput:
    """Find the file(s) of an event input, check the options and hash the content."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown event format {fmt!r}; use one of {sorted(FORMATS)}")
    enc = ENCODINGS.get(str(encoding).lower())
    if enc is None:
        raise ValueError(f"unsupported encoding {encoding!r}; use one of {sorted(ENCODINGS)}")
    if fmt in JSON_LIST_KEY:
        p = None if isinstance(path, (list, tuple)) else Path(path)  # type: ignore[arg-type]
        if p is not None and p.is_dir():
            files = sorted(p.glob("*.json"))
        elif p is not None:
            files = [p]
        else:
            files = [Path(x) for x in path]  # type: ignore[union-attr]
        if not files:
            raise InputFormatError(str(path), "no JSON pages found")
        label = str(p if p is not None else files[0].parent)
    else:
        files = [Path(path)]  # type: ignore[arg-type]
        label = str(files[0])
        if not files[0].exists():
            raise InputFormatError(label, "file does not exist")
    return EventInput(
        fmt=fmt,
        source=source or DEFAULT_SOURCE[fmt],
        files=tuple(files),
        label=label,
        sha256=_files_hash(files),
        encoding=enc,
    )


def _files_hash(paths: Sequence[Path]) -> str:
    if len(paths) == 1:
        return sha256_file(paths[0])
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(sha256_file(p).encode())
    return h.hexdigest()


@contextmanager
def open_csv(inp: EventInput) -> Iterator[CsvTable]:
    """Unzip if needed (into a temporary folder removed on any exit; folders a killed process
    left behind are removed by the next ingest after an hour) and check the header."""
    clean_stale_temp()
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    try:
        csv_path = _prepare_csv(inp.files[0], tmp)
        encoding = inp.encoding
        if encoding in TRANSCODED:
            csv_path, encoding = _transcode(inp.label, csv_path, encoding, tmp), "utf-8"
        header, raw_header = _first_line(csv_path, encoding)
        check_header(inp.label, header, required_columns(inp), raw_header_line=raw_header)
        if not inp.is_ged and not (set(ACLED_COUNTRY) & set(header)):
            raise InputFormatError(
                inp.label, "missing required column(s): iso or country", line=1, field="iso"
            )
        n_lines = scan_text_bytes(inp.label, csv_path)
        yield CsvTable(csv_path, header, n_lines, encoding)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def required_columns(inp: EventInput) -> list[str]:
    return GED_REQUIRED if inp.is_ged else ACLED_REQUIRED


def check_json_keys(inp: EventInput, keys: Sequence[str]) -> None:
    """The record keys of API pages must hold the required columns."""
    if keys:
        check_header(inp.label, keys, required_columns(inp))


def check_json_pages(files: Sequence[Path]) -> None:
    """Cheap structural check of every page, naming the bad one."""
    for f in files:
        with open(f, "rb") as fh:
            head = fh.read(4096).lstrip()
        if not head.startswith(b"{"):
            raise InputFormatError(str(f), "not an API page: expected a JSON object")


def _open_bytes(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _transcode(label: str, path: Path, encoding: str, tmp: Path) -> Path:
    """Rewrite a UTF-16 file as UTF-8 in ``tmp`` (streamed); raises naming the line of a byte
    sequence that is not valid ``encoding``."""
    out = tmp / "transcoded.csv"
    line = 1
    with (
        _open_bytes(path) as raw,
        io.TextIOWrapper(raw, encoding=encoding, newline="") as src,
        open(out, "w", encoding="utf-8", newline="") as dst,
    ):
        try:
            while chunk := src.read(1 << 20):
                dst.write(chunk.lstrip("\ufeff") if line == 1 else chunk)
                line += chunk.count("\n")
        except UnicodeDecodeError as exc:
            msg = f"not valid {encoding} ({exc.reason})"
            raise InputFormatError(label, msg, line=line) from exc
    return out


def scan_text_bytes(label: str, path: Path) -> int:
    """The number of physical lines of a CSV file; raises naming the line of a NUL byte (a NUL
    is never text: DuckDB would keep or drop it silently inside a value)."""
    lines, last = 0, b"\n"
    with _open_bytes(path) as fh:
        while chunk := fh.read(1 << 22):
            nul = chunk.find(b"\0")
            if nul >= 0:
                line = lines + chunk.count(b"\n", 0, nul) + 1
                raise InputFormatError(
                    label, "NUL byte (0x00) in the file: not a text CSV (binary or UTF-16?)",
                    line=line,
                )  # fmt: skip
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (0 if last == b"\n" else 1)


def first_long_line(path: Path, limit: int) -> int | None:
    """The first physical line longer than ``limit`` bytes (1-based), or None."""
    with _open_bytes(path) as fh:
        n = 0
        while True:
            n += 1
            part = fh.readline(limit + 1)
            if not part:
                return None
            if len(part) > limit and not part.endswith(b"\n"):
                return n


def record_start_lines(path: Path, encoding: str) -> np.ndarray:
    """Physical line where each CSV record starts, indexed by DuckDB's line number - 1 (the
    header is record 1, blank lines count as records): exact with quoted newlines."""
    csv.field_size_limit(1 << 30)
    starts = []
    with (
        _open_bytes(path) as raw,
        io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text,
    ):
        reader = csv.reader(text)
        prev = 0
        for _ in reader:
            starts.append(prev + 1)
            prev = reader.line_num
    return np.asarray(starts, dtype=np.int64)


def _first_line(path: Path, encoding: str) -> tuple[list[str], str]:
    with _open_bytes(path) as fh:
        head = fh.readline(1 << 20)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputFormatError(str(path), f"header is not valid {encoding}", line=1) from exc
    if not text.strip():
        raise InputFormatError(str(path), "file is empty (no header line)", line=1)
    row = next(csv.reader(io.StringIO(text)))
    return [c.strip() for c in row], text.rstrip("\r\n")


def _prepare_csv(path: Path, tmp: Path) -> Path:
    """Extract a zip member to ``tmp`` (size-capped, see :func:`copy_zip_member`); plain and
    gz files are read in place."""
    if path.suffix.lower() != ".zip":
        return path
    part = tmp / "member.csv"
    with open(part, "wb") as dst:
        name = copy_zip_member(path, dst, ".csv")
    out = tmp / (name if name.lower().endswith(".csv") else "member.csv")
    part.rename(out)
    return out


def _owner_alive(folder: Path) -> bool:
    """Is the process that made ``folder`` (``sahelsim-ingest-<pid>-...``) still running?"""
    try:
        pid = int(folder.name[len(TEMP_PREFIX) :].split("-", 1)[0])
    except ValueError:
        return True  # an older name without a pid: leave it to the age rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temp(max_age_s: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove ``sahelsim-ingest-*`` temp folders left by a killed ingest: at once when the
    process that made them is gone, else when older than ``max_age_s``; returns the folders
    removed."""
    now = time.time()
    removed = []
    for d in Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            if d.is_dir() and (not _owner_alive(d) or now - d.stat().st_mtime > max_age_s):
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
        except OSError:  # vanished meanwhile, or not ours to remove
            continue
    if removed:
        log.info("removed %d stale ingest temp folder(s): %s", len(removed), removed)
    return removed


#: the longest CSV record DuckDB is asked to read (bytes); a longer line is an error naming it
MAX_LINE_BYTES = 10_000_000


def explain_parse_error(
    exc: Exception, file: str, encoding: str, path: Path | None = None
) -> InputFormatError:
    """A DuckDB parse failure as an error naming the file (and the line, when the failure is
    a line over :data:`MAX_LINE_BYTES`: DuckDB itself blames line 1)."""
    msg = str(exc)
    if "maximum line size" in msg.lower() and path is not None:
        line = first_long_line(path, MAX_LINE_BYTES)
        return InputFormatError(
            file,
            f"a record longer than {MAX_LINE_BYTES:,} bytes (MAX_LINE_BYTES): not an event row",
            line=line,
        )
    if "unicode" in msg.lower() or "utf" in msg.lower():
        return InputFormatError(file, f"not valid {encoding}: {msg.splitlines()[0]}")
    return InputFormatError(file, f"cannot be parsed as CSV/JSON: {msg.splitlines()[0]}")


STRUCTURAL_REASONS = {
    "MISSING COLUMNS": "too few fields",
    "TOO MANY COLUMNS": "too many fields",
    "UNQUOTED VALUE": "unquoted value / stray quote",
}


def structural_reason(file: str, line: int, etype: str, emsg: str, encoding: str) -> str:
    """The quarantine reason of a line the CSV parser could not split (raises on encoding)."""
    if "UNICODE" in etype.upper() or "ENCODING" in etype.upper():
        raise InputFormatError(
            file,
            f"not valid {encoding} (invalid byte sequence); re-save as UTF-8 or pass"
            " --encoding latin-1",
            line=line,
        )
    return f"{STRUCTURAL_REASONS.get(etype, etype.lower())} ({emsg})"


def physical_lines(
    table: CsvTable, encoding: str, n_records: int, rec: np.ndarray, reject_lines: list[int]
) -> tuple[np.ndarray, list[int]]:
    """Physical start lines of the staged records ``rec`` (0-based rowids) and of the
    structural rejects (DuckDB's line numbers) of a CSV with ``n_records`` records read.

    When the file has one physical line per record (no quoted newline, no blank line) the
    mapping is arithmetic; otherwise the file is scanned once for the record starts."""
    if table.n_lines == 1 + n_records + len(reject_lines) or table.n_lines == 0:
        return record_to_line(rec, reject_lines), list(reject_lines)
    starts = record_start_lines(table.path, encoding)
    rejected = set(reject_lines)
    blank = _blank_records(table.path, encoding) if len(starts) > 1 + n_records else set()
    good = [ln for ln in range(2, len(starts) + 1) if ln not in rejected and ln not in blank]
    good_arr = np.asarray(good, dtype=np.int64)
    out = starts[good_arr[rec] - 1] if len(rec) else np.zeros(0, dtype=np.int64)
    return out, [int(starts[ln - 1]) if ln <= len(starts) else ln for ln in reject_lines]


def _blank_records(path: Path, encoding: str) -> set[int]:
    """DuckDB line numbers of the blank records (skipped by the parser)."""
    csv.field_size_limit(1 << 30)
    with (
        _open_bytes(path) as raw,
        io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text,
    ):
        return {i for i, r in enumerate(csv.reader(text), start=1) if not r}


def record_to_line(rec: np.ndarray, reject_lines: list[int]) -> np.ndarray:
    """Physical line of the staged records (0-based rowid), skipping rejected lines (a file
    with one physical line per record)."""
    lines = rec + 2  # header is line 1
    if not reject_lines:
        return lines
    rej = np.sort(np.asarray(reject_lines, dtype=np.int64))
    # the k-th accepted line is the smallest L with L - #(rejects <= L) - 1 == k + 1
    out = lines.copy()
    for i, ln in enumerate(lines):
        cur = int(ln)
        while True:
            shifted = int(ln) + int(np.searchsorted(rej, cur, side="right"))
            if shifted == cur:
                break
            cur = shifted
        out[i] = cur
    return out
