"""Shared reader machinery: the result type, file opening and row-level checks.

Readers never drop a row silently: a row that fails a check goes to ``quarantine`` with the
file, line, field and reason. Whole-file problems (encoding, delimiter, missing columns) raise
:class:`~sahelsim.errors.InputFormatError` naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from sahelsim.core.errors import InputFormatError, MissingInputError

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ["source", "source_file", "line", "field", "reason", "raw"]
#: the most a zip archive may unpack to (all members together); above it the file is refused
MAX_UNZIPPED_BYTES = 2 * 1024**3


@dataclass
class ReadResult:
    """What a reader returns.

    ``data`` has exactly the columns of the store table ``table`` (see ``store.SCHEMAS``),
    ``quarantine`` has :data:`QUARANTINE_COLUMNS`, ``meta`` at least ``source``, ``file``,
    ``sha256``, ``version``, ``license``, ``rows_read``.
    """

    source: str
    table: str
    data: pd.DataFrame
    quarantine: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return int(self.meta["rows_read"])

    @property
    def accepted(self) -> int:
        return int(self.meta.get("rows_accepted", len(self.data)))

    @property
    def rejected(self) -> int:
        return len(self.quarantine)

    def check_reconciles(self) -> None:
        if self.rows_read != self.accepted + self.rejected:
            raise AssertionError(
                f"{self.meta.get('file')}: read {self.rows_read} != accepted {self.accepted}"
                f" + quarantined {self.rejected}"
            )


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def open_bytes(path: str | Path, member_suffix: str = ".csv") -> bytes:
    """Whole content of a plain, ``.gz`` or ``.zip`` file (first member ending in suffix)."""
    p = Path(path)
    if not p.exists():
        raise MissingInputError(str(p), "file does not exist")
    if p.suffix == ".gz":
        try:
            return gzip.decompress(p.read_bytes())
        except (OSError, EOFError) as exc:
            raise InputFormatError(str(p), f"not a valid gzip file ({exc})") from exc
    if p.suffix == ".zip":
        buf = io.BytesIO()
        copy_zip_member(p, buf, member_suffix)
        return buf.getvalue()
    return p.read_bytes()


def _checked_member(path: Path, zf: zipfile.ZipFile, suffix: str, limit: int) -> zipfile.ZipInfo:
    """The first member ending in ``suffix``, after refusing unsafe archives: member names
    that are absolute or climb out (``..``), and a total unpacked size above ``limit``."""
    infos = zf.infolist()
    for info in infos:
        parts = info.filename.replace("\\", "/").split("/")
        if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise InputFormatError(
                str(path), f"unsafe zip member name {info.filename!r} (absolute or '..')"
            )
    total = sum(i.file_size for i in infos)
    if total > limit:
        raise InputFormatError(
            str(path),
            f"zip archive unpacks to {total:,} bytes, above the limit of {limit:,}"
            " (MAX_UNZIPPED_BYTES)",
        )
    members = [i for i in infos if i.filename.lower().endswith(suffix) and not i.is_dir()]
    if not members:
        raise InputFormatError(str(path), f"zip archive has no '*{suffix}' member")
    return members[0]


def copy_zip_member(
    path: str | Path, dst: IO[bytes], suffix: str = ".csv", *, limit: int | None = None
) -> str:
    """Copy the first ``*suffix`` member of a zip archive to ``dst``; returns its base name.

    Refuses unsafe member names and archives unpacking to more than ``limit`` bytes
    (default :data:`MAX_UNZIPPED_BYTES`), counting the bytes actually unpacked (a zip bomb
    whose headers understate the sizes is stopped too)."""
    p = Path(path)
    limit = MAX_UNZIPPED_BYTES if limit is None else limit
    try:
        with zipfile.ZipFile(p) as zf:
            info = _checked_member(p, zf, suffix, limit)
            done = 0
            with zf.open(info) as src:
                while chunk := src.read(1 << 22):
                    done += len(chunk)
                    if done > limit:
                        raise InputFormatError(
                            str(p), f"zip member unpacks to more than {limit:,} bytes"
                            " (MAX_UNZIPPED_BYTES)",
                        )  # fmt: skip
                    dst.write(chunk)
            return Path(info.filename).name
    except zipfile.BadZipFile as exc:
        raise InputFormatError(str(p), f"not a valid zip file ({exc})") from exc


def decode_text(raw: bytes, file: str, encoding: str = "utf-8") -> str:
    """Decode, naming the line of the first bad byte when the encoding is wrong."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFormatError(
            file,
            f"not valid {encoding} (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8 or pass the right encoding",
            line=line,
        ) from exc


def _sniff_delimiter_problem(header: str, expected: str) -> str | None:
    for cand, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")):
        if cand != expected and header.count(cand) >= 2 and header.count(expected) == 0:
            return name
    return None


