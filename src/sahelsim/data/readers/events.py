"""Event readers on the DuckDB fast path: UCDP GED (CSV/zip, API JSON pages, Candidate) and
ACLED exports.

Files are parsed by DuckDB's CSV/JSON readers with every column as text; one SQL pass maps the
source's columns to the canonical event schema (:data:`sahelsim.schema.EVENTS`), checks each
row and records the first failing check as its ``reason``. Accepted rows go to ``events``,
failing rows to ``quarantine`` (with the raw row as JSON), rows of countries outside the study
region are counted as filtered. ``rows_read == accepted + quarantined + filtered`` always.

Line numbers are physical lines when no quoted field spans lines (true of UCDP and ACLED
exports); for JSON pages ``line`` is the 1-based record index in the page's ``Result``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sahelsim.core.canon import BBOX_MARGIN_DEG, COUNTRIES, COUNTRY_BBOX, ISONUM_TO_ISO3
from sahelsim.core.errors import InputFormatError
from sahelsim.core.schema import EVENTS
from sahelsim.data.readers.base import check_header, sha256_file

if TYPE_CHECKING:
    from sahelsim.data.store.store import IngestReport, Store

log = logging.getLogger(__name__)

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

FORMATS = {"ged_csv", "ged_json", "acled_csv", "acled_json"}
JSON_LIST_KEY = {"ged_json": "Result", "acled_json": "data"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _txt(c: str) -> str:
    """SQL: trimmed text of column ``c`` with '' as NULL."""
    return f"NULLIF(trim({_q(c)}), '')"


def _num(c: str) -> str:
    return f"TRY_CAST({_txt(c)} AS DOUBLE)"


def _notnum(c: str) -> str:
    return f"({_txt(c)} IS NOT NULL AND {_num(c)} IS NULL)"


def _case_map(expr: str, mapping: dict[Any, Any], quote_keys: bool) -> str:
    """SQL CASE lookup (keeps the scan a pure projection, so row order is the file's)."""

    def lit(v: Any) -> str:
        return _sql_str(v) if isinstance(v, str) else str(v)

    whens = " ".join(
        f"WHEN {_sql_str(str(k)) if quote_keys else k} THEN {lit(v)}" for k, v in mapping.items()
    )
    return f"(CASE {expr} {whens} END)"


def _in_bbox(iso3_expr: str, lat: str, lon: str) -> str:
    m = BBOX_MARGIN_DEG
    parts = " ".join(
        f"WHEN {_sql_str(k)} THEN ({lon} BETWEEN {b[0] - m} AND {b[2] + m}"
        f" AND {lat} BETWEEN {b[1] - m} AND {b[3] + m})"
        for k, b in COUNTRY_BBOX.items()
    )
    return f"(CASE {iso3_expr} {parts} ELSE TRUE END)"


def _ged_select(cols: set[str], source: str, version: str) -> str:
    def opt(c: str, expr: str | None = None) -> str:
        return (expr or _txt(c)) if c in cols else "NULL"

    ds = "TRY_CAST(left(trim(date_start), 10) AS DATE)"
    de = "TRY_CAST(left(trim(date_end), 10) AS DATE)"
    lat, lon = _num("latitude"), _num("longitude")
    gid_given = f"TRY_CAST({_txt('priogrid_gid')} AS INTEGER)" if "priogrid_gid" in cols else "NULL"
    gid_calc = f"CAST(floor(({lat} + 90) / 0.5) * 720 + floor(({lon} + 180) / 0.5) + 1 AS INTEGER)"
    gw = f"TRY_CAST({_txt('country_id')} AS INTEGER)"
    iso3 = _case_map(gw, {c.gwno: c.iso3 for c in COUNTRIES}, quote_keys=False)
    return f"""
    SELECT
      '{source}' AS source, {_txt("id")} AS source_event_id,
      {ds} AS date_start, {de} AS date_end,
      CAST(year({ds}) AS INTEGER) AS year,
      CAST((year({ds}) - 1980) * 12 + month({ds}) AS INTEGER) AS month_id,
      {iso3} AS iso3, TRY_CAST({_txt("country_id")} AS INTEGER) AS gwno,
      {lat} AS latitude, {lon} AS longitude,
      coalesce({gid_given}, {gid_calc}) AS priogrid_gid,
      TRY_CAST({_txt("where_prec")} AS INTEGER) AS where_prec,
      {opt("adm_1")} AS admin1, {opt("adm_2")} AS admin2, {opt("where_coordinates")} AS location,
      TRY_CAST({_txt("type_of_violence")} AS INTEGER) AS type_of_violence,
      NULL AS event_type, NULL AS sub_event_type,
      {_txt("side_a")} AS side_a, {_txt("side_b")} AS side_b, NULL AS assoc_a, NULL AS assoc_b,
      {opt("dyad_name")} AS dyad_name,
      {opt("dyad_new_id", f"TRY_CAST({_txt('dyad_new_id')} AS INTEGER)")} AS dyad_new_id,
      (TRY_CAST({_txt("type_of_violence")} AS INTEGER) = 3) AS civilian_targeting,
      {_num("best")} AS best, {_num("low")} AS low, {_num("high")} AS high,
      {_num("deaths_a")} AS deaths_a, {_num("deaths_b")} AS deaths_b,
      {_num("deaths_civilians")} AS deaths_civilians, {_num("deaths_unknown")} AS deaths_unknown,
      TRUE AS fatalities_reliable, '{version}' AS version,
      -- checks ----------------------------------------------------------------------
      ({gw} IS NOT NULL AND {iso3} IS NULL) AS _filtered,
      CASE
        WHEN {_txt("id")} IS NULL THEN 'id|missing event id'
        WHEN {_txt("country_id")} IS NULL THEN 'country_id|missing country'
        WHEN TRY_CAST({_txt("country_id")} AS INTEGER) IS NULL THEN 'country_id|not an integer'
        WHEN {_txt("date_start")} IS NULL THEN 'date_start|missing date'
        WHEN {ds} IS NULL THEN 'date_start|unparseable date'
        WHEN {de} IS NULL THEN 'date_end|unparseable date'
        WHEN {ds} > current_date THEN 'date_start|date in the future'
        WHEN {de} < {ds} THEN 'date_end|date_end before date_start'
        WHEN TRY_CAST({_txt("type_of_violence")} AS INTEGER) IS NULL
          OR TRY_CAST({_txt("type_of_violence")} AS INTEGER) NOT IN (1, 2, 3)
          THEN 'type_of_violence|not 1, 2 or 3'
        WHEN {lat} IS NULL THEN 'latitude|not a number'
        WHEN {lon} IS NULL THEN 'longitude|not a number'
        WHEN abs({lat}) > 90 OR abs({lon}) > 180 THEN 'latitude|coordinates outside the world'
        WHEN NOT {_in_bbox(iso3, lat, lon)}
          THEN 'latitude|coordinates far outside ' || {iso3}
        WHEN {_notnum("best")} OR {_num("best")} IS NULL THEN 'best|not a number'
        WHEN {_notnum("low")} THEN 'low|not a number'
        WHEN {_notnum("high")} THEN 'high|not a number'
        WHEN {_num("best")} < 0 THEN 'best|negative fatalities'
        WHEN {_num("low")} < 0 THEN 'low|negative fatalities'
        WHEN {_num("high")} < 0 THEN 'high|negative fatalities'
        WHEN {_num("low")} > {_num("best")} THEN 'low|low > best'
        WHEN {_num("best")} > {_num("high")} THEN 'high|best > high'
        WHEN {_notnum("deaths_a")} OR {_num("deaths_a")} < 0
          THEN 'deaths_a|negative or not a number'
        WHEN {_notnum("deaths_b")} OR {_num("deaths_b")} < 0
          THEN 'deaths_b|negative or not a number'
        WHEN {_notnum("deaths_civilians")} OR {_num("deaths_civilians")} < 0
          THEN 'deaths_civilians|negative or not a number'
        WHEN {_notnum("deaths_unknown")} OR {_num("deaths_unknown")} < 0
          THEN 'deaths_unknown|negative or not a number'
        WHEN {_notnum("where_prec")} THEN 'where_prec|not an integer'
      END AS _why
    """


def _acled_select(cols: set[str], source: str, version: str) -> str:
    def opt(c: str) -> str:
        return _txt(c) if c in cols else "NULL"

    d_txt = _txt("event_date")
    ds = (
        f"CAST(coalesce(TRY_STRPTIME({d_txt}, '%Y-%m-%d'), TRY_STRPTIME({d_txt}, '%d %B %Y'),"
        f" TRY_STRPTIME(left({d_txt}, 10), '%Y-%m-%d')) AS DATE)"
    )
    lat, lon = _num("latitude"), _num("longitude")
    i1, i2 = opt("inter1"), opt("inter2")
    state = "('1', 'State forces', '8', 'External/Other forces')"
    civ = "('7', 'Civilians')"
    et = _txt("event_type")
    violent = f"{et} IN ('Battles', 'Explosions/Remote violence')"
    tov = f"""CASE
        WHEN {et} = 'Violence against civilians' THEN 3
        WHEN {violent} AND coalesce({i2}, '') IN {civ} THEN 3
        WHEN {violent} AND (coalesce({i1}, '') IN {state} OR coalesce({i2}, '') IN {state}) THEN 1
        WHEN {violent} THEN 2 END"""
    civ_target = (
        f"(coalesce({opt('civilian_targeting')}, '') ILIKE 'civilian%'"
        f" OR {et} = 'Violence against civilians')"
    )
    iso3 = _acled_iso3_expr(cols)
    gw = _case_map(iso3, {c.iso3: c.gwno for c in COUNTRIES}, quote_keys=True)
    fat = _num("fatalities")
    return f"""
    SELECT
      '{source}' AS source, {_txt("event_id_cnty")} AS source_event_id,
      {ds} AS date_start, {ds} AS date_end,
      CAST(year({ds}) AS INTEGER) AS year,
      CAST((year({ds}) - 1980) * 12 + month({ds}) AS INTEGER) AS month_id,
      {iso3} AS iso3, {gw} AS gwno,
      {lat} AS latitude, {lon} AS longitude,
      CAST(floor(({lat} + 90) / 0.5) * 720 + floor(({lon} + 180) / 0.5) + 1 AS INTEGER)
        AS priogrid_gid,
      TRY_CAST({opt("geo_precision")} AS INTEGER) AS where_prec,
      {opt("admin1")} AS admin1, {opt("admin2")} AS admin2, {opt("location")} AS location,
      {tov} AS type_of_violence,
      {et} AS event_type, {opt("sub_event_type")} AS sub_event_type,
      {_txt("actor1")} AS side_a, {_txt("actor2")} AS side_b,
      {opt("assoc_actor_1")} AS assoc_a, {opt("assoc_actor_2")} AS assoc_b,
      NULL AS dyad_name, NULL AS dyad_new_id,
      {civ_target} AS civilian_targeting,
      {fat} AS best, NULL AS low, NULL AS high, NULL AS deaths_a, NULL AS deaths_b,
      CASE WHEN {civ_target} THEN {fat} ELSE 0 END AS deaths_civilians,
      CASE WHEN {civ_target} THEN 0 ELSE {fat} END AS deaths_unknown,
      FALSE AS fatalities_reliable, '{version}' AS version,
      ({_iso_raw_present(cols)} AND {iso3} IS NULL) AS _filtered,
      CASE
        WHEN {_txt("event_id_cnty")} IS NULL THEN 'event_id_cnty|missing event id'
        WHEN NOT {_iso_raw_present(cols)} THEN 'country|missing country'
        WHEN {d_txt} IS NULL THEN 'event_date|missing date'
        WHEN {ds} IS NULL THEN 'event_date|unparseable date'
        WHEN {ds} > current_date THEN 'event_date|date in the future'
        WHEN {et} IS NULL THEN 'event_type|missing'
        WHEN {lat} IS NULL THEN 'latitude|not a number'
        WHEN {lon} IS NULL THEN 'longitude|not a number'
        WHEN abs({lat}) > 90 OR abs({lon}) > 180 THEN 'latitude|coordinates outside the world'
        WHEN NOT {_in_bbox(iso3, lat, lon)}
          THEN 'latitude|coordinates far outside ' || {iso3}
        WHEN {_notnum("fatalities")} THEN 'fatalities|not a number'
        WHEN {fat} IS NULL THEN 'fatalities|missing'
        WHEN {fat} < 0 THEN 'fatalities|negative fatalities'
        WHEN {fat} != floor({fat}) THEN 'fatalities|not an integer'
      END AS _why
    """


def _iso_raw_present(cols: set[str]) -> str:
    parts = [_txt(c) + " IS NOT NULL" for c in ("iso", "iso3", "country") if c in cols]
    return "(" + (" OR ".join(parts) if parts else "FALSE") + ")"


# -- file preparation ------------------------------------------------------------------------
def _first_line(path: Path, encoding: str) -> tuple[list[str], str]:
    opener: Any
    if path.suffix == ".gz":
        opener = gzip.open(path, "rb")
    else:
        opener = open(path, "rb")
    with opener as fh:
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
    """Extract a zip member to ``tmp``; plain and gz files are read in place."""
    if path.suffix.lower() != ".zip":
        return path
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise InputFormatError(str(path), "zip archive has no '*.csv' member")
            out = tmp / Path(names[0]).name
            with zf.open(names[0]) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            return out
    except zipfile.BadZipFile as exc:
        raise InputFormatError(str(path), f"not a valid zip file ({exc})") from exc


def _sql_str(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _csv_relation(con: Any, file: Path, encoding: str, label: str) -> str:
    enc = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1"}.get(
        encoding.lower(), encoding
    )
    return (
        f"read_csv({_sql_str(str(file))}, all_varchar = true, header = true, delim = ',',"
        f" quote = '\"', escape = '\"', strict_mode = true, store_rejects = true,"
        f" rejects_table = 'rej_{label}', rejects_scan = 'rejscan_{label}',"
        f" encoding = {_sql_str(enc)}, null_padding = false, max_line_size = 10000000)"
    )


def _json_relation(con: Any, files: list[Path], table: str, key: str = "Result") -> list[str]:
    """Parse API pages (UCDP ``Result`` / ACLED ``data`` lists) once into temp table ``table``
    (filename, Result); return the union of record keys. A file that is not a page raises."""
    flist = "[" + ", ".join(_sql_str(str(f)) for f in files) + "]"
    for f in files:  # cheap structural check of every page, naming the bad one
        with open(f, "rb") as fh:
            head = fh.read(4096).lstrip()
        if not head.startswith(b"{"):
            raise InputFormatError(str(f), "not an API page: expected a JSON object")
    try:
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT filename, {key} AS Result FROM read_json({flist},"
            " filename = true, maximum_object_size = 1073741824)"
        )
        pages = con.execute(
            f"SELECT filename, Result IS NULL, coalesce(len(Result), 0) FROM {table}"
        ).fetchall()
    except Exception as exc:  # duckdb parse/binder errors
        msg = str(exc).splitlines()[0]
        bad = next((str(f) for f in files if str(f) in str(exc)), str(files[0].parent))
        if key in msg:
            raise InputFormatError(bad, f"not an API page: no '{key}' list", field=key) from exc
        raise InputFormatError(bad, f"not a valid API JSON page ({msg})") from exc
    missing = [p[0] for p in pages if p[1]]
    if missing:
        raise InputFormatError(missing[0], f"not an API page: no '{key}' list", field=key)
    if sum(int(p[2]) for p in pages) == 0:
        return []
    return list(
        con.execute(f"SELECT r.* FROM (SELECT unnest(Result) AS r FROM {table}) LIMIT 0")
        .df()
        .columns
    )


def _file_hash(paths: list[Path]) -> str:
    if len(paths) == 1:
        return sha256_file(paths[0])
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(sha256_file(p).encode())
    return h.hexdigest()


# -- main entry --------------------------------------------------------------------------------
def ingest(
    store: Store,
    path: str | Path | list[Path],
    *,
    fmt: str,
    source: str | None = None,
    version: str = "",
    license: str = "",
    citation: str = "",
    encoding: str = "utf-8",
    on_staged: Callable[[], None] | None = None,
) -> IngestReport:

    if fmt not in FORMATS:
        raise ValueError(f"unknown event format {fmt!r}; use one of {sorted(FORMATS)}")
    t0 = time.perf_counter()
    source = (
        source
        or {
            "ged_csv": "ucdp_ged",
            "ged_json": "ucdp_ged",
            "acled_csv": "acled",
            "acled_json": "acled",
        }[fmt]
    )
    is_json = fmt in JSON_LIST_KEY
    if is_json:
        p = Path(path) if not isinstance(path, list) else None
        files = (
            sorted(p.glob("*.json"))
            if p is not None and p.is_dir()
            else ([Path(x) for x in path] if isinstance(path, list) else [Path(path)])
        )
        if not files:
            raise InputFormatError(str(path), "no JSON pages found")
        label_file = str(p if p is not None else files[0].parent)
    else:
        files = [Path(path)]  # type: ignore[arg-type]
        label_file = str(files[0])
        if not files[0].exists():
            raise InputFormatError(label_file, "file does not exist")
    sha = _file_hash(files)
    if store.find_file(sha, source) is not None:
        log.info("%s: already ingested, skipping", label_file)
        return store.skipped_report(source, label_file, sha)

    con = store.con
    tmpdir = Path(tempfile.mkdtemp(prefix="sahelsim-ingest-"))
    label = f"s{abs(hash((label_file, time.time_ns()))) % 10**9}"
    stage = f"_stage_{label}"
    try:
        if fmt in ("ged_csv", "acled_csv"):
            csv_path = _prepare_csv(files[0], tmpdir)
            header, raw_header = _first_line(csv_path, encoding)
            required = GED_REQUIRED if fmt == "ged_csv" else ACLED_REQUIRED
            check_header(label_file, header, required, raw_header_line=raw_header)
            if fmt == "acled_csv" and not ({"iso", "iso3", "country"} & set(header)):
                raise InputFormatError(
                    label_file, "missing required column(s): iso or country", line=1, field="iso"
                )
            cols = set(header)
            rel = _csv_relation(con, csv_path, encoding, label)
            raw_cols = header
            from_clause = f"{rel} AS src"
        else:
            keys = _json_relation(con, files, f"_jraw_{label}", JSON_LIST_KEY[fmt])
            if keys:
                check_header(
                    label_file, keys, GED_REQUIRED if fmt == "ged_json" else ACLED_REQUIRED
                )
            cols = set(keys)
            raw_cols = keys
            inner = (
                ", ".join(f"CAST(r.{_q(k)} AS VARCHAR) AS {_q(k)}" for k in keys) or "NULL AS id"
            )
            from_clause = (
                f"(SELECT filename AS _page, _idx, {inner} FROM (SELECT filename,"
                f" unnest(Result) AS r, unnest(range(1, len(Result) + 1)) AS _idx"
                f" FROM _jraw_{label})) AS src"
            )
            if not keys:
                from_clause = "(SELECT NULL AS _page, NULL AS _idx, NULL AS id WHERE FALSE) AS src"
        select = (
            _ged_select(cols, source, version)
            if not fmt.startswith("acled")
            else _acled_select(cols, source, version)
        )
        raw_json = (
            "to_json(struct_pack("
            + ", ".join(f"{_q(c)} := {_q('__r_' + c)}" for c in raw_cols)
            + "))"
        )
        raw_pass = ", ".join(f"src.{_q(c)} AS {_q('__r_' + c)}" for c in raw_cols)
        extra = ", src._page AS _page, src._idx AS _idx" if is_json else ""
        joins = ""
        canon_cols = ", ".join(_q(c) for c in EVENTS)
        keep = ", _page, _idx" if is_json else ""
        # The lazy CASE builds the raw-row JSON only for the rows that need it.
        sql = f"""
        CREATE TEMP TABLE {stage} AS
        SELECT {canon_cols}, _filtered, _why{keep},
          CASE WHEN _why IS NOT NULL AND NOT _filtered THEN {raw_json} END AS raw
        FROM (
          {select.rstrip()}, {raw_pass} {extra}
          FROM {from_clause} {joins}
        )
        """
        # Staging is a temp table outside the transaction (it vanishes with the process);
        # everything that touches the store happens inside one transaction below.
        try:
            con.execute(sql)
        except Exception as exc:  # duckdb raises its own error classes
            raise _explain_duckdb_error(exc, label_file, encoding) from exc
        structural = _structural_rejects(con, label, label_file, fmt, encoding)
        with store.transaction():
            rep = _finish(store, stage, label_file, source, sha, fmt, structural, version,
                          license, citation, t0)  # fmt: skip
            if on_staged is not None:
                on_staged()
        return rep
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        for t in (stage, f"rej_{label}", f"rejscan_{label}", f"_jraw_{label}"):
            try:
                con.execute(f"DROP TABLE IF EXISTS {t}")
            except Exception:  # best-effort cleanup of temp tables
                pass


def _acled_iso3_expr(cols: set[str]) -> str:
    """ISO3 of an ACLED row from ``iso`` (numeric), ``iso3`` or ``country``; NULL outside the
    region."""
    region = {c.iso3: c.iso3 for c in COUNTRIES}
    parts = []
    if "iso" in cols:
        parts.append(_case_map(_txt("iso"), {str(k): v for k, v in ISONUM_TO_ISO3.items()}, True))
    if "iso3" in cols:
        parts.append(_case_map(f"upper({_txt('iso3')})", region, True))
    if "country" in cols:
        names = {c.name.lower(): c.iso3 for c in COUNTRIES} | {"ivory coast": "CIV"}
        parts.append(_case_map(f"lower({_txt('country')})", names, True))
    return "coalesce(" + ", ".join(parts) + ")" if len(parts) > 1 else parts[0]


def _explain_duckdb_error(exc: Exception, file: str, encoding: str) -> InputFormatError:
    msg = str(exc)
    if "unicode" in msg.lower() or "utf" in msg.lower():
        return InputFormatError(file, f"not valid {encoding}: {msg.splitlines()[0]}")
    return InputFormatError(file, f"cannot be parsed as CSV/JSON: {msg.splitlines()[0]}")


def _structural_rejects(
    con: Any, label: str, file: str, fmt: str, encoding: str
) -> list[tuple[int, str, str, str]]:
    """Rows DuckDB could not split into the header's fields: (line, column, reason, raw)."""
    if fmt in JSON_LIST_KEY:
        return []
    rows = con.execute(
        f"SELECT line, column_name, error_type, csv_line, error_message FROM rej_{label}"
        " ORDER BY line"
    ).fetchall()
    out = []
    seen: set[int] = set()
    for line, column, etype, raw, emsg in rows:
        if int(line) in seen:  # DuckDB reports one error per missing column; keep the first
            continue
        seen.add(int(line))
        etype = str(etype)
        if "UNICODE" in etype.upper() or "ENCODING" in etype.upper():
            raise InputFormatError(
                file,
                f"not valid {encoding} (invalid byte sequence); re-save as UTF-8 or pass"
                " --encoding latin-1",
                line=int(line),
            )
        reason = {
            "MISSING COLUMNS": "too few fields",
            "TOO MANY COLUMNS": "too many fields",
            "UNQUOTED VALUE": "unquoted value / stray quote",
        }.get(etype, etype.lower())
        out.append((int(line), column, f"{reason} ({emsg})", raw))
    return out


def _finish(
    store: Store,
    stage: str,
    file: str,
    source: str,
    sha: str,
    fmt: str,
    structural: list[tuple[int, str, str, str]],
    version: str,
    license: str,
    citation: str,
    t0: float,
) -> IngestReport:
    from sahelsim.data.store.store import IngestReport

    con = store.con
    n_stage, n_filtered, n_bad = con.execute(
        f"SELECT count(*), count(*) FILTER (_filtered),"
        f" count(*) FILTER (_why IS NOT NULL AND NOT _filtered) FROM {stage}"
    ).fetchone()
    file_id = store._next_file_id()
    cols = list(EVENTS)
    collist = ", ".join(_q(c) for c in cols)
    # quarantine: rows failing checks
    if n_bad:
        if fmt in JSON_LIST_KEY:
            line_expr = "_idx"
            file_expr = "_page"
            order = "rowid"
            con.execute(
                f"INSERT INTO quarantine SELECT ?, ?, {file_expr}, {line_expr},"
                f" split_part(_why, '|', 1), split_part(_why, '|', 2), raw FROM {stage}"
                f" WHERE _why IS NOT NULL AND NOT _filtered ORDER BY {order}",
                [file_id, source],
            )
        else:
            bad = con.execute(
                f"SELECT rowid, split_part(_why, '|', 1), split_part(_why, '|', 2), raw"
                f" FROM {stage} WHERE _why IS NOT NULL AND NOT _filtered ORDER BY rowid"
            ).fetchall()
            rec = np.array([int(b[0]) for b in bad], dtype=np.int64)
            lines = _record_to_line(rec, [s[0] for s in structural])
            con.executemany(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    [file_id, source, file, int(ln), b[1], b[2], b[3]]
                    for ln, b in zip(lines, bad, strict=True)
                ],
            )
    if structural:
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[file_id, source, file, ln, col, reason, raw] for ln, col, reason, raw in structural],
        )
    # accepted rows: collapse duplicates by source id (the last occurrence wins), replace older
    good_filter = "_why IS NULL AND NOT _filtered"
    n_good = n_stage - n_filtered - n_bad
    (n_distinct,) = con.execute(
        f"SELECT count(DISTINCT source_event_id) FROM {stage} WHERE {good_filter}"
    ).fetchone()
    dedup = f"SELECT * FROM {stage} WHERE {good_filter}"
    if n_distinct != n_good:
        dedup += " QUALIFY row_number() OVER (PARTITION BY source_event_id ORDER BY rowid DESC) = 1"
    (n_replaced,) = con.execute(
        f"SELECT count(*) FROM events e WHERE e.source = ? AND e.source_event_id IN"
        f" (SELECT source_event_id FROM {stage} WHERE {good_filter})",
        [source],
    ).fetchone()
    if n_replaced:
        con.execute(
            f"DELETE FROM events WHERE source = ? AND source_event_id IN"
            f" (SELECT source_event_id FROM {stage} WHERE {good_filter})",
            [source],
        )
    con.execute(
        f"INSERT INTO events (file_id, {collist}) SELECT ?, {collist} FROM ({dedup})", [file_id]
    )
    rep = IngestReport(
        source=source,
        file=file,
        sha256=sha,
        rows_read=int(n_stage) + len(structural),
        rows_accepted=int(n_good),
        rows_quarantined=int(n_bad) + len(structural),
        rows_filtered=int(n_filtered),
        rows_merged=int(n_good - n_distinct) + int(n_replaced),
        rows_stored=int(n_distinct),
        seconds=time.perf_counter() - t0,
    )
    store._ledger(file_id, {"version": version, "license": license, "citation": citation}, rep)
    log.info(
        "%s: read %d, accepted %d, quarantined %d, filtered %d, merged %d",
        file, rep.rows_read, rep.rows_accepted, rep.rows_quarantined, rep.rows_filtered,
        rep.rows_merged,
    )  # fmt: skip
    return rep


def _record_to_line(rec: np.ndarray, reject_lines: list[int]) -> np.ndarray:
    """Physical line of the staged records (0-based rowid), skipping rejected lines."""
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