def check_header(
    file: str,
    header: Sequence[str],
    required: Iterable[str],
    *,
    raw_header_line: str = "",
    delimiter: str = ",",
) -> None:
    """Raise a clear error if required columns are missing (naming them) or the delimiter is wrong."""
    cols = {h.strip() for h in header}
    missing = [c for c in required if c not in cols]
    if not missing:
        return
    bad = _sniff_delimiter_problem(raw_header_line or delimiter.join(header), delimiter)
    if bad:
        raise InputFormatError(
            file,
            f"wrong delimiter: expected '{delimiter}' but the header looks {bad}-separated",
            line=1,
        )
    raise InputFormatError(
        file, f"missing required column(s): {', '.join(missing)}", line=1, field=missing[0]
    )


def read_small_csv(
    path: str | Path,
    required: Sequence[str],
    *,
    source: str,
    encoding: str = "utf-8",
    delimiter: str = ",",
    skip_hxl: bool = False,
) -> tuple[pd.DataFrame, list[dict[str, Any]], int]:
    """Read a small CSV with exact line numbers (Python ``csv``), all values as strings.

    Returns ``(frame, structural_rejects, rows_read)``: ``frame`` has the header columns plus
    ``_line``; rows with the wrong number of fields are returned as quarantine records.
    Meant for the small tabular sources (< 10^6 rows); event files use the DuckDB fast path.
    """
    file = str(path)
    text = decode_text(open_bytes(path), file, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise InputFormatError(file, "file is empty (no header line)", line=1) from exc
    header = [h.strip() for h in header]
    first_line = text.split("\n", 1)[0]
    check_header(file, header, required, raw_header_line=first_line, delimiter=delimiter)
    n = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[dict[str, Any]] = []
    rows_read = 0
    start = reader.line_num + 1
    for rec in reader:
        line = start
        start = reader.line_num + 1
        if not rec or (len(rec) == 1 and rec[0] == ""):
            continue  # blank line: not a row
        if skip_hxl and rec[0].startswith("#"):
            continue  # HXL hashtag row under the header
        rows_read += 1
        if len(rec) != n:
            rejects.append(
                quarantine_record(
                    source,
                    file,
                    line,
                    None,
                    f"expected {n} fields, found {len(rec)}",
                    delimiter.join(rec),
                )
            )
            continue
        rows.append(rec)
        lines.append(line)
    frame = (
        pd.DataFrame(rows, columns=header, dtype=object)
        if rows
        else pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
    )
    frame["_line"] = np.asarray(lines, dtype=np.int64)
    return frame, rejects, rows_read


def quarantine_record(
    source: str, file: str, line: int | None, fieldname: str | None, reason: str, raw: Any
) -> dict[str, Any]:
    if not isinstance(raw, str):
        raw = json.dumps(raw, default=str, ensure_ascii=False)
    return {
        "source": source,
        "source_file": file,
        "line": None if line is None else int(line),
        "field": fieldname,
        "reason": reason,
        "raw": raw,
    }


class RowChecker:
    """Accumulates the first failing check per row of a string frame (vectorised).

    >>> chk = RowChecker(frame, source="unhcr_population", file="x.csv")
    >>> year = chk.integer("year", lo=1950, hi=2030)
    >>> chk.flag(mask, "field", "reason")
    >>> good, quarantine = chk.split()
    """

    def __init__(self, frame: pd.DataFrame, *, source: str, file: str) -> None:
        self.frame = frame
        self.source = source
        self.file = file
        self.reason = np.full(len(frame), None, dtype=object)
        self.field = np.full(len(frame), None, dtype=object)

    def flag(self, mask: Any, fieldname: str | None, reason: str) -> None:
        m = np.asarray(mask, dtype=bool) & (self.reason == None)  # noqa: E711
        self.reason[m] = reason
        self.field[m] = fieldname

    def _col(self, name: str) -> pd.Series:
        return self.frame[name].astype("string").str.strip()

    def number(
        self,
        name: str,
        *,
        lo: float | None = None,
        hi: float | None = None,
        allow_missing: bool = True,
        label: str | None = None,
    ) -> np.ndarray:
        """Parse a numeric column; flag unparseable, infinite, missing (if not allowed) and
        out-of-range values."""
        s = self._col(name)
        missing = s.isna() | s.isin(["", "NA", "NaN", "nan", "null", "NULL", "None"])
        vals = pd.to_numeric(s.where(~missing), errors="coerce").to_numpy(dtype=float)
        bad = ~missing.to_numpy() & np.isnan(vals)
        self.flag(bad, name, f"{label or name}: not a number")
        self.flag(np.isinf(vals), name, f"{label or name}: not a finite number")
        if not allow_missing:
            self.flag(missing.to_numpy(), name, f"{label or name}: missing value")
        ok = ~np.isnan(vals)
        if lo is not None:
            self.flag(ok & (vals < lo), name, f"{label or name}: below {lo}")
        if hi is not None:
            self.flag(ok & (vals > hi), name, f"{label or name}: above {hi}")
        return vals

    def integer(self, name: str, **kw: Any) -> np.ndarray:
        vals = self.number(name, **kw)
        frac = ~np.isnan(vals) & (np.floor(vals) != vals)
        self.flag(frac, name, f"{name}: not an integer")
        return vals

    def finite(self, names: Sequence[str], **kw: Any) -> np.ndarray:
        """Parse numeric columns (see :meth:`number`: infinite values are flagged) into one
        ``(rows, len(names))`` matrix."""
        vals = np.empty((len(self.frame), len(names)), dtype=float)
        for j, col in enumerate(names):
            vals[:, j] = self.number(col, **kw)
        return vals

    def date(self, name: str, *, allow_missing: bool = False, latest: Any = None) -> pd.Series:
        """Parse ISO dates (``YYYY-MM-DD``, time part ignored); flag bad and future dates."""
        s = self._col(name)
        missing = s.isna() | (s == "")
        d = pd.to_datetime(s.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        self.flag((~missing & d.isna()).to_numpy(), name, f"{name}: unparseable date")
        if not allow_missing:
            self.flag(missing.to_numpy(), name, f"{name}: missing date")
        latest = pd.Timestamp.now().normalize() if latest is None else pd.Timestamp(latest)
        self.flag((d > latest).fillna(False).to_numpy(), name, f"{name}: date in the future")
        return d

    def flag_duplicates(
        self, keys: Mapping[str, Any], fieldname: str, reason: str = "duplicate key"
    ) -> None:
        """Flag the rows (among those passing so far) whose key columns repeat an earlier
        row's; ``keys`` maps names to full-length arrays."""
        idx = np.flatnonzero(self.reason == None)  # noqa: E711
        dup = pd.DataFrame({k: np.asarray(v)[idx] for k, v in keys.items()}).duplicated()
        mask = np.zeros(len(self.frame), dtype=bool)
        mask[idx[dup.to_numpy()]] = True
        self.flag(mask, fieldname, reason)

    def split(self, columns: Sequence[str] | None = None) -> tuple[np.ndarray, pd.DataFrame]:
        """Return ``(good_mask, quarantine_frame)``."""
        bad = self.reason != None  # noqa: E711
        cols = [c for c in (columns or self.frame.columns) if c != "_line"]
        sub = self.frame.loc[bad, cols]
        raws = [json.dumps(r, ensure_ascii=False) for r in sub.to_dict(orient="records")]
        q = pd.DataFrame(
            {
                "source": self.source,
                "source_file": self.file,
                "line": self.frame.loc[bad, "_line"].to_numpy(dtype=np.int64)
                if "_line" in self.frame
                else None,
                "field": self.field[bad],
                "reason": self.reason[bad],
                "raw": raws,
            },
            columns=QUARANTINE_COLUMNS,
        )
        return ~bad, q

    def finish(
        self, rejects: list[dict[str, Any]], columns: Sequence[str] | None = None
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """``(good_mask, quarantine)``: :meth:`split`, merged with the structural rejects of
        :func:`read_small_csv` (wrong field count) by line."""
        good, checked = self.split(columns)
        return good, merge_quarantine(rejects, checked)


def merge_quarantine(rejects: list[dict[str, Any]], checked: pd.DataFrame) -> pd.DataFrame:
    """Structural rejects (wrong field count) and failed checks in one frame, by line."""
    parts = [pd.DataFrame(rejects, columns=QUARANTINE_COLUMNS)] if rejects else []
    if len(checked):
        parts.append(checked)
    if not parts:
        return pd.DataFrame(rejects, columns=QUARANTINE_COLUMNS)
    q = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return q.sort_values("line", kind="stable").reset_index(drop=True)


def filtered_result(
    source: str,
    table: str,
    path: str | Path,
    data: pd.DataFrame,
    quarantine: pd.DataFrame,
    *,
    n_rows: int,
    n_filtered: int,
    what_filtered: str,
    rows_accepted: int | None = None,
    accepted_detail: str = "",
    counts: dict[str, Any] | None = None,
    **meta: Any,
) -> ReadResult:
    """The result of a reader that filters rows outside the study region: ``rows_read``
    counts the rows kept for checking, ``rows_in_file`` every row of the file.

    ``rows_accepted`` defaults to ``len(data)`` (give it when ``data`` is a long layout with
    several rows per accepted file row); ``counts`` go after the row counts in the metadata and
    ``accepted_detail`` after the accepted count in the log line."""
    file = str(path)
    rows_read = n_rows - n_filtered
    accepted = len(data) if rows_accepted is None else rows_accepted
    full = {
        "source": source,
        "file": file,
        "sha256": sha256_file(path),
        **meta,
        "rows_read": rows_read,
        "rows_accepted": accepted,
        "rows_quarantined": len(quarantine),
        "rows_filtered": n_filtered,
        "rows_in_file": n_rows,
        **(counts or {}),
    }
    log.info(
        "%s: read %d, accepted %d%s, quarantined %d, filtered %d (%s)",
        file, rows_read, accepted, accepted_detail, len(quarantine), n_filtered, what_filtered,
    )  # fmt: skip
    return ReadResult(source, table, data, quarantine, full)


def quarantine_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=QUARANTINE_COLUMNS)
